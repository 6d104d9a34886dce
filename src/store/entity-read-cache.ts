/**
 * @module A coherent in-process cache for reading one entity (GET of a resource or link), the
 * Kubernetes watch-cache model: reads come from memory; this process's own writes invalidate what
 * they touch before and after they reach the store, so it reads its own writes at once; other
 * processes' writes arrive through the entities changes feed (the process's one shared follower)
 * and invalidate too, so every process converges within the feed's latency. What it holds is what
 * a store read gave (conflicts resolved, deletions gone): it is filled only from store reads, and
 * a fill that raced with an invalidation of the same entity is dropped. While the feed fails it
 * serves nothing (and forgets everything): it cannot know what changed meanwhile.
 *
 * Writes never read from it: revisions, `If-Match` and conflict handling stay with the store.
 */
import type { Entity } from '../model/entity.ts';
import type { ChangesFollower } from './changes-follower.ts';
import type { CouchAnswer, CouchClient, CouchRequest } from './couch.ts';
import { fromDoc, toDoc, type EntityDoc, type EntityStore } from './entity-store.ts';

/** Bounds of the cache: entries and bytes (each entry's stored JSON, in UTF-16 code units × 2). */
export interface ReadCacheLimits {
  /** Most entities held; 0 turns the cache off. */
  entities: number;
  /** Most bytes held, as the cached documents' JSON. */
  bytes: number;
}

/** Fixed overhead charged per entry besides its JSON (map slot, strings' headers). */
const ENTRY_OVERHEAD = 96;
/** Invalidations remembered for fills in flight; beyond, every fill started earlier is dropped. */
const RECENT_MAX = 10_000;

interface Entry {
  json: string;
  bytes: number;
}

/** The document ids a request writes in `db`, or undefined for a read. */
export function writtenIds(req: CouchRequest, db: string): string[] | undefined {
  const method = req.method ?? 'get';
  if (method === 'get' || method === 'head' || req.db !== db) return undefined;
  const path = req.path ?? '';
  if ((method === 'put' || method === 'delete') && path !== '' && !path.startsWith('_')) return [decodeURIComponent(path)];
  if (method === 'post' && path === '_bulk_docs') {
    const docs = (req.body as { docs?: { _id?: unknown }[] } | undefined)?.docs ?? [];
    return docs.flatMap((d) => (typeof d._id === 'string' ? [d._id] : []));
  }
  // Other POSTs on the database (`_find`, `_all_docs` with keys, views) read.
  return undefined;
}

/** What a write observer is told. */
export interface WriteObserver {
  /** The documents a write touches, before it is sent and once it settled (whatever the outcome: a write that timed out may still have happened). */
  touched(ids: string[]): void;
  /** A write the store answered (successfully or not, document by document). */
  answered?(req: CouchRequest, answer: CouchAnswer<unknown>): void;
  /** A write about to be sent; the returned function is called once it settled, after `answered`. */
  writing?(ids: string[]): () => void;
}

/** A client for the entity store that tells `observer` of every write to `db`. */
export function observeWrites(client: CouchClient, db: string, observer: WriteObserver): CouchClient {
  const exchange: CouchClient['exchange'] = async <T>(req: CouchRequest) => {
    const ids = writtenIds(req, db);
    if (!ids || ids.length === 0) return client.exchange<T>(req);
    observer.touched(ids);
    const settled = observer.writing?.(ids);
    try {
      const answer = await client.exchange<T>(req);
      observer.answered?.(req, answer);
      return answer;
    } finally {
      observer.touched(ids);
      settled?.();
    }
  };
  const request: CouchClient['request'] = async (req) => (await exchange(req)).body as never;
  // Private fields do not cross a Proxy's `this`: every other member is bound to the client itself.
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'exchange') return exchange;
      if (prop === 'request') return request;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Counters of the cache, for metrics and tests. */
export interface ReadCacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
}

