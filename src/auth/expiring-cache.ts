/**
 * @module A small map whose entries expire and whose size is bounded (oldest out first), for
 * verified credentials and identity-service answers.
 */

/** A bounded map with expiring entries; see the module comment. */
export class ExpiringCache<V> {
  readonly #entries = new Map<string, { value: V; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The value of `key`, or undefined when absent or expired. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= this.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Remembers `value` for the cache's TTL, or for `ttlMs` when given. */
  set(key: string, value: V, ttlMs = this.ttlMs): void {
    if (ttlMs <= 0) return;
    this.#entries.delete(key);
    if (this.#entries.size >= this.max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { value, until: this.now() + ttlMs });
  }

  /** Entries held now (for tests of the bound). */
  get size(): number {
    return this.#entries.size;
  }
}
