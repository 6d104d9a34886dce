/**
 * @module Runtime categories, kinds' providers and location claims as CouchDB documents, written
 * as one unit with compensation, and followed through the changes feed.
 *
 * Documents: `category:<id>` holds a category, `provider:<kind id>` a kind's provider, and
 * `location:<path>` claims a location, so that two processes adding the same location at once
 * collide in CouchDB instead of both succeeding.
 */
import type { Category, Provider } from '../model/category.ts';
import type { CategoryEvent, CategoryPersistence, CategoryWrite, MigrationProgress, PendingCleaning } from '../registry/persistence.ts';
import { ConflictError, StoreUnavailableError } from '../errors.ts';
import { CouchStatusError, type CouchClient } from './couch.ts';
import { FeedState } from './feed-state.ts';
import { reportFeedLag } from '../metrics.ts';

interface Doc {
  _id: string;
  _rev?: string;
  _deleted?: boolean;
  type?: string;
  category?: Category;
  kind?: string;
  provider?: Provider;
  owner?: string;
  progress?: MigrationProgress;
  /** Of a `cleaning:` record: the deleted mixin's revision. */
  rev?: string;
}

interface BulkResult {
  id: string;
  rev?: string;
  ok?: boolean;
  error?: string;
  reason?: string;
}

const CATEGORY = 'category:';
const PROVIDER = 'provider:';
const LOCATION = 'location:';
const MIGRATION = 'migration:';
const CLEANING = 'cleaning:';

function toEvent(doc: Doc | undefined, id: string, deleted: boolean, rev?: string): CategoryEvent | undefined {
  if (id.startsWith(CATEGORY)) {
    if (deleted) return { type: 'category-deleted', id: id.slice(CATEGORY.length), ...(rev ? { rev } : {}) };
    return doc?.category && doc._rev ? { type: 'category', category: doc.category, rev: doc._rev } : undefined;
  }
  if (id.startsWith(PROVIDER)) {
    if (deleted) return { type: 'provider-deleted', kindId: id.slice(PROVIDER.length) };
    return doc?.provider && doc._rev ? { type: 'provider', kindId: id.slice(PROVIDER.length), provider: doc.provider, rev: doc._rev } : undefined;
  }
  return undefined;
}

/** Reads, writes and follows the categories database. */
export class CategoryStore implements CategoryPersistence {
  #stopped = false;
  #abort: AbortController | undefined;
  #unreport: (() => void) | undefined;
  /** How current the categories changes feed is (readiness, `ocni_changes_feed_lag_seconds`). */
  readonly feedState = new FeedState('categories');

  constructor(
    private readonly client: CouchClient,
    private readonly db: string,
  ) {}

  /**
   * Reads every runtime category and provider, once, at start-up, and the sequence to follow from.
   * The sequence is read first so that a change made during the read is seen again, not lost.
   */
  async load(): Promise<{ events: CategoryEvent[]; since: string }> {
    const info = await this.client.request<{ update_seq: string | number }>({ db: this.db });
    const events: CategoryEvent[] = [];
    for (const prefix of [CATEGORY, PROVIDER]) {
      const page = await this.client.request<{ rows: { id: string; doc?: Doc }[] }>({
        db: this.db,
        path: '_all_docs',
        qs: { include_docs: true, startkey: prefix, endkey: `${prefix}\ufff0` },
      });
      for (const row of page.rows) {
        const event = toEvent(row.doc, row.id, false);
        if (event) events.push(event);
      }
    }
    return { events, since: String(info.update_seq) };
  }

