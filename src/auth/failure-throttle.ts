/**
 * @module Throttling of failed logins: failures are counted per key (a user name, a client
 * address) in a fixed window; a key that reached its limit is refused until the window ends. The
 * table is bounded: past `maxTracked` keys the least recently failing one is forgotten, so a flood
 * of distinct names or addresses costs bounded memory.
 */

/** Settings of one throttle. */
export interface ThrottleSettings {
  /** Failures a key may have in one window before it is refused. */
  limit: number;
  windowMs: number;
  /** Most keys remembered at once. */
  maxTracked: number;
}

interface Window {
  failures: number;
  ends: number;
}

/** Failure counts per key; see the module comment. */
export class FailureThrottle {
  readonly #windows = new Map<string, Window>();

  constructor(
    private readonly settings: ThrottleSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whole seconds until `key` may try again; 0 when it may now. */
  retryAfter(key: string): number {
    const window = this.#windows.get(key);
    if (!window) return 0;
    const left = window.ends - this.now();
    if (left <= 0) {
      this.#windows.delete(key);
      return 0;
    }
    return window.failures >= this.settings.limit ? Math.ceil(left / 1000) : 0;
  }

  /** Counts one failure of `key`. */
  fail(key: string): void {
    const now = this.now();
    const current = this.#windows.get(key);
    const window = current && current.ends > now ? current : { failures: 0, ends: now + this.settings.windowMs };
    window.failures += 1;
    // Re-inserted, so that the Map's order is by last failure and the oldest goes first.
    this.#windows.delete(key);
    this.#windows.set(key, window);
    while (this.#windows.size > this.settings.maxTracked) this.#windows.delete(this.#windows.keys().next().value!);
  }

  /** Forgets `key`'s failures (after a successful login). */
  clear(key: string): void {
    this.#windows.delete(key);
  }

  /** Keys remembered now (for tests of the bound). */
  get size(): number {
    return this.#windows.size;
  }
}
