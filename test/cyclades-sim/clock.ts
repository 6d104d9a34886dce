/**
 * @module The simulator's injectable clock and its queue of delayed jobs. Every asynchronous
 * Cyclades transition (a Ganeti job in the real service) is a job here, so tests can either let
 * timers fire (`realtime`) or move time explicitly (`manual`) and never sleep.
 */

/** `realtime`: jobs fire from timers; `manual`: jobs fire only on `advance` or `settle`. */
export type ClockMode = 'realtime' | 'manual';

/** One delayed transition waiting in the queue. */
export interface Job {
  /** Monotonic id, also used to cancel the job and to roll back jobs queued by a failed request. */
  id: number;
  /** The operation name `fail-next` matches on (`BUILD`, `START`, `ATTACH_VOLUME`, ...). */
  op: string;
  /** What the job acts on, e.g. `server:1001` or `volume:6001`; `fail-next` may filter on it. */
  scope: string;
  /** Clock time (ms since the epoch) at which the job completes. */
  dueAt: number;
  /** The transition; `failed` is true when a `fail-next` rule claimed this job. */
  run: (failed: boolean) => void;
}

/** The public, data-only view of a pending job (for `/_sim/state`). */
export interface JobInfo {
  id: number;
  op: string;
  scope: string;
  dueAt: string;
  dueInMs: number;
}

/** Decides whether a job ends in failure; wired to the `fail-next` rules. */
export type FailurePolicy = (op: string, scope: string) => boolean;

/** Settling stops after this many jobs so a job that keeps re-queueing itself cannot hang a test. */
const SETTLE_LIMIT = 10_000;

/** The clock plus the pending jobs, in due order. */
export class JobQueue {
  readonly mode: ClockMode;
  private virtualNow: number;
  private skew = 0;
  private jobs: Job[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private disposed = false;
  private shouldFail: FailurePolicy = () => false;
  /** Errors thrown by job bodies; kept rather than thrown so a timer callback never crashes the process. */
  readonly errors: string[] = [];

  constructor(mode: ClockMode, startMs: number = Date.now()) {
    this.mode = mode;
    this.virtualNow = startMs;
  }

  /** Current clock time in ms since the epoch. */
  now(): number {
    return this.mode === 'manual' ? this.virtualNow : Date.now() + this.skew;
  }

  /** Installs the policy consulted as each job completes. */
  setFailurePolicy(policy: FailurePolicy): void {
    this.shouldFail = policy;
  }

  /** Queues `run` to complete after `delayMs` of clock time; returns the job id. */
  schedule(op: string, scope: string, delayMs: number, run: (failed: boolean) => void): number {
    this.seq += 1;
    const job: Job = { id: this.seq, op, scope, dueAt: this.now() + Math.max(0, delayMs), run };
    this.jobs.push(job);
    this.sort();
    this.rearm();
    return job.id;
  }

  /** When a pending job falls due; undefined when it already ran or was cancelled. */
  dueAt(id: number): number | undefined {
    return this.jobs.find((job) => job.id === id)?.dueAt;
  }

  /** Drops a pending job (no-op when it already ran). */
  cancel(id: number): void {
    this.jobs = this.jobs.filter((job) => job.id !== id);
    this.rearm();
  }

  /** The id of the most recently queued job; pair with {@link cancelAfter} to undo a request's jobs. */
  mark(): number {
    return this.seq;
  }

  /** Cancels every job queued after `mark`, used when a request fails half-way. */
  cancelAfter(mark: number): void {
    this.jobs = this.jobs.filter((job) => job.id <= mark);
    this.rearm();
  }

  /** Data-only snapshot of the pending jobs. */
  pending(): JobInfo[] {
    const now = this.now();
    return this.jobs.map((job) => ({
      id: job.id,
      op: job.op,
      scope: job.scope,
      dueAt: new Date(job.dueAt).toISOString(),
      dueInMs: Math.max(0, job.dueAt - now),
    }));
  }

  /** Moves the clock forward by `ms` and completes every job that falls due; returns how many ran. */
  advance(ms: number): number {
    const step = Math.max(0, ms);
    if (this.mode === 'manual') {
      const until = this.virtualNow + step;
      const ran = this.runDue(until);
      this.virtualNow = until;
      this.rearm();
      return ran;
    }
    this.skew += step;
    const ran = this.runDue(this.now());
    this.rearm();
    return ran;
  }

  /** Completes all pending jobs (and any they queue), jumping the clock to each due time. */
  settle(): number {
    let ran = 0;
    while (this.jobs.length > 0 && ran < SETTLE_LIMIT) {
      const job = this.jobs[0];
      if (job === undefined) break;
      const gap = job.dueAt - this.now();
      if (gap > 0) {
        if (this.mode === 'manual') this.virtualNow += gap;
        else this.skew += gap;
      }
      this.jobs.shift();
      this.execute(job);
      ran += 1;
    }
    this.rearm();
    return ran;
  }

  /** Drops every job; the clock keeps its time. */
  clear(): void {
    this.jobs = [];
    this.rearm();
  }

  /** Stops timers for good (server shutdown). */
  dispose(): void {
    this.disposed = true;
    this.jobs = [];
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private runDue(until: number): number {
    let ran = 0;
    for (;;) {
      const job = this.jobs[0];
      if (job === undefined || job.dueAt > until || ran >= SETTLE_LIMIT) break;
      this.jobs.shift();
      if (this.mode === 'manual' && job.dueAt > this.virtualNow) this.virtualNow = job.dueAt;
      this.execute(job);
      ran += 1;
    }
    return ran;
  }

  private execute(job: Job): void {
    try {
      job.run(this.shouldFail(job.op, job.scope));
    } catch (error) {
      this.errors.push(`${job.op} ${job.scope}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private sort(): void {
    // Equal due times keep queue order, so a job queued later never overtakes an earlier one.
    this.jobs.sort((a, b) => a.dueAt - b.dueAt || a.id - b.id);
  }

  private rearm(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.mode !== 'realtime' || this.disposed) return;
    const next = this.jobs[0];
    if (next === undefined) return;
    const delay = Math.max(0, next.dueAt - this.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.runDue(this.now());
      this.rearm();
    }, delay);
    // The HTTP server, not a pending job, decides whether the process stays alive.
    this.timer.unref();
  }
}