  /**
   * Follows the changes feed from `since`, calling `onEvent` for each category or provider change,
   * until {@link stop}. Errors are reported to `onError` and retried with a growing delay.
   */
  follow(since: string, onEvent: (event: CategoryEvent) => void, onError: (err: unknown) => void, pollMs = 25_000): void {
    let seq = since;
    let delay = 250;
    this.#unreport = reportFeedLag(this.feedState);
    const loop = async () => {
      while (!this.#stopped) {
        this.#abort = new AbortController();
        try {
          const page = await this.client.request<{ results: { id: string; deleted?: boolean; doc?: Doc; changes?: { rev?: string }[] }[]; last_seq: string | number }>({
            db: this.db,
            path: '_changes',
            qs: { feed: 'longpoll', since: seq, include_docs: true, timeout: pollMs },
            timeoutMs: pollMs + 10_000,
            signal: this.#abort.signal,
          });
          // A page cut off in transit, or a proxy's answer, must not pass for an empty one.
          if (!Array.isArray(page.results) || (typeof page.last_seq !== 'string' && typeof page.last_seq !== 'number')) {
            throw new StoreUnavailableError('the changes feed answered a page without results or last_seq');
          }
          for (const change of page.results) {
            const event = toEvent(change.doc, change.id, change.deleted === true, change.doc?._rev ?? change.changes?.[0]?.rev);
            if (event) onEvent(event);
          }
          seq = String(page.last_seq);
          delay = 250;
          this.feedState.answered();
        } catch (err) {
          if (this.#stopped) return;
          this.feedState.failed();
          onError(err);
          await new Promise((resolve) => setTimeout(resolve, delay));
          delay = Math.min(delay * 2, 5000);
        }
      }
    };
    void loop();
  }

  /** Stops following the changes feed. */
  stop(): void {
    this.#stopped = true;
    this.#abort?.abort();
    this.#unreport?.();
  }

  /**
   * Writes every change as one unit. CouchDB has no multi-document transaction, so when any write
   * is refused (another process got there first) the ones that went through are undone and the
   * whole request fails with a conflict.
   *
   * @returns the new revisions by document id
   * @throws ConflictError when CouchDB refused a write; nothing is left changed
   */
  async commit(writes: CategoryWrite[]): Promise<Map<string, string>> {
    const docs = writes.map(toDoc);
    // Two writes to one document in one batch would defeat the compensation below.
    const ids = new Set(docs.map((d) => d._id));
    if (ids.size !== docs.length) throw new Error('a category commit writes one document twice');
    await this.#fillClaimRevisions(docs);
    const answer = await this.client.exchange<BulkResult[]>({ db: this.db, method: 'post', path: '_bulk_docs', body: { docs } });
    const results = answer.body;
    // Accepted without a quorum (202): a write to the same document on another copy of a cluster
    // may have been accepted too; a write that finds such a rival has not won and counts as refused.
    const contested = answer.status === 202 ? await this.#contested(results) : [];
    const failed = [...results.filter((r) => r.error), ...results.filter((r) => contested.includes(r.id))];
    const revs = new Map(results.filter((r) => r.rev).map((r) => [r.id, r.rev!] as const));
    if (failed.length === 0) return revs;

    const undo: Doc[] = [];
    const byId = new Map(results.map((r) => [r.id, r] as const));
    writes.forEach((write) => {
      const id = toDoc(write)._id;
      const result = byId.get(id);
      if (!result?.rev || result.error) return;
      // Our revision of a contested document is a branch of its own: deleting it leaves the rival's.
      if (contested.includes(id)) {
        undo.push({ _id: id, _rev: result.rev, _deleted: true });
        return;
      }
      const reverted = compensate(write, result.rev);
      if (reverted) undo.push(reverted);
    });
    if (undo.length > 0) await this.client.request({ db: this.db, method: 'post', path: '_bulk_docs', body: { docs: undo } });
    const first = failed[0]!;
    const what = first.id.startsWith(LOCATION)
      ? `location "${first.id.slice(LOCATION.length)}" was claimed by another category at the same time`
      : `"${first.id.replace(/^[a-z]+:/, '')}" was changed by another request at the same time`;
    throw new ConflictError(`${what}; nothing was changed, try again`);
  }

  /** Location claims are released by deleting them, which needs their current revisions. */
  async #fillClaimRevisions(docs: Doc[]): Promise<void> {
    const releases = docs.filter((d) => d._deleted && d._id.startsWith(LOCATION));
    if (releases.length === 0) return;
    const found = await this.client.request<{ rows: { key: string; value?: { rev: string; deleted?: boolean } }[] }>({
      db: this.db,
      method: 'post',
      path: '_all_docs',
      body: { keys: releases.map((d) => d._id) },
    });
    const revs = new Map(found.rows.filter((r) => r.value && !r.value.deleted).map((r) => [r.key, r.value!.rev]));
    for (const doc of releases) {
      const rev = revs.get(doc._id);
      if (rev) doc._rev = rev;
    }
    // A claim that is already gone needs no release.
    for (let i = docs.length - 1; i >= 0; i -= 1) {
      const doc = docs[i]!;
      if (doc._deleted && doc._id.startsWith(LOCATION) && !doc._rev) docs.splice(i, 1);
    }
  }

