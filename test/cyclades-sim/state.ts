/**
 * @module The simulator's mutable state: the database, the clock and its jobs, the test knobs,
 * the timings and the request log, with request-level transactions.
 */

import { JobQueue, type ClockMode } from './clock.ts';
import { Injection } from './injection.ts';
import { createDb, type Sequences, type SimDb } from './model.ts';
import type { SimSeed, SimTimings } from './seed.ts';

/** One request as received, for `/_sim/requests`. */
export interface RecordedRequest {
  seq: number;
  at: string;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  /** Parsed JSON when the body was JSON, the raw text otherwise, null when empty. */
  body: unknown;
  status: number;
}

/** How many requests the log keeps; older ones are dropped first. */
const REQUEST_LOG_LIMIT = 2000;

/** Options for {@link SimState}. */
export interface SimStateOptions {
  seed: SimSeed;
  timings: SimTimings;
  mode: ClockMode;
  baseUrl: string;
}

/** All simulator state. Handlers read `db` afresh on every call, because a rollback replaces it. */
export class SimState {
  db: SimDb;
  readonly seed: SimSeed;
  readonly jobs: JobQueue;
  readonly injection = new Injection();
  timings: SimTimings;
  /** External base URL used in the catalog and in `links`. */
  baseUrl: string;
  requests: RecordedRequest[] = [];
  private readonly initialTimings: SimTimings;
  private requestSeq = 0;

  constructor(options: SimStateOptions) {
    this.seed = structuredClone(options.seed);
    this.jobs = new JobQueue(options.mode);
    this.jobs.setFailurePolicy((op, scope) => this.injection.consumeFailure(op, scope));
    this.timings = { ...options.timings };
    this.initialTimings = { ...options.timings };
    this.baseUrl = options.baseUrl;
    this.db = createDb(this.seed, this.jobs.now());
  }

  /** Clock time in ms since the epoch. */
  now(): number {
    return this.jobs.now();
  }

  /** A timestamp the way Django's `isoformat` renders it, e.g. `2024-01-01T10:00:00.000000+00:00`. */
  iso(ms: number = this.now()): string {
    return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
  }

  /** Takes the next id of a sequence. */
  nextId(kind: keyof Sequences): number {
    this.db.seq[kind] += 1;
    return this.db.seq[kind];
  }

  /**
   * Runs `fn` so that a thrown fault leaves no trace: the database is restored and jobs queued
   * meanwhile are cancelled, like the Django transaction around each Cyclades view.
   */
  transaction<T>(fn: () => T): T {
    const snapshot = structuredClone(this.db);
    const mark = this.jobs.mark();
    try {
      return fn();
    } catch (error) {
      this.db = snapshot;
      this.jobs.cancelAfter(mark);
      throw error;
    }
  }

  /** Back to the seed: fresh database, no jobs, no knobs, empty log, initial timings. */
  reset(): void {
    this.jobs.clear();
    this.injection.reset();
    this.requests = [];
    this.timings = { ...this.initialTimings };
    this.db = createDb(this.seed, this.now());
  }

  /** Appends to the request log. */
  record(entry: Omit<RecordedRequest, 'seq'>): void {
    this.requestSeq += 1;
    this.requests.push({ ...entry, seq: this.requestSeq });
    if (this.requests.length > REQUEST_LOG_LIMIT) this.requests.splice(0, this.requests.length - REQUEST_LOG_LIMIT);
  }
}
