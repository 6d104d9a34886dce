/**
 * @module Readiness: whether this process should get traffic (`GET /readyz`, compose health checks,
 * the load balancer). Each check is a small function; the answer is computed at most once per
 * `cacheMs` and shared by concurrent callers, so `/readyz` cannot be used to hammer the store.
 */

/** One readiness check: resolves to undefined when fine, or to a sentence saying what is wrong. */
export interface ReadinessCheck {
  /** Short name shown in `/readyz` (`store`, `registry`, `categories-feed`, `embedded-store`). */
  name: string;
  check(): Promise<string | undefined> | string | undefined;
}

/** The outcome of every check. */
export interface ReadinessReport {
  ready: boolean;
  /** `ok`, or what is wrong, by check name. */
  checks: Record<string, string>;
}

/** The process's readiness, from its checks, cached briefly. */
export class Readiness {
  readonly #checks: ReadinessCheck[];
  readonly #cacheMs: number;
  #last: { at: number; report: Promise<ReadinessReport> } | undefined;

  constructor(checks: ReadinessCheck[], cacheMs = 1000) {
    this.#checks = checks;
    this.#cacheMs = cacheMs;
  }

  /** Adds a check (e.g. a component started after the server). */
  add(check: ReadinessCheck): void {
    this.#checks.push(check);
    this.#last = undefined;
  }

  /** Runs the checks, or answers what they said less than `cacheMs` ago (or are saying now). */
  evaluate(): Promise<ReadinessReport> {
    const now = Date.now();
    if (this.#last && now - this.#last.at < this.#cacheMs) return this.#last.report;
    const report = this.#run();
    this.#last = { at: now, report };
    return report;
  }

  async #run(): Promise<ReadinessReport> {
    const results = await Promise.all(
      this.#checks.map(async (c) => {
        try {
          return [c.name, (await c.check()) ?? 'ok'] as const;
        } catch (err) {
          return [c.name, err instanceof Error ? err.message : String(err)] as const;
        }
      }),
    );
    return { ready: results.every(([, result]) => result === 'ok'), checks: Object.fromEntries(results) };
  }
}