/** The read cache of one entity store. */
export class EntityReadCache {
  /** Least recently used first (a Map keeps insertion order; a hit re-inserts). */
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  /** Invalidation counter, and the last invalidation of recently invalidated locations. */
  #epoch = 0;
  readonly #recent = new Map<string, number>();
  /** Fills started before this epoch are dropped (the recent list overflowed). */
  #floor = 0;
  #inFlight = 0;
  #live = false;
  #unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: EntityStore,
    private readonly follower: ChangesFollower<EntityDoc>,
    private readonly limits: ReadCacheLimits,
  ) {}

  /** Follows the changes feed; until it knows its position, every read goes to the store. */
  async start(): Promise<void> {
    if (this.limits.entities <= 0 || this.#unsubscribe) return;
    // Forgetting goes by id: the feed need not read any document for it.
    this.#unsubscribe = await this.follower.subscribe((change) => this.invalidate([change.id]), 'none');
    this.#live = true;
  }

  /** Stops following and forgets everything. */
  stop(): void {
    this.#live = false;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.clear();
  }

  /** Forgets the entities at these locations, and any fill of them now in flight. */
  invalidate(locations: string[]): void {
    this.#epoch += 1;
    // Only a fill in flight can race with this invalidation: with none, every later fill starts
    // after it (at this epoch or a later one), so there is nothing to remember (a bulk write
    // invalidates thousands of locations, twice, and the feed each of them once more).
    const remember = this.#inFlight > 0;
    for (const location of locations) {
      this.#drop(location);
      if (remember) this.#recent.set(location, this.#epoch);
    }
    if (this.#recent.size > RECENT_MAX) {
      this.#recent.clear();
      this.#floor = this.#epoch;
    }
  }

  /** Forgets everything. */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
    this.invalidate([]);
    this.#floor = this.#epoch;
  }

  get stats(): ReadCacheStats {
    return { entries: this.#entries.size, bytes: this.#bytes, hits: this.#hits, misses: this.#misses };
  }

  /**
   * One entity, as a store read gives it; `fresh` reads the store (and refreshes the cache).
   * Each call returns its own copy: callers may change what they get.
   */
  async get(location: string, fresh = false): Promise<Entity | undefined> {
    if (!this.#serving()) return this.store.get(location);
    const entry = fresh ? undefined : this.#entries.get(location);
    if (entry) {
      this.#hits += 1;
      // Most recently used goes last.
      this.#entries.delete(location);
      this.#entries.set(location, entry);
      return fromDoc(JSON.parse(entry.json) as EntityDoc);
    }
    this.#misses += 1;
    const started = this.#epoch;
    this.#inFlight += 1;
    try {
      const entity = await this.store.get(location);
      if (entity && this.#mayFill(location, started)) this.#fill(location, JSON.stringify(toDoc(entity)));
      return entity;
    } finally {
      this.#inFlight -= 1;
      // Nothing in flight: no fill can race with what was invalidated so far.
      if (this.#inFlight === 0) this.#recent.clear();
    }
  }

  /**
   * Entities by location (absent ones left out), from memory where held; the others in one store
   * request, filling the cache (an entity with conflicting revisions is read alone, which resolves them).
   */
  async getMany(locations: string[]): Promise<Map<string, Entity>> {
    if (!this.#serving()) return this.store.getMany(locations);
    const out = new Map<string, Entity>();
    const misses: string[] = [];
    for (const location of locations) {
      const entry = this.#entries.get(location);
      if (!entry) {
        misses.push(location);
        continue;
      }
      this.#hits += 1;
      this.#entries.delete(location);
      this.#entries.set(location, entry);
      out.set(location, fromDoc(JSON.parse(entry.json) as EntityDoc));
    }
    if (misses.length === 0) return out;
    this.#misses += misses.length;
    const started = this.#epoch;
    this.#inFlight += 1;
    try {
      const docs = await this.store.docsWithConflicts(misses);
      for (const [location, doc] of docs) {
        if (doc._conflicts && doc._conflicts.length > 0) {
          const resolved = await this.store.get(location);
          if (resolved) out.set(location, resolved);
          continue;
        }
        delete doc._conflicts;
        const entity = fromDoc(doc);
        if (this.#mayFill(location, started)) this.#fill(location, JSON.stringify(toDoc(entity)));
        out.set(location, entity);
      }
      return out;
    } finally {
      this.#inFlight -= 1;
      if (this.#inFlight === 0) this.#recent.clear();
    }
  }

  /** An entity with its outgoing links (what `EntityStore.getWithLinks` gives), from the cache where it can. */
  async getWithLinks(location: string, fresh = false): Promise<{ entity: Entity; links: Entity[] } | undefined> {
    const entity = await this.get(location, fresh);
    if (!entity) return undefined;
    const found = await Promise.all((entity.linkLocations ?? []).map((l) => this.get(l, fresh)));
    const links = found.filter((l): l is Entity => l !== undefined && l.source === location);
    links.sort((a, b) => a.location.localeCompare(b.location));
    return { entity, links };
  }

  /** Serving only while the feed follows: a failing feed may be missing other processes' writes. */
  #serving(): boolean {
    if (!this.#live) return false;
    if (this.follower.running && this.follower.state.isCurrent(0)) return true;
    if (this.#entries.size > 0) this.clear();
    return false;
  }

  #mayFill(location: string, started: number): boolean {
    if (started < this.#floor) return false;
    const at = this.#recent.get(location);
    return at === undefined || at <= started;
  }

  #fill(location: string, json: string): void {
    const bytes = json.length * 2 + location.length * 2 + ENTRY_OVERHEAD;
    if (bytes > this.limits.bytes) return;
    this.#drop(location);
    this.#entries.set(location, { json, bytes });
    this.#bytes += bytes;
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.limits.entities && this.#bytes <= this.limits.bytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes;
    }
  }

  #drop(location: string): void {
    const entry = this.#entries.get(location);
    if (!entry) return;
    this.#entries.delete(location);
    this.#bytes -= entry.bytes;
  }
}