  /**
   * Of the documents just written, those that have a conflicting revision (read with
   * `conflicts=true`): another copy of the cluster accepted a rival write.
   */
  async #contested(results: BulkResult[]): Promise<string[]> {
    const written = results.filter((r) => r.rev && !r.error);
    if (written.length === 0) return [];
    const page = await this.client.request<{ rows: { key: string; doc?: { _conflicts?: string[] } | null }[] }>({
      db: this.db,
      method: 'post',
      path: '_all_docs',
      qs: { include_docs: true, conflicts: true },
      body: { keys: written.map((r) => r.id) },
    });
    return page.rows.filter((r) => (r.doc?._conflicts ?? []).length > 0).map((r) => r.key);
  }

  /**
   * Claims a one-time task with a marker document; CouchDB's conflict makes the claim exclusive.
   * A claim a cluster only accepted (202) wins only when no rival claim shows up beside it; one
   * that finds a rival takes its own revision back and yields.
   */
  async claimOnce(task: string): Promise<boolean> {
    const id = encodeURIComponent(`once:${task}`);
    try {
      const answer = await this.client.exchange<{ rev: string }>({ db: this.db, method: 'put', path: id, body: { type: 'once', at: new Date().toISOString() } });
      if (answer.status !== 202) return true;
      const rival = (await this.#contested([{ id: `once:${task}`, rev: answer.body.rev }])).length > 0;
      if (rival) await this.client.request({ db: this.db, method: 'delete', path: id, qs: { rev: answer.body.rev } });
      return !rival;
    } catch (err) {
      if (err instanceof CouchStatusError && err.statusCode === 409) return false;
      throw err;
    }
  }

  /** Every migration still under way: one `_all_docs` range over `migration:` documents. */
  async loadMigrations(): Promise<MigrationProgress[]> {
    const page = await this.client.request<{ rows: { id: string; doc?: Doc }[] }>({
      db: this.db,
      path: '_all_docs',
      qs: { include_docs: true, startkey: MIGRATION, endkey: `${MIGRATION}\ufff0` },
    });
    return page.rows.flatMap((row) => (row.doc?.progress && row.doc._rev ? [{ ...row.doc.progress, rev: row.doc._rev }] : []));
  }

  /** Saves a migration's progress; undefined when another process saved it first. */
  async saveMigration(progress: MigrationProgress): Promise<string | undefined> {
    try {
      const { rev: _rev, ...body } = progress;
      const result = await this.client.request<{ rev: string }>({
        db: this.db,
        method: 'put',
        path: encodeURIComponent(MIGRATION + progress.categoryId),
        body: { ...(progress.rev ? { _rev: progress.rev } : {}), type: 'migration', progress: body },
      });
      return result.rev;
    } catch (err) {
      if (err instanceof CouchStatusError && err.statusCode === 409) return undefined;
      throw err;
    }
  }

  async markCleaning(mixinId: string, rev: string): Promise<void> {
    const path = encodeURIComponent(CLEANING + mixinId);
    try {
      await this.client.request({ db: this.db, method: 'put', path, body: { type: 'cleaning', mixin: mixinId, rev, at: new Date().toISOString() } });
    } catch (err) {
      // Recorded already (a deletion tried before): the record stands, the cleaning is the same.
      if (!(err instanceof CouchStatusError && err.statusCode === 409)) throw err;
    }
  }

  async pendingCleanings(ids?: string[]): Promise<PendingCleaning[]> {
    // By keys when the mixins are known (a request as large as the question), else the prefix range.
    const qs = ids === undefined ? { include_docs: true, startkey: CLEANING, endkey: `${CLEANING}\ufff0` } : { include_docs: true };
    if (ids !== undefined && ids.length === 0) return [];
    const page = await this.client.request<{ rows: { id?: string; doc?: Doc | null }[] }>({
      db: this.db,
      ...(ids === undefined ? { path: '_all_docs' } : { method: 'post', path: '_all_docs', body: { keys: ids.map((id) => CLEANING + id) } }),
      qs,
    });
    if (!Array.isArray(page?.rows)) throw new StoreUnavailableError('the store answered a listing without rows');
    return page.rows.flatMap((row) => (row.doc && typeof row.doc.rev === 'string' && row.doc._id.startsWith(CLEANING) ? [{ mixinId: row.doc._id.slice(CLEANING.length), rev: row.doc.rev }] : []));
  }

  async endCleaning(mixinId: string): Promise<void> {
    const path = encodeURIComponent(CLEANING + mixinId);
    try {
      const doc = await this.client.request<Doc>({ db: this.db, path });
      await this.client.request({ db: this.db, method: 'delete', path, qs: { rev: doc._rev } });
    } catch (err) {
      // Gone already, or ended by another process at the same moment.
      if (!(err instanceof CouchStatusError && (err.statusCode === 404 || err.statusCode === 409))) throw err;
    }
  }

  /** Looks a location claim up: which category holds the location, if any. */
  async locationOwner(location: string): Promise<string | undefined> {
    try {
      const doc = await this.client.request<Doc>({ db: this.db, path: encodeURIComponent(LOCATION + location) });
      return doc.owner;
    } catch (err) {
      if (err instanceof CouchStatusError && err.statusCode === 404) return undefined;
      throw err;
    }
  }
}

