/**
 * @module The first members of each listed collection (kind, root kind, mixin; everyone's, or one
 * tenant's), in the store's key order, held in memory and kept current like the read cache: from this process's own writes as
 * soon as they settle, and from the entities changes feed for everyone else's.
 *
 * Each collection holds a window: every member up to a boundary id, read from its membership rows
 * of the generic view (keys only) when a listing first needs them, and extended, from the boundary
 * on, when a listing reaches past it. So what the store reads follows what clients list, page by
 * page, once; a listing within the window reads no index rows at all. Changes to ids past the
 * boundary are ignored (the extension that reaches them reads them), except while that extension
 * is under way: then they are kept and applied once it arrived.
 *
 * Order: members are kept in the order the view returns them, and new members are placed by
 * comparing ids. PouchDB collates strings by UTF-16 code units, which `<` does; CouchDB by the
 * Unicode Collation Algorithm, which agrees with code units only on some characters — lower-case
 * ASCII letters, digits, `-`, `.` and `/` (CouchDB's "Views collation" documents that punctuation
 * sorts before digits, digits before letters, and `a` before `A` before `b`). On CouchDB a collection
 * that holds or receives any other id is not served from memory: its listings stay with the view,
 * never in a different order from it.
 */
import type { ChangesFollower } from './changes-follower.ts';
import type { CouchAnswer, CouchClient, CouchRequest } from './couch.ts';
import type { EntityDoc } from './entity-store.ts';
import { MEMBER_FIELD, VIEWS } from './entity-views.ts';
import { LINK_KIND, RESOURCE_KIND } from '../model/category.ts';

/** How the store orders strings in view keys. */
export type Collation = 'code-units' | 'unicode';

/** Options of the member index. */
export interface MemberIndexOptions {
  /** Most ids held over every collection; 0 turns the index off. */
  ids: number;
  collation: Collation;
  /** Told when loading a collection failed (it is tried again at its next listing). */
  onLoadError?: (collection: string, err: unknown) => void;
}

/** How the store at the other end of `client` collates strings: PouchDB Server by code units, CouchDB by the UCA. */
export async function storeCollation(client: CouchClient): Promise<Collation> {
  const info = await client.info();
  return /pouchdb/i.test(info.vendor?.name ?? '') ? 'code-units' : 'unicode';
}

/** Most rows one extension reads (a deep `?page=` extends the window in several steps). */
const EXTEND_MAX = 10_000;

/** Ids whose code-unit order is the Unicode Collation Algorithm's (see the module's comment). */
const UCA_SAFE = /^[a-z0-9./-]*$/;

interface Collection {
  /** The collection's category id, and the tenant whose members it holds (undefined: every tenant's). */
  name: string;
  owner: string | undefined;
  /** Every member up to `boundary`, in key order. */
  ids: string[];
  /** The last id read from the view; undefined before the first read. */
  boundary: string | undefined;
  /** The view had nothing after the boundary: every member is held. */
  complete: boolean;
  /** Set when memory cannot order this collection as the store does: it stays with the view. */
  unusable: boolean;
  /** The extension under way. */
  extending: Promise<void> | undefined;
  /** Changes to ids past the boundary while an extension is under way: id → member or not. */
  delta: Map<string, boolean>;
}

/** The collections an entity document is a member of: what the generic view's membership rows say. */
export function membershipOf(doc: Pick<EntityDoc, 'kind' | 'source' | 'mixins'>): Set<string> {
  const root = doc.source !== undefined ? LINK_KIND : RESOURCE_KIND;
  return new Set([doc.kind, root, ...(doc.mixins ?? [])]);
}

/** The key of a collection (of one tenant's members, or of everyone's) in the index. */
function keyOf(collection: string, owner: string | undefined): string {
  return JSON.stringify([owner ?? null, collection]);
}

/** The revision generation (`3` in `3-abc…`). */
function generation(rev: string | undefined): number {
  const n = Number.parseInt(rev ?? '', 10);
  return Number.isFinite(n) ? n : 0;
}

/** First index in sorted `ids` whose id is greater than `id` (code-unit order). */
export function upperBound(ids: readonly string[], id: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid]! <= id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The members of listed collections, kept current; see the module's comment. */
export class MemberIndex {
  readonly #collections = new Map<string, Collection>();
  /** The last generation applied per id: an older change (a feed that lags our own write) is not applied over a newer one. */
  readonly #generations = new Map<string, number>();
  #held = 0;
  #live = false;
  #unsubscribe: (() => void) | undefined;

