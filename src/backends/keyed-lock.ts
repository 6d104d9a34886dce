/**
 * @module One writer at a time per key (an entity's location) inside this process, first come
 * first served. Writers of one entity in one process then never race each other through the
 * store's revision check (each would cost a 409 and a retry); writers in other processes still do,
 * and the store's conflict detection with a retry covers them. Keys with no waiter take no memory.
 *
 * Hand-written (a promise chain per key): `async-mutex` and its peers lock one resource, not a key
 * space that grows and shrinks with requests.
 */

/** A lock per key. */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `task` once every earlier task of `key` has finished (whether it succeeded or not). */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => done);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await task();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** How many keys have a holder or waiters (for tests: none once everything finished). */
  get size(): number {
    return this.#tails.size;
  }
}
