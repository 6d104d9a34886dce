/**
 * @module One shared follower of a database's changes feed per process, fanning every change out
 * to its subscribers (change streams now, a read cache later), so that a thousand watchers cost
 * one long-poll. It runs while anyone holds it and stops when the last one lets go. Sequences are
 * CouchDB's, opaque: they are passed back to CouchDB as they came, never compared or computed.
 */
import { reportFeedLag } from '../metrics.ts';
import { CouchStatusError, type CouchClient } from './couch.ts';
import { FeedState } from './feed-state.ts';
import { ValidationError } from '../errors.ts';

/** One change of one document, at the sequence CouchDB gave it. */
export interface DocChange<D> {
  /** The change's sequence (opaque); resuming from it replays what came after. */
  seq: string;
  id: string;
  rev: string;
  deleted: boolean;
  /** The document at `rev` (for a deletion, the tombstone and whatever body it kept). */
  doc?: D;
}

/** Receives every change, in feed order, synchronously (a slow subscriber must buffer itself). */
export type ChangeListener<D> = (change: DocChange<D>) => void;

interface ChangesPage<D> {
  results: { seq: string | number; id: string; changes?: { rev: string }[]; deleted?: boolean; doc?: D & { _rev?: string } }[];
  last_seq: string | number;
}

/** Options of a follower. */
export interface ChangesFollowerOptions {
  /** The feed's name in metrics and readiness (`entities`, `categories`). */
  name: string;
  /** How long one long-poll waits on an idle database, in ms. */
  pollMs?: number;
  /** Changes per request. */
  batch?: number;
  /**
   * How much longer than the poll an answer may take before the feed counts as failing (default
   * 10 s). A store slower than this at answering is taken for unavailable, as any request slower
   * than the store timeout is: the server passes its `couchdb.requestTimeoutMs`.
   */
  answerMarginMs?: number;
}

/** A sequence from a client (`Last-Event-ID`): CouchDB's forms only, bounded, before it reaches CouchDB. */
const SEQ = /^[0-9]+(-[A-Za-z0-9_-]+)?$/;
const SEQ_MAX_LENGTH = 8192;

/**
 * Checks a client-given sequence.
 *
 * @throws ValidationError (400) naming `where` when it is not a sequence of this store's form
 */
export function checkSeq(seq: string, where: string): string {
  if (seq.length > SEQ_MAX_LENGTH || !SEQ.test(seq)) {
    throw new ValidationError(`${where} is not a change sequence of this server (an event id it sent)`, [{ pointer: where, message: 'is not a change sequence' }]);
  }
  return seq;
}

function toChange<D>(row: ChangesPage<D>['results'][number]): DocChange<D> {
  const change: DocChange<D> = { seq: String(row.seq), id: row.id, rev: row.changes?.[0]?.rev ?? row.doc?._rev ?? '', deleted: row.deleted === true };
  if (row.doc) change.doc = row.doc;
  return change;
}

/** A shared, lazily running follower of one database's changes feed. */
export class ChangesFollower<D> {
  /** How current the follower is (readiness, `ocni_changes_feed_lag_seconds`). */
  readonly state: FeedState;
  readonly #client: CouchClient;
  readonly #db: string;
  readonly #pollMs: number;
  readonly #batch: number;
  readonly #marginMs: number;
  readonly #listeners = new Set<ChangeListener<D>>();
  #holders = 0;
  #running: { abort: AbortController; started: Promise<void>; done: Promise<void> } | undefined;
  #seq = '';

  constructor(client: CouchClient, db: string, options: ChangesFollowerOptions) {
    this.#client = client;
    this.#db = db;
    this.#pollMs = options.pollMs ?? 25_000;
    this.#batch = options.batch ?? 500;
    this.#marginMs = options.answerMarginMs ?? 10_000;
    this.state = new FeedState(options.name);
  }

  /** True while the follower follows (someone holds it). */
  get running(): boolean {
    return this.#running !== undefined;
  }

  /** The sequence of the last change handed to subscribers (the database's position when it started). */
  get position(): string {
    return this.#seq;
  }

