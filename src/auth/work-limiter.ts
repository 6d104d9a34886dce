/**
 * @module A bound on concurrent expensive work (password hashing): at most `concurrency` jobs run
 * at once and at most `maxWaiting` wait; beyond that the caller is told to come back later (429).
 * Hashing runs on libuv's thread pool (4 threads by default), which DNS lookups and file access
 * share: without this bound, a flood of logins would starve them.
 */
import { TooManyRequestsError } from '../errors.ts';

/** Runs jobs with bounded concurrency and a bounded queue. */
export class WorkLimiter {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly maxWaiting: number,
    private readonly retryAfterSeconds = 1,
  ) {}

  /**
   * Runs `job` when a slot is free.
   *
   * @throws TooManyRequestsError when `maxWaiting` jobs already wait
   */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrency) {
      if (this.#waiting.length >= this.maxWaiting) throw new TooManyRequestsError('too many logins are being checked at once; retry shortly', this.retryAfterSeconds);
      await new Promise<void>((go) => this.#waiting.push(go));
    } else this.#running += 1;
    try {
      return await job();
    } finally {
      // The slot passes to the next waiting job, or frees.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running -= 1;
    }
  }
}
