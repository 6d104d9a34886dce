/**
 * @module A small cache of asynchronous lookups with a time to live and a bound on entries, for
 * what Cyclades says per token (the user's projects, the template catalog). Concurrent lookups of
 * one key share one request; a failed lookup is not remembered.
 */
import { createHash } from 'node:crypto';

/** A clock in milliseconds (injectable for tests). */
export type Clock = () => number;

interface Entry<V> {
  value: Promise<V>;
  expires: number;
}

/**
 * The cache key of a token: its SHA-256, so the raw token is not kept as a key. Different tokens
 * always give different keys, so two users never share an entry.
 */
export function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A TTL cache; see the module comment. */
export class TtlCache<V> {
  readonly #entries = new Map<string, Entry<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: Clock,
    /** How long a failed lookup is remembered (its error answered again); 0 = not at all. */
    private readonly failureTtlMs = 0,
  ) {}

  /** The cached value of `key`, or the result of `load` (cached for the TTL when it succeeds). */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = this.now();
    const hit = this.#entries.get(key);
    if (hit !== undefined && hit.expires > now) return hit.value;
    if (hit !== undefined) this.#entries.delete(key);
    const value = load();
    const entry: Entry<V> = { value, expires: now + this.ttlMs };
    this.#entries.set(key, entry);
    // Failures are kept for `failureTtlMs` only (a refused token is not asked about on every
    // request, an outage is retried soon).
    value.catch(() => {
      if (this.#entries.get(key) !== entry) return;
      if (this.failureTtlMs <= 0) this.#entries.delete(key);
      else entry.expires = Math.min(entry.expires, this.now() + this.failureTtlMs);
    });
    this.#evict(now);
    return value;
  }

  /** Forgets one key (e.g. when Cyclades says a cached template no longer exists). */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** How many entries are held (expired ones included until touched). */
  get size(): number {
    return this.#entries.size;
  }

  #evict(now: number): void {
    if (this.#entries.size <= this.maxEntries) return;
    for (const [key, entry] of this.#entries) if (entry.expires <= now) this.#entries.delete(key);
    // Maps iterate in insertion order, so the first keys are the oldest.
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.maxEntries) break;
      this.#entries.delete(key);
    }
  }
}