function toDoc(write: CategoryWrite): Doc {
  switch (write.op) {
    case 'put-category':
      return { _id: CATEGORY + write.category.scheme + write.category.term, ...(write.rev ? { _rev: write.rev } : {}), type: 'category', category: write.category };
    case 'delete-category':
      return { _id: CATEGORY + write.category.scheme + write.category.term, _rev: write.rev, _deleted: true };
    case 'put-provider':
      return { _id: PROVIDER + write.kindId, ...(write.rev ? { _rev: write.rev } : {}), type: 'provider', kind: write.kindId, provider: write.provider };
    case 'delete-provider':
      return { _id: PROVIDER + write.kindId, _rev: write.rev, _deleted: true };
    case 'claim-location':
      return { _id: LOCATION + write.location, type: 'location', owner: write.owner };
    case 'release-location':
      return { _id: LOCATION + write.location, _deleted: true, type: 'location', owner: write.owner };
    case 'put-migration': {
      const { rev, ...progress } = write.progress;
      return { _id: MIGRATION + progress.categoryId, ...(rev ? { _rev: rev } : {}), type: 'migration', progress };
    }
    case 'delete-migration':
      return { _id: MIGRATION + write.progress.categoryId, _rev: write.progress.rev!, _deleted: true };
  }
}

/** The document that undoes a write that went through (at its new revision `rev`). */
function compensate(write: CategoryWrite, rev: string): Doc | undefined {
  switch (write.op) {
    case 'put-category':
      // A new category is deleted again; an updated one gets its previous body back.
      return write.before
        ? { _id: CATEGORY + write.category.scheme + write.category.term, _rev: rev, type: 'category', category: write.before }
        : { _id: CATEGORY + write.category.scheme + write.category.term, _rev: rev, _deleted: true };
    case 'delete-category':
      return { _id: CATEGORY + write.category.scheme + write.category.term, _rev: rev, type: 'category', category: write.category };
    case 'put-provider':
      return write.before ? { _id: PROVIDER + write.kindId, _rev: rev, type: 'provider', kind: write.kindId, provider: write.before } : { _id: PROVIDER + write.kindId, _rev: rev, _deleted: true };
    case 'delete-provider':
      return { _id: PROVIDER + write.kindId, _rev: rev, type: 'provider', kind: write.kindId, provider: write.before };
    case 'claim-location':
      return { _id: LOCATION + write.location, _rev: rev, _deleted: true };
    case 'release-location':
      return { _id: LOCATION + write.location, _rev: rev, type: 'location', owner: write.owner };
    case 'put-migration':
      // A migration that did not exist is removed again; one that did gets its progress back.
      return write.progress.rev
        ? { _id: MIGRATION + write.progress.categoryId, _rev: rev, type: 'migration', progress: { ...write.progress, rev: undefined } }
        : { _id: MIGRATION + write.progress.categoryId, _rev: rev, _deleted: true };
    case 'delete-migration':
      return { _id: MIGRATION + write.progress.categoryId, _rev: rev, type: 'migration', progress: { ...write.progress, rev: undefined } };
  }
}
