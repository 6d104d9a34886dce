/**
 * A tiny seeded PRNG (mulberry32) with the helpers the fuzzers need, so that a run is replayed
 * exactly from its seed.
 */

/** The seed of a run: `OCNI_FUZZ_SEED` (decimal or 0x-hex) when set, else `fallback`. */
export function seedFromEnv(fallback: number): number {
  const raw = process.env.OCNI_FUZZ_SEED?.trim();
  if (!raw) return fallback >>> 0;
  const value = raw.startsWith('0x') ? Number.parseInt(raw.slice(2), 16) : Number(raw);
  if (!Number.isFinite(value)) throw new Error(`OCNI_FUZZ_SEED must be a number, got "${raw}"`);
  return value >>> 0;
}

/** A seeded random source. */
export class Rng {
  #state: number;

  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1) (mulberry32). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Picks by weight: `[[weight, value], ...]`. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((sum, [w]) => sum + w, 0);
    let at = this.next() * total;
    for (const [w, value] of choices) {
      at -= w;
      if (at < 0) return value;
    }
    return choices[choices.length - 1]![1];
  }

  /** A string of `length` characters drawn from `alphabet`. */
  string(length: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'): string {
    let out = '';
    for (let i = 0; i < length; i += 1) out += alphabet[Math.floor(this.next() * alphabet.length)];
    return out;
  }

  /** A derived, independent generator (for sub-sequences that must not shift the main one). */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 4294967296));
  }
}
