/**
 * @module How current a changes-feed follower is: readiness asks whether it follows, and
 * `ocni_changes_feed_lag_seconds` reports how far behind it is.
 */
import type { FeedLagSource } from '../metrics.ts';

/**
 * The state of one changes-feed follower. While a long-poll is open the follower is current: the
 * database answers it as soon as anything changes. When the feed fails, the follower is behind by
 * the time since the database last answered it.
 */
export class FeedState implements FeedLagSource {
  #lastAnsweredAt = Date.now();
  #failing = false;

  constructor(readonly feed: string) {}

  /** The database answered the feed; what it sent has been handled. */
  answered(): void {
    this.#lastAnsweredAt = Date.now();
    this.#failing = false;
  }

  /** The feed failed (store unreachable, timed out, refused); the follower retries. */
  failed(): void {
    this.#failing = true;
  }

  /** Seconds behind the database: 0 while following, the time since the last answer while failing. */
  lagSeconds(): number {
    return this.#failing ? (Date.now() - this.#lastAnsweredAt) / 1000 : 0;
  }

  /** True while the follower is at most `maxLagMs` behind. */
  isCurrent(maxLagMs: number): boolean {
    return this.lagSeconds() * 1000 <= maxLagMs;
  }
}
