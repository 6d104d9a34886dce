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
  /**
   * A write of this process that its subscribers applied when the store answered it (see
   * {@link ChangesFollower.ownWrite}): it comes without its document to those that asked only for
   * other processes' documents.
   */
  own?: boolean;
}

/**
 * What a subscriber needs of each change's document: `all` (change streams render every change),
 * `foreign` (the changes of other processes; this process's own writes it applied itself), or
 * `none` (the id and revision are enough: the read cache forgets by id).
 */
export type DocumentNeed = 'all' | 'foreign' | 'none';

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

/** Own writes remembered until the feed brings them (see {@link ChangesFollower.ownWrite}). */
const OWN_WRITES_MAX = 10_000;

/** How far a full page makes the next one grow: up to this many times the configured batch. */
const PAGE_GROWTH_MAX = 4;

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

/** A write of this process on its way to the store (see {@link ChangesFollower.writing}). */
interface WriteInFlight {
  ids: string[];
  settled: Promise<void>;
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
  readonly #listeners = new Map<ChangeListener<D>, DocumentNeed>();
  /** This process's writes, by id, whose changes need not bring their documents back (bounded). */
  readonly #own = new Map<string, string>();
  /** This process's writes on their way to the store: each settles when the store answered. */
  readonly #writing = new Set<WriteInFlight>();
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
   *
   * @param need - which documents the listener needs (`all` by default); the feed reads documents
   * only as far as some listener needs them
   */
  async subscribe(listener: ChangeListener<D>, need: DocumentNeed = 'all'): Promise<() => void> {
    this.#listeners.set(listener, need);
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

  /**
   * Notes a write of this process, applied by its `foreign` subscribers when the store answered it:
   * when the feed brings revision `rev` of `id`, its document is not read again for them. Without
   * this, the feed sends back every document the process just wrote (the store reads and sends
   * them; a bulk create of 1,000 costs the store as much again as the write).
   */
  ownWrite(id: string, rev: string): void {
    // Bounded: a forgotten write only costs its document's reading. The oldest quarter goes at
    // once: one walk from the start per eviction would cross every entry the feed deleted there.
    if (this.#own.size >= OWN_WRITES_MAX && !this.#own.has(id)) {
      let drop = OWN_WRITES_MAX / 4;
      for (const old of this.#own.keys()) {
        this.#own.delete(old);
        if (--drop === 0) break;
      }
    }
    this.#own.set(id, rev);
  }

  /**
   * Notes a write of this process on its way to the store; call the returned function once it
   * settled (after {@link ownWrite}). The feed may bring a write's change before the write's own
   * answer is read: a change of a document being written waits for that write to settle, so that
   * it is known for this process's own (a write in flight settles by the store's timeout).
   */
  writing(ids: string[]): () => void {
    let settle!: () => void;
    const write: WriteInFlight = { ids, settled: new Promise<void>((resolve) => (settle = resolve)) };
    this.#writing.add(write);
    return () => {
      if (!this.#writing.delete(write)) return;
      settle();
    };
  }

  /** Waits for this process's writes in flight on the changes' documents (those under way now only). */
  async #writesSettled(changes: DocChange<D>[]): Promise<void> {
    if (this.#writing.size === 0) return;
    // The writes' ids are indexed only when a page arrives while they are under way: once for all
    // of them, so that many small writes in flight cost no more than one large one.
    const byId = new Map<string, Promise<void>[]>();
    for (const write of this.#writing) {
      for (const id of write.ids) {
        const settling = byId.get(id);
        if (settling) settling.push(write.settled);
        else byId.set(id, [write.settled]);
      }
    }
    const waits = new Set<Promise<void>>();
    for (const change of changes) for (const settled of byId.get(change.id) ?? []) waits.add(settled);
    if (waits.size > 0) await Promise.all(waits);
  }

  /** Marks a change of a noted own write as such (once: the note goes). */
  #markOwn(change: DocChange<D>): void {
    if (this.#own.get(change.id) !== change.rev) return;
    this.#own.delete(change.id);
    change.own = true;
  }

  /** The most any listener needs. */
  #need(): DocumentNeed {
    let need: DocumentNeed = 'none';
    for (const wanted of this.#listeners.values()) {
      if (wanted === 'all') return 'all';
      if (wanted === 'foreign') need = 'foreign';
    }
    return need;
  }

  /**
   * Gives a page read without documents what its listeners need: own writes are marked, and the
   * documents of the others are read in one `_all_docs` request. A document deleted since comes as
   * a deletion, and a document changed since as its newer revision (as `include_docs` gives the
   * current document): the feed brings that change too, and applying it twice changes nothing.
   */
  async #complete(changes: DocChange<D>[], signal: AbortSignal): Promise<void> {
    const need = this.#need();
    const wanted: DocChange<D>[] = [];
    for (const change of changes) {
      this.#markOwn(change);
      if (!change.deleted && (need === 'all' || (need === 'foreign' && !change.own))) wanted.push(change);
    }
    if (wanted.length === 0) return;
    const page = await this.#client.request<{ rows: { key: string; value?: { rev: string; deleted?: boolean }; doc?: (D & { _rev?: string }) | null }[] }>({
      db: this.#db,
      method: 'post',
      path: '_all_docs',
      qs: { include_docs: true },
      body: { keys: wanted.map((c) => c.id) },
      signal,
    });
    const rows = new Map(page.rows.map((row) => [row.key, row]));
    for (const change of wanted) {
      const row = rows.get(change.id);
      if (row?.doc) {
        change.doc = row.doc;
        change.rev = row.doc._rev ?? change.rev;
      } else {
        change.deleted = true;
        if (row?.value?.rev) change.rev = row.value.rev;
      }
    }
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
      // Pages grow while they come full: a feed that reads a fixed page per round trip falls
      // further behind for as long as writes come faster than that (sustained bulk creates).
      let limit = this.#batch;
      while (!abort.signal.aborted) {
        try {
          // Documents come with the changes only when a listener needs every one of them.
          const withDocs = this.#need() === 'all';
          const page = await this.#client.request<ChangesPage<D>>({
            db: this.#db,
            path: '_changes',
            qs: { feed: 'longpoll', since: this.#seq, include_docs: withDocs, timeout: this.#pollMs, limit },
            timeoutMs: this.#pollMs + this.#marginMs,
            signal: abort.signal,
          });
          const changes = page.results.map((row) => toChange(row));
          // Documents are read before any change is handed on: should that fail, the page comes again.
          await this.#writesSettled(changes);
          if (withDocs) for (const change of changes) this.#markOwn(change);
          else await this.#complete(changes, abort.signal);
          for (const change of changes) {
            this.#seq = change.seq;
            for (const listener of [...this.#listeners.keys()]) listener(change);
          }
          this.#seq = String(page.last_seq);
          this.state.answered();
          delay = 250;
          limit = changes.length >= limit ? Math.min(limit * 2, this.#batch * PAGE_GROWTH_MAX) : this.#batch;
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