  constructor(
    private readonly client: CouchClient,
    private readonly db: string,
    private readonly follower: ChangesFollower<EntityDoc>,
    private readonly options: MemberIndexOptions,
  ) {}

  /** Follows the changes feed; collections load at their first listing. */
  async start(): Promise<void> {
    if (this.options.ids <= 0 || this.#unsubscribe) return;
    // This process's own writes were applied when the store answered them (applyWrite).
    this.#unsubscribe = await this.follower.subscribe((change) => {
      if (!change.own) this.#apply(change.id, change.rev, change.deleted ? undefined : change.doc);
    }, 'foreign');
    this.#live = true;
  }

  /** Stops following and forgets everything. */
  stop(): void {
    this.#live = false;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#forget();
  }

  /** Ids held, over every collection. */
  get size(): number {
    return this.#held;
  }

  /**
   * The members of a collection held in memory, in key order, at least `count` of them unless the
   * collection has fewer (read from the view, keys only, as far as needed); undefined when the
   * listing must read the store: the feed fails, memory cannot order the collection, or the bound
   * on ids held is reached. The array is the index's own: read it before awaiting anything.
   */
  async members(collection: string, count: number, owner?: string): Promise<{ ids: readonly string[]; complete: boolean } | undefined> {
    const key = keyOf(collection, owner);
    for (;;) {
      if (!this.#serving()) return undefined;
      let found = this.#collections.get(key);
      if (!found) {
        found = { name: collection, owner, ids: [], boundary: undefined, complete: false, unusable: false, extending: undefined, delta: new Map() };
        this.#collections.set(key, found);
      }
      if (found.unusable) return undefined;
      if (found.complete || found.ids.length >= count) return { ids: found.ids, complete: found.complete };
      if (this.#held + (count - found.ids.length) > this.options.ids) return undefined;
      found.extending ??= this.#extend(key, found, Math.min(count - found.ids.length, EXTEND_MAX)).finally(() => (found.extending = undefined));
      try {
        await found.extending;
      } catch (err) {
        this.options.onLoadError?.(collection, err);
        return undefined;
      }
    }
  }

  /** Whether `id` lies within the collection's window (a continuation from it can be served). */
  holds(collection: string, id: string, owner?: string): boolean {
    const found = this.#collections.get(keyOf(collection, owner));
    return found !== undefined && !found.unusable && (found.complete || (found.boundary !== undefined && id <= found.boundary));
  }

  /**
   * Applies a write of this process once the store answered it, so that the process lists its own
   * writes at once (the feed brings the same change again later; applying it twice changes nothing).
   */
  applyWrite(req: CouchRequest, answer: CouchAnswer<unknown>): void {
    if (!this.#live || req.db !== this.db) return;
    const method = req.method ?? 'get';
    const path = req.path ?? '';
    if (method === 'post' && path === '_bulk_docs') {
      const docs = (req.body as { docs?: EntityDoc[] } | undefined)?.docs ?? [];
      const results = Array.isArray(answer.body) ? (answer.body as { id?: string; rev?: string; error?: string }[]) : [];
      // CouchDB answers one result per document, in order.
      results.forEach((result, i) => {
        const doc = docs[i];
        if (!doc || result.error !== undefined || result.rev === undefined || result.id !== doc._id) return;
        // An entity's deletion writes a tombstone that says what it was (`tombstone()`); a bare
        // deletion is one leaf of a conflict going, while the entity stays: the feed tells its state.
        if (doc._deleted === true && doc.type !== 'entity') return;
        this.#applyOwn(doc._id, result.rev, doc._deleted ? undefined : doc);
      });
      return;
    }
    const rev = (answer.body as { rev?: string } | undefined)?.rev;
    if (rev === undefined || path === '' || path.startsWith('_')) return;
    // A DELETE by revision takes one leaf back (a lost race), and the entity may stay: the feed tells its state.
    if (method === 'put') this.#applyOwn(decodeURIComponent(path), rev, req.body as EntityDoc);
  }

  /**
   * Applies this process's write, and tells the feed so: its change then comes back without its
   * document (with no collection held, there is nothing to apply, and a collection loaded later
   * reads the view, written after the store answered).
   */
  #applyOwn(id: string, rev: string, doc: EntityDoc | undefined): void {
    this.follower.ownWrite(id, rev);
    this.#apply(id, rev, doc);
  }

  #serving(): boolean {
    if (!this.#live) return false;
    if (this.follower.running && this.follower.state.isCurrent(0)) return true;
    // A failing feed may be missing other processes' writes: what is held can no longer be trusted.
    if (this.#collections.size > 0) this.#forget();
    return false;
  }

  #forget(): void {
    this.#collections.clear();
    this.#generations.clear();
    this.#held = 0;
  }

  /** One document's state at `rev` (undefined: deleted). */
  #apply(id: string, rev: string, doc: EntityDoc | undefined): void {
    if (this.#collections.size === 0 || id.startsWith('_design/')) return;
    const gen = generation(rev);
    const seen = this.#generations.get(id);
    if (seen !== undefined && gen < seen) return;
    // Bounded: forgetting generations only lets a lagging feed undo a newer write until its own change arrives.
    if (this.#generations.size >= this.options.ids) this.#generations.clear();
    this.#generations.set(id, gen);
    const member = doc !== undefined && doc._deleted !== true && doc.type === 'entity' ? membershipOf(doc) : new Set<string>();
    const owner = doc?.owner;
    for (const collection of this.#collections.values()) {
      if (collection.unusable) continue;
      const wanted = member.has(collection.name) && (collection.owner === undefined || collection.owner === owner);
      if (collection.complete || (collection.boundary !== undefined && id <= collection.boundary)) this.#place(collection, id, wanted);
      else if (collection.extending) collection.delta.set(id, wanted);
    }
  }

  /** Puts `id` in or out of a collection's window, at its place in key order. */
  #place(collection: Collection, id: string, wanted: boolean): void {
    const ids = collection.ids;
    const at = upperBound(ids, id);
    const present = at > 0 && ids[at - 1] === id;
    if (present === wanted) return;
    if (!wanted) {
      ids.splice(at - 1, 1);
      this.#held -= 1;
      return;
    }
    if (this.options.collation === 'unicode' && !UCA_SAFE.test(id)) return this.#unusable(collection);
    ids.splice(at, 0, id);
    this.#held += 1;
  }

  /** The collection stays with the view (until the index is forgotten: a failing feed, a restart). */
  #unusable(collection: Collection): void {
    this.#held -= collection.ids.length;
    collection.unusable = true;
    collection.ids = [];
    collection.delta.clear();
  }

  /** Reads up to `count` more membership rows after the boundary (keys only), then applies what changed meanwhile past it. */
  async #extend(key: string, collection: Collection, count: number): Promise<void> {
    const prefix = collection.owner === undefined ? [collection.name, MEMBER_FIELD, null] : [collection.owner, collection.name, MEMBER_FIELD, null];
    // From the boundary itself, not `skip=1` past it: the boundary's member may be gone meanwhile,
    // and skipping would then pass over the next one.
    const from = collection.boundary;
    // Only what changes while this read is under way is kept for it.
    collection.delta = new Map();
    const answer = await this.client.request<{ rows: { id: string }[] }>({
      db: this.db,
      path: collection.owner === undefined ? VIEWS.entities : VIEWS.owned,
      qs: { startkey: from === undefined ? prefix : [...prefix, from], endkey: [...prefix, {}], limit: from === undefined ? count : count + 1, reduce: false },
    });
    const rows = from !== undefined && answer.rows[0]?.id === from ? answer.rows.slice(1) : answer.rows.slice(0, count);
    const page = { rows };
    // Forgotten meanwhile (the feed failed): nothing read may be kept.
    if (this.#collections.get(key) !== collection || collection.unusable) return;
    const delta = collection.delta;
    collection.delta = new Map();
    let previous = collection.boundary;
    for (const row of page.rows) {
      // Served from memory only when memory orders ids as the store does.
      if ((previous !== undefined && !(previous < row.id)) || (this.options.collation === 'unicode' && !UCA_SAFE.test(row.id))) return this.#unusable(collection);
      previous = row.id;
    }
    for (const row of page.rows) collection.ids.push(row.id);
    this.#held += page.rows.length;
    collection.boundary = previous;
    if (page.rows.length < count) collection.complete = true;
    for (const [id, wanted] of delta) {
      if (collection.unusable) break;
      if (collection.complete || (collection.boundary !== undefined && id <= collection.boundary)) this.#place(collection, id, wanted);
    }
  }
}