  /**
   * Subscribes to every change from now on, starting the follower if it is idle; resolves once
   * the follower knows its position. Call the returned function to unsubscribe.
   */
  async subscribe(listener: ChangeListener<D>): Promise<() => void> {
    this.#listeners.add(listener);
    const release = this.hold();
    let open = true;
    const unsubscribe = () => {
      if (!open) return;
      open = false;
      this.#listeners.delete(listener);
      release();
    };
    try {
      await this.#running?.started;
    } catch (err) {
      unsubscribe();
      throw err;
    }
    return unsubscribe;
  }

  /** Keeps the follower running until the returned function is called (for always-on users). */
  hold(): () => void {
    this.#holders += 1;
    if (!this.#running) this.#start();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#holders -= 1;
      if (this.#holders === 0) this.#stop();
    };
  }

  /**
   * Reads the changes after `since` (a normal, not long-polled, feed), page by page, calling
   * `onChange` for each, until the feed has nothing more or `max` changes were read.
   *
   * @returns whether everything was read (false: more than `max` changes)
   * @throws ValidationError when CouchDB refuses `since` (a sequence it does not know)
   */
  async replay(since: string, onChange: (change: DocChange<D>) => void, max: number, signal?: AbortSignal): Promise<boolean> {
    let seq = since;
    let read = 0;
    for (;;) {
      // One more than allowed tells "too many" from "exactly max".
      const limit = Math.min(this.#batch, max + 1 - read);
      let page: ChangesPage<D>;
      try {
        page = await this.#client.request<ChangesPage<D>>({
          db: this.#db,
          path: '_changes',
          qs: { since: seq, include_docs: true, limit },
          ...(signal ? { signal } : {}),
        });
      } catch (err) {
        if (err instanceof CouchStatusError && err.statusCode === 400)
          throw new ValidationError(`Last-Event-ID is not a change sequence this store knows (${err.reason})`, [{ pointer: 'Last-Event-ID', message: 'unknown sequence' }]);
        throw err;
      }
      read += page.results.length;
      if (read > max) return false;
      for (const row of page.results) onChange(toChange(row));
      seq = String(page.last_seq);
      if (page.results.length < limit) return true;
    }
  }

  /** Stops at once, whoever holds it (server shutdown). */
  close(): void {
    this.#holders = 0;
    this.#listeners.clear();
    this.#stop();
  }

  #start(): void {
    const abort = new AbortController();
    let started!: () => void;
    let failedToStart!: (err: unknown) => void;
    const startedPromise = new Promise<void>((resolve, reject) => {
      started = resolve;
      failedToStart = reject;
    });
    // A subscriber that gave up waiting must not leave an unhandled rejection behind.
    startedPromise.catch(() => undefined);
    const unreport = reportFeedLag(this.state);
    const run = async () => {
      try {
        const info = await this.#client.request<{ update_seq: string | number }>({ db: this.#db, signal: abort.signal });
        this.#seq = String(info.update_seq);
        this.state.answered();
        started();
      } catch (err) {
        failedToStart(err);
        if (this.#running?.abort === abort) this.#running = undefined;
        unreport();
        return;
      }
      let delay = 250;
      while (!abort.signal.aborted) {
        try {
          const page = await this.#client.request<ChangesPage<D>>({
            db: this.#db,
            path: '_changes',
            qs: { feed: 'longpoll', since: this.#seq, include_docs: true, timeout: this.#pollMs, limit: this.#batch },
            timeoutMs: this.#pollMs + this.#marginMs,
            signal: abort.signal,
          });
          for (const row of page.results) {
            const change = toChange(row);
            this.#seq = change.seq;
            for (const listener of [...this.#listeners]) listener(change);
          }
          this.#seq = String(page.last_seq);
          this.state.answered();
          delay = 250;
        } catch {
          if (abort.signal.aborted) break;
          this.state.failed();
          await new Promise((resolve) => setTimeout(resolve, delay));
          delay = Math.min(delay * 2, 5000);
        }
      }
      unreport();
    };
    this.#running = { abort, started: startedPromise, done: run() };
  }

  #stop(): void {
    this.#running?.abort.abort();
    this.#running = undefined;
  }
}
