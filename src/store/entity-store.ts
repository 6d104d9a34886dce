/**
 * @module Entities (resources and links) as CouchDB documents keyed by their location path, so
 * "everything below /a/b/" is a key range. Every listing and filter reads key ranges of the generic
 * view (`entity-views.ts`, planned by `entity-query.ts`) that hold only the entities it returns (or,
 * for several conditions, those of its most selective one); links come from the `link-ends` view.
 */
import { isDeepStrictEqual } from 'node:util';
import type { AttributeValue } from '../model/category.ts';
import type { Entity, EntityPattern } from '../model/entity.ts';
import { ConflictError, NotFoundError, OcciError, StoreUnavailableError } from '../errors.ts';
import { commonAncestor, keepsChange, mergeLeaf } from './conflicts.ts';
import { CouchStatusError, StoreTimeoutError, type CouchClient } from './couch.ts';
import { conflictsResolved } from '../metrics.ts';
import { matchesPattern } from './entity-filter.ts';
import { decodeContinuation, encodeContinuation, normalizePattern, planStreams, type ListScope, type Stream } from './entity-query.ts';
import { MEMBER_FIELD, VIEWS } from './entity-views.ts';

export type { ListScope } from './entity-query.ts';
import type { CategoryScope } from '../registry/persistence.ts';

/** An entity as stored: the envelope (`_id` = location path, `_rev` = ETag) and its OCCI data. */
export interface EntityDoc {
  _id: string;
  _rev?: string;
  _deleted?: boolean;
  type: 'entity';
  kind: string;
  mixins: string[];
  attributes: Record<string, AttributeValue>;
  title?: string;
  summary?: string;
  source?: string;
  target?: string;
  targetKind?: string;
  sourceKind?: string;
  ref?: string;
  owner?: string;
  /** A resource's outgoing links, by location. */
  links?: string[];
}

/** A listing request. */
export interface ListQuery {
  scope: ListScope;
  /** Only this tenant's entities (a user's listing); undefined lists every tenant (operators). */
  owner?: string;
  patterns: EntityPattern[];
  /** Matches to pass over first (`?page=`); ignored with `after`. */
  skip: number;
  limit: number;
  /** Where the previous page ended (the token of its `next` link): the page starts right after it. */
  after?: string;
}

/** A page of a listing. */
export interface ListPage {
  entities: Entity[];
  more: boolean;
  /** When more follow: the continuation token of the next page. */
  next?: string;
}

interface ViewRow {
  id: string;
  key: unknown;
  doc?: EntityDoc | null;
}

interface BulkResult {
  id: string;
  rev?: string;
  error?: string;
  reason?: string;
}

const BATCH = 500;
/** Most rows one listing request asks for: a whole page of the largest size in one round trip. */
const PAGE_BATCH = 2001;
/** Rows passed over per request when a page is asked for by number and rows need not be read. */
const SKIP_BATCH = 5000;
const MAX_RETRIES = 25;

/**
 * Waits before retrying a write that lost a race: a random pause in a window that doubles with
 * each attempt (full jitter), so that writers in different processes spread out instead of
 * colliding again in lock-step.
 */
export function backoff(attempt: number): Promise<void> {
  const window = Math.min(5 * 2 ** attempt, 250);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * window));
}

/** The document of an entity. */
export function toDoc(entity: Entity): EntityDoc {
  const doc: EntityDoc = { _id: entity.location, type: 'entity', kind: entity.kind, mixins: entity.mixins, attributes: entity.attributes };
  if (entity.rev) doc._rev = entity.rev;
  for (const member of ['title', 'summary', 'source', 'target', 'targetKind', 'sourceKind', 'ref', 'owner'] as const) if (entity[member] !== undefined) doc[member] = entity[member];
  if (entity.linkLocations && entity.linkLocations.length > 0) doc.links = entity.linkLocations;
  return doc;
}

/**
 * The tombstone of a deleted entity: CouchDB keeps a deleted document's body, so it says which
 * collections and tenant the entity left (change streams match deletions by it).
 */
export function tombstone(entity: Pick<Entity, 'location' | 'rev' | 'kind' | 'mixins' | 'owner'>): Record<string, unknown> {
  return { _id: entity.location, _rev: entity.rev, _deleted: true, type: 'entity', kind: entity.kind, mixins: entity.mixins, ...(entity.owner !== undefined ? { owner: entity.owner } : {}) };
}

/** The entity of a document. */
export function fromDoc(doc: EntityDoc): Entity {
  const entity: Entity = { location: doc._id, kind: doc.kind, mixins: doc.mixins ?? [], attributes: doc.attributes ?? {} };
  if (doc._rev) entity.rev = doc._rev;
  for (const member of ['title', 'summary', 'source', 'target', 'targetKind', 'sourceKind', 'ref', 'owner'] as const) if (doc[member] !== undefined) entity[member] = doc[member];
  if (doc.links && doc.links.length > 0) entity.linkLocations = doc.links;
  return entity;
}

/** True when a document is an entity of the scope (and of the tenant, when one is given). */
export function inScope(doc: EntityDoc, scope: ListScope, owner: string | undefined): boolean {
  if (owner !== undefined && doc.owner !== owner) return false;
  if ('mixin' in scope) return (doc.mixins ?? []).includes(scope.mixin);
  if ('below' in scope) return doc._id.startsWith(scope.below);
  return scope.kinds.includes(doc.kind);
}

/** What a read-modify-write does: return the new entity, or throw to abandon. */
export type Mutation = (current: Entity) => Entity | Promise<Entity>;

/** Reads and writes the entities database. */
export class EntityStore {
  constructor(
    private readonly client: CouchClient,
    readonly db: string,
  ) {}

  /**
   * One entity by location, or undefined. Read with `conflicts=true`: an entity a cluster left with
   * conflicting revisions is merged (and the merge written) before anyone sees or changes it.
   */
  async get(location: string): Promise<Entity | undefined> {
    const doc = await this.#read(location);
    if (doc?._conflicts && doc._conflicts.length > 0) {
      const resolved = await this.#resolve(location);
      return resolved ? fromDoc(resolved) : undefined;
    }
    return doc?.type === 'entity' ? fromDoc(doc) : undefined;
  }

  async #read(location: string): Promise<(EntityDoc & { _conflicts?: string[] }) | undefined> {
    try {
      return await this.client.request<EntityDoc & { _conflicts?: string[] }>({ db: this.db, path: encodeURIComponent(location), qs: { conflicts: true } });
    } catch (err) {
      if (err instanceof CouchStatusError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  /**
   * Makes a document with conflicting leaves one again: the winning leaf CouchDB shows gets what
   * each losing leaf changed (see `conflicts.ts`), then the losers are deleted.
   * Every process computes the same merge, so resolving twice at once is harmless (the second
   * writer's conflict makes it read again).
   *
   * @returns the resolved document, or undefined when none is left
   */
  async #resolve(location: string): Promise<EntityDoc | undefined> {
    for (let attempt = 0; attempt < MAX_RETRIES; attempt += 1) {
      const shown = await this.#read(location);
      if (!shown || shown.type !== 'entity') return undefined;
      if (!shown._conflicts || shown._conflicts.length === 0) return shown;
      // Every leaf with its history (`open_revs=all`, `revs=true`), to find the revision they share.
      const leaves = (
        await this.client.request<{ ok?: EntityDoc & { _revisions?: { start: number; ids: string[] } } }[]>({
          db: this.db,
          path: encodeURIComponent(location),
          qs: { open_revs: 'all', revs: true },
        })
      ).flatMap((l) => (l.ok && !l.ok._deleted ? [l.ok] : []));
      const winner = leaves.find((l) => l._rev === shown._rev);
      if (!winner) continue;
      const losers = leaves.filter((l) => l._rev !== winner._rev).sort((a, b) => (a._rev! < b._rev! ? -1 : 1));
      let merged: EntityDoc = { ...winner };
      for (const loser of losers) {
        const ancestor = commonAncestor(winner._revisions, loser._revisions);
        const base = ancestor ? await this.#revision(location, ancestor) : undefined;
        merged = mergeLeaf(base, merged, loser);
      }
      delete (merged as { _revisions?: unknown })._revisions;
      // The merge first, then the losers: should this stop halfway, the losers are still there to
      // be merged again (the merge is idempotent), and no change is lost.
      try {
        await this.client.request({ db: this.db, method: 'put', path: encodeURIComponent(location), body: { ...merged, _rev: winner._rev } });
      } catch (err) {
        // Another resolver or writer got there first: read again.
        if (err instanceof CouchStatusError && err.statusCode === 409) continue;
        throw err;
      }
      await this.client.request<BulkResult[]>({ db: this.db, method: 'post', path: '_bulk_docs', body: { docs: losers.map((l) => ({ _id: location, _rev: l._rev!, _deleted: true })) } });
      conflictsResolved.inc({ database: 'entities' }, losers.length);
      // Read again: done only when no conflicting leaf is left (a rival write may have added one,
      // or this write may have been refused or only accepted).
    }
    throw new StoreUnavailableError(`the conflicting revisions of ${location} could not be resolved; try again`);
  }

  /** A past revision's body, or undefined once compaction removed it. */
  async #revision(location: string, rev: string): Promise<EntityDoc | undefined> {
    try {
      return await this.client.request<EntityDoc>({ db: this.db, path: encodeURIComponent(location), qs: { rev } });
    } catch (err) {
      if (err instanceof CouchStatusError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  /** Several entities by location (one `_all_docs` request by keys). */
  async getMany(locations: string[]): Promise<Map<string, Entity>> {
    const out = new Map<string, Entity>();
    if (locations.length === 0) return out;
    const page = await this.client.request<{ rows: { key: string; doc?: EntityDoc | null }[] }>({
      db: this.db,
      method: 'post',
      path: '_all_docs',
      qs: { include_docs: true },
      body: { keys: [...new Set(locations)] },
    });
    for (const row of page.rows) if (row.doc && row.doc.type === 'entity') out.set(row.key, fromDoc(row.doc));
    return out;
  }

  /**
   * Documents by location as stored, each with its conflicting revisions listed (`conflicts=true`),
   * for a reader that resolves them (the read cache); absent locations are left out.
   */
  async docsWithConflicts(locations: string[]): Promise<Map<string, EntityDoc & { _conflicts?: string[] }>> {
    const out = new Map<string, EntityDoc & { _conflicts?: string[] }>();
    if (locations.length === 0) return out;
    const page = await this.client.request<{ rows: { key: string; doc?: (EntityDoc & { _conflicts?: string[] }) | null }[] }>({
      db: this.db,
      method: 'post',
      path: '_all_docs',
      qs: { include_docs: true, conflicts: true },
      body: { keys: [...new Set(locations)] },
    });
    for (const row of page.rows) if (row.doc && row.doc.type === 'entity') out.set(row.key, row.doc);
    return out;
  }

  /**
   * Creates entities all or nothing: when any location is taken (or lost to a concurrent writer),
   * those created are deleted again and the whole request fails.
   *
   * @returns the entities given, each given its revision (they are the caller's own, just built:
   * a bulk creation does not copy a thousand entities for one member)
   * @throws ConflictError naming the location that was taken
   */
  async createMany(entities: Entity[]): Promise<Entity[]> {
    const docs = entities.map((e) => {
      const doc = toDoc(e);
      delete doc._rev;
      return doc;
    });
    let answer: { status: number; body: BulkResult[] };
    try {
      answer = await this.client.exchange<BulkResult[]>({ db: this.db, method: 'post', path: '_bulk_docs', body: { docs } });
    } catch (err) {
      if (err instanceof StoreUnavailableError) {
        // A store that did not answer in time would likely keep the client waiting as long again:
        // then the taking back goes on after the answer instead of before it.
        const undo = this.#undoUnknownCreate(docs);
        if (!(err instanceof StoreTimeoutError)) await undo;
      }
      throw err;
    }
    const results = answer.body;
    // Accepted without a quorum (202): a create at the same location on another copy may win
    // later. A create that finds such a rival yields (its revision is deleted) and fails.
    const rival = answer.status === 202 ? await this.#rivalOf(results) : undefined;
    const failed = results.find((r) => r.error) ?? (rival ? { id: rival, error: 'conflict' } : undefined);
    if (!failed) {
      entities.forEach((e, i) => (e.rev = results[i]!.rev!));
      return entities;
    }
    const byLocation = new Map(entities.map((e) => [e.location, e]));
    const undo = results.filter((r) => r.rev && !r.error).map((r) => tombstone({ ...(byLocation.get(r.id) ?? { kind: '', mixins: [] }), location: r.id, rev: r.rev! }));
    if (undo.length > 0) await this.client.request({ db: this.db, method: 'post', path: '_bulk_docs', body: { docs: undo } });
    if (failed.error === 'conflict') throw new ConflictError(`${failed.id} already exists; nothing was created`);
    throw new OcciError('bad-request', `${failed.id} could not be stored (${failed.error}: ${failed.reason ?? ''}); nothing was created`);
  }

  /**
   * After a create that failed in transit (the store may or may not have written it), takes back
   * what did get written, so that an error means nothing was created. When the store cannot even
   * be read, the client's retry with an idempotency key is what keeps it from a duplicate.
   */
  async #undoUnknownCreate(docs: EntityDoc[]): Promise<void> {
    try {
      const page = await this.client.request<{ rows: { key: string; value?: { rev: string; deleted?: boolean }; doc?: EntityDoc | null }[] }>({
        db: this.db,
        method: 'post',
        path: '_all_docs',
        qs: { include_docs: true },
        body: { keys: docs.map((d) => d._id) },
      });
      // Only what this create wrote: a first revision holding exactly our document. An entity that
      // was there before (the create would have been refused) is left alone.
      const ours = new Map(docs.map((d) => [d._id, d]));
      const written = page.rows.filter((r) => {
        if (!r.value || r.value.deleted || !r.value.rev.startsWith('1-') || !r.doc) return false;
        const { _rev: _ignored, ...body } = r.doc;
        // Compared as JSON values: the model builds attribute maps without a prototype.
        return isDeepStrictEqual(JSON.parse(JSON.stringify(body)), JSON.parse(JSON.stringify(ours.get(r.key))));
      });
      if (written.length > 0) await this.client.request({ db: this.db, method: 'post', path: '_bulk_docs', body: { docs: written.map((r) => tombstone({ ...fromDoc(r.doc!), rev: r.value!.rev })) } });
    } catch {
      // The store is away: nothing more can be done now.
    }
  }

  /** The first created document that has a conflicting revision (a rival create), if any. */
  async #rivalOf(results: BulkResult[]): Promise<string | undefined> {
    const created = results.filter((r) => r.rev && !r.error);
    if (created.length === 0) return undefined;
    const page = await this.client.request<{ rows: { key: string; doc?: { _conflicts?: string[] } | null }[] }>({
      db: this.db,
      method: 'post',
      path: '_all_docs',
      qs: { include_docs: true, conflicts: true },
      body: { keys: created.map((r) => r.id) },
    });
    const mine = new Map(created.map((r) => [r.id, r.rev!]));
    for (const row of page.rows) {
      const conflicts = row.doc?._conflicts ?? [];
      if (conflicts.length === 0) continue;
      // Our revision is a leaf among others: take it back, whichever leaf CouchDB shows.
      await this.client.request({ db: this.db, method: 'delete', path: encodeURIComponent(row.key), qs: { rev: mine.get(row.key) } }).catch(() => undefined);
      return row.key;
    }
    return undefined;
  }

  /**
   * Writes an entity at the revision it was read at (`base`, the entity as read). A write a cluster
   * only accepted (202) is not taken as done: the document is read with its conflicts, merged
   * (see `conflicts.ts`), and the write counts only when the merge still holds its change.
   *
   * @throws ConflictError when another writer changed it meanwhile, or won over it
   */
  async put(entity: Entity, base?: Entity): Promise<Entity> {
    try {
      const answer = await this.client.exchange<{ rev: string }>({ db: this.db, method: 'put', path: encodeURIComponent(entity.location), body: toDoc(entity) });
      if (answer.status !== 202) return { ...entity, rev: answer.body.rev };
      const settled = await this.#resolve(entity.location);
      const before =
        base ??
        (await this.#revision(entity.location, entity.rev ?? '')
          .catch(() => undefined)
          .then((d) => (d ? fromDoc(d) : undefined)));
      if (settled && before && keepsChange(toDoc(before), toDoc(entity), settled)) return { ...entity, ...fromDoc(settled) };
      throw new ConflictError(`${entity.location} was changed by another request at the same time`);
    } catch (err) {
      if (err instanceof CouchStatusError && err.statusCode === 409) throw new ConflictError(`${entity.location} was changed by another request at the same time`);
      throw err;
    }
  }

  /**
   * Read-modify-write that never loses a concurrent change: on a conflict the entity is read again
   * and `mutate` re-applied. With `ifMatch`, the revision must match and there is no retry (412).
   *
   * @throws NotFoundError, OcciError `precondition-failed`
   */
  async modify(location: string, mutate: Mutation, ifMatch?: string): Promise<{ before: Entity; after: Entity }> {
    for (let attempt = 0; ; attempt += 1) {
      const current = await this.get(location);
      if (!current) throw new NotFoundError(`no entity at ${location}`);
      if (ifMatch !== undefined && ifMatch !== current.rev) throw new OcciError('precondition-failed', `${location} is at revision ${current.rev ?? '?'}, not ${ifMatch}`);
      const next = await mutate(current);
      try {
        return { before: current, after: await this.put({ ...next, rev: current.rev! }, current) };
      } catch (err) {
        if (!(err instanceof ConflictError) || ifMatch !== undefined || attempt >= MAX_RETRIES) throw err;
        await backoff(attempt);
      }
    }
  }

  /** Of these locations, those where a document is still there (not deleted). */
  async #stillThere(locations: string[]): Promise<string[]> {
    if (locations.length === 0) return [];
    const page = await this.client.request<{ rows: { key: string; value?: { deleted?: boolean }; error?: string }[] }>({
      db: this.db,
      method: 'post',
      path: '_all_docs',
      body: { keys: locations },
    });
    return page.rows.filter((r) => r.value && !r.value.deleted).map((r) => r.key);
  }

  /** Links whose source or target is one of these locations (the `link-ends` view, by keys). */
  async linksTouching(locations: string[], ends: ('source' | 'target')[] = ['source', 'target']): Promise<Entity[]> {
    const out = new Map<string, Entity>();
    if (locations.length === 0) return [];
    const keys = ends.flatMap((end) => locations.map((location) => [end, location]));
    for (let i = 0; i < keys.length; i += BATCH) {
      const page = await this.client.request<{ rows: { id: string; doc?: EntityDoc | null }[] }>({
        db: this.db,
        method: 'post',
        path: VIEWS.linkEnds,
        qs: { include_docs: true },
        body: { keys: keys.slice(i, i + BATCH) },
      });
      for (const row of page.rows) if (row.doc) out.set(row.doc._id, fromDoc(row.doc));
    }
    return [...out.values()];
  }

  /** How many entities a tenant owns (the reduced count of the quota view; it exists when tenancy is on). */
  async countOwned(owner: string): Promise<number> {
    const result = await this.client.request<{ rows: { value: number }[] }>({
      db: this.db,
      path: '_design/ocni-quota/_view/by-owner',
      qs: { key: owner, reduce: true, group: false },
    });
    return result.rows[0]?.value ?? 0;
  }

  /** One entity and its outgoing links: one request, and a second only when it has links. */
  async getWithLinks(location: string): Promise<{ entity: Entity; links: Entity[] } | undefined> {
    const entity = await this.get(location);
    if (!entity) return undefined;
    return { entity, links: (await this.linksFrom([entity])).get(location) ?? [] };
  }

  /** Outgoing links of resources (from the locations each keeps), grouped by source; one request. */
  async linksFrom(resources: Entity[]): Promise<Map<string, Entity[]>> {
    const grouped = new Map<string, Entity[]>();
    const wanted = resources.flatMap((r) => r.linkLocations ?? []);
    if (wanted.length === 0) return grouped;
    for (const link of (await this.getMany(wanted)).values()) {
      if (link.source === undefined) continue;
      const list = grouped.get(link.source) ?? [];
      list.push(link);
      grouped.set(link.source, list);
    }
    for (const list of grouped.values()) list.sort((a, b) => a.location.localeCompare(b.location));
    return grouped;
  }

  /** Adds or removes link locations on a resource, re-reading it when another writer got there first. */
  async relink(resource: string, add: string[], remove: string[]): Promise<void> {
    try {
      await this.modify(resource, (current) => {
        const kept = (current.linkLocations ?? []).filter((l) => !remove.includes(l));
        return { ...current, linkLocations: [...kept, ...add.filter((l) => !kept.includes(l))].sort() };
      });
    } catch (err) {
      // A resource deleted meanwhile has no links to keep.
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  /**
   * Deletes entities and every link that starts or ends at one of them; returns what was deleted.
   * Entities changed meanwhile are read again and deleted at their new revision. `linksIncluded`:
   * the caller looked the links up already (one indexed look-up per delete, not two).
   */
  async deleteWithLinks(entities: Entity[], linksIncluded = false): Promise<Entity[]> {
    const doomed = new Map(entities.map((e) => [e.location, e]));
    if (!linksIncluded) for (const link of await this.linksTouching(entities.filter((e) => e.source === undefined).map((e) => e.location))) doomed.set(link.location, link);
    let pending = [...doomed.values()];
    for (let attempt = 0; pending.length > 0 && attempt < MAX_RETRIES; attempt += 1) {
      const results = await this.client.request<BulkResult[]>({
        db: this.db,
        method: 'post',
        path: '_bulk_docs',
        // Tombstones keep kind, mixins and owner: change streams match deletions by them.
        body: { docs: pending.map((e) => tombstone(e)) },
      });
      const conflicted = results.filter((r) => r.error === 'conflict').map((r) => r.id);
      // A conflicting leaf a cluster left behind would become the entity again once the winner is
      // deleted (CouchDB shows the remaining leaf): every leaf goes.
      const revived = await this.#stillThere(pending.map((e) => e.location).filter((l) => !conflicted.includes(l)));
      if (conflicted.length === 0 && revived.length === 0) break;
      const fresh = await this.getMany([...conflicted, ...revived]);
      pending = [...fresh.values()];
    }
    // Resources that stay forget the links that went.
    const gone = new Map<string, string[]>();
    for (const e of doomed.values()) if (e.source !== undefined && !doomed.has(e.source)) gone.set(e.source, [...(gone.get(e.source) ?? []), e.location]);
    for (const [source, links] of gone) await this.relink(source, [], links);
    return [...doomed.values()];
  }

  /**
   * Lists the entities of a scope that match the filter: the streams of the plan one after another,
   * each in key order, `skip` matches passed over (or resumed `after` a continuation), `limit` kept.
   * Every document read is checked against the scope and the whole filter, so the plan decides only
   * the cost; rows of an exact stream are passed over without reading their documents.
   */
  async list(query: ListQuery): Promise<ListPage> {
    const patterns = query.patterns.map(normalizePattern);
    const streams = planStreams(query.scope, patterns, query.owner);
    const after = query.after === undefined ? undefined : decodeContinuation(query.after);
    const keep = (doc: EntityDoc, streamIndex: number) => {
      if (doc.type !== 'entity' || !inScope(doc, query.scope, query.owner)) return false;
      if (patterns.length === 0) return true;
      // An entity several patterns match is returned by the first pattern's streams only.
      return patterns.findIndex((p) => matchesPattern(doc, p)) === streams[streamIndex]!.pattern;
    };
    const out: { doc: EntityDoc; stream: number; key: unknown }[] = [];
    let skip = after ? 0 : query.skip;
    const start = after?.stream ?? 0;
    const resume: unknown = after?.key;
    const fromOf = (i: number) => (i === start && resume !== undefined ? { key: resume, skipFirst: true } : { key: streams[i]!.startkey, skipFirst: false });
    // Several streams (sub-kinds, alternatives): their first batches are asked for at once, so a
    // listing costs one round trip more than a single kind's, not one per kind.
    const first = new Map<number, Promise<ViewRow[]>>();
    if (skip === 0 && streams.length - start > 1) {
      for (let i = start; i < streams.length; i += 1) first.set(i, this.#rows(streams[i]!, fromOf(i), Math.min(PAGE_BATCH, query.limit + 1), true));
      // Every promise is awaited below or abandoned with the listing; none may reject unobserved.
      for (const pending of first.values()) pending.catch(() => undefined);
    }
    for (let i = start; i < streams.length && out.length <= query.limit; i += 1) {
      const stream = streams[i]!;
      let from: { key: unknown; skipFirst: boolean } = fromOf(i);
      if (skip > 0 && stream.exact) {
        // The store passes over the rows itself (its `skip`, no documents read); only when the
        // range ends among them must they be counted, row keys only.
        const page = await this.#rows(stream, from, Math.min(PAGE_BATCH, query.limit + 1), true, skip);
        if (page.length > 0) {
          skip = 0;
          first.set(i, Promise.resolve(page));
        }
      }
      if (skip > 0 && stream.exact) {
        const passed = await this.#passOver(stream, from, skip);
        skip -= passed.count;
        if (passed.last === undefined) continue;
        from = { key: passed.last, skipFirst: true };
      }
      for (;;) {
        const prefetched = first.get(i);
        first.delete(i);
        const need = prefetched ? Math.min(PAGE_BATCH, query.limit + 1) : Math.min(PAGE_BATCH, skip + query.limit + 1 - out.length);
        const rows = await (prefetched ?? this.#rows(stream, from, need, true));
        for (const row of rows) {
          if (!row.doc || !keep(row.doc, i)) continue;
          if (skip > 0) skip -= 1;
          else out.push({ doc: row.doc, stream: i, key: row.key });
          if (out.length > query.limit) break;
        }
        if (rows.length < need || out.length > query.limit) break;
        from = { key: rows[rows.length - 1]!.key, skipFirst: true };
      }
    }
    const more = out.length > query.limit;
    const page = out.slice(0, query.limit);
    const last = page[page.length - 1];
    const result: ListPage = { entities: page.map((e) => fromDoc(e.doc)), more };
    // A page of zero (`?number=` is at least 1) cannot end with more, so `last` is there.
    if (more && last) result.next = encodeContinuation({ stream: last.stream, key: last.key });
    return result;
  }

  /** Up to `limit` rows of a stream from a key (exclusive with `skipFirst`: the documented `startkey` + `skip=1` continuation). */
  async #rows(stream: Stream, from: { key: unknown; skipFirst: boolean }, limit: number, docs: boolean, passOver = 0): Promise<ViewRow[]> {
    const qs: Record<string, unknown> = { startkey: from.key, endkey: stream.endkey, limit, include_docs: docs };
    if (from.skipFirst || passOver > 0) qs.skip = passOver + (from.skipFirst ? 1 : 0);
    if (stream.path !== '_all_docs') qs.reduce = false;
    const page = await this.client.request<{ rows: ViewRow[] }>({ db: this.db, path: stream.path, qs });
    return page.rows;
  }

  /** Passes over up to `count` rows of an exact stream without reading documents; returns how many and the last key. */
  async #passOver(stream: Stream, from: { key: unknown; skipFirst: boolean }, count: number): Promise<{ count: number; last?: unknown }> {
    let passed = 0;
    let last: unknown;
    let cursor = from;
    while (passed < count) {
      const want = Math.min(SKIP_BATCH, count - passed);
      const rows = await this.#rows(stream, cursor, want, false);
      passed += rows.length;
      if (rows.length > 0) last = rows[rows.length - 1]!.key;
      if (rows.length < want) return { count: passed };
      cursor = { key: last, skipFirst: true };
    }
    return { count: passed, last };
  }

  /** Every entity of a scope that matches (for collection-wide operations), bounded by `max`. */
  async all(scope: ListScope, patterns: EntityPattern[], max: number, owner?: string): Promise<Entity[]> {
    const { entities, more } = await this.list({ scope, patterns, skip: 0, limit: max, ...(owner !== undefined ? { owner } : {}) });
    if (more) throw new OcciError('payload-too-large', `the operation would touch more than ${max} entities; narrow it with a filter`);
    return entities;
  }

  /**
   * Rows of one range of the generic view, every tenant: a mixin's members (field `""`), or the
   * entities of exactly one kind (field `i`, which every entity has once, under its own kind only;
   * a root kind's membership rows would hold its sub-kinds too).
   */
  async #range(collection: string, field: '' | 'i', limit: number, docs: boolean): Promise<ViewRow[]> {
    const page = await this.client.request<{ rows: ViewRow[] }>({
      db: this.db,
      path: VIEWS.entities,
      qs: { startkey: [collection, field], endkey: [collection, field, {}], limit, include_docs: docs, reduce: false },
    });
    return page.rows;
  }

  /** True when at least one entity has one of these kinds (one index row per kind at most). */
  async anyOfKinds(kindIds: string[]): Promise<boolean> {
    for (const kind of kindIds) if ((await this.#range(kind, 'i', 1, false)).length > 0) return true;
    return false;
  }

  /** True when an entity lives at or below `path` (an `_id` key range, at most one row). */
  async anyBelow(path: string): Promise<boolean> {
    const base = path.endsWith('/') ? path.slice(0, -1) : path;
    const page = await this.client.request<{ rows: unknown[] }>({ db: this.db, path: '_all_docs', qs: { startkey: base, endkey: `${base}/\ufff0`, limit: 1 } });
    return page.rows.length > 0;
  }

  /** Deletes every entity of a kind, with their links, batch by batch; returns how many. */
  async deleteOfKind(kindId: string): Promise<number> {
    let total = 0;
    for (;;) {
      const docs = (await this.#range(kindId, 'i', BATCH, true)).flatMap((row) => (row.doc ? [row.doc] : []));
      if (docs.length === 0) return total;
      total += (await this.deleteWithLinks(docs.map(fromDoc))).length;
    }
  }

  /**
   * One page of a kind's own entities (its `i` rows of the generic view) or of a mixin's members
   * (its membership rows), after the cursor's key: each page costs what it returns. The answer's
   * cursor is absent only after an empty page.
   */
  async scanScope(scope: CategoryScope, cursor: string | undefined, limit: number): Promise<{ entities: Entity[]; cursor?: string }> {
    const [collection, field] = 'kind' in scope ? [scope.kind, 'i'] : [scope.mixin, ''];
    const page = await this.client.request<{ rows: ViewRow[] }>({
      db: this.db,
      path: VIEWS.entities,
      qs: {
        startkey: cursor === undefined ? [collection, field] : JSON.parse(cursor),
        endkey: [collection, field, {}],
        limit,
        include_docs: true,
        reduce: false,
        ...(cursor === undefined ? {} : { skip: 1 }),
      },
    });
    const last = page.rows[page.rows.length - 1];
    const entities = page.rows.flatMap((r) => (r.doc?.type === 'entity' ? [fromDoc(r.doc)] : []));
    return { entities, ...(last ? { cursor: JSON.stringify(last.key) } : {}) };
  }

  /**
   * Writes `transform(entity)` for every entity it changes, in one bulk request at the revisions
   * read; those another writer changed meanwhile are read again and transformed again.
   */
  async rewrite(entities: Entity[], transform: (entity: Entity) => Entity): Promise<number> {
    let pending = entities;
    let written = 0;
    for (let attempt = 0; pending.length > 0 && attempt < MAX_RETRIES; attempt += 1) {
      const changed = pending.map((e) => ({ before: e, after: transform(e) })).filter(({ before, after }) => after !== before && JSON.stringify(toDoc(after)) !== JSON.stringify(toDoc(before)));
      if (changed.length === 0) break;
      const results = await this.client.request<BulkResult[]>({ db: this.db, method: 'post', path: '_bulk_docs', body: { docs: changed.map(({ after }) => toDoc(after)) } });
      written += results.filter((r) => !r.error).length;
      const conflicted = results.filter((r) => r.error === 'conflict').map((r) => r.id);
      pending = conflicted.length > 0 ? [...(await this.getMany(conflicted)).values()] : [];
    }
    return written;
  }

  /**
   * Removes a mixin from every entity that carries it (the `by-mixin` view), re-reading documents
   * Removes a mixin from every entity that carries it (its membership rows), re-reading documents
   * another writer changed meanwhile; returns how many were changed.
   */
  async dissociateEverywhere(mixinId: string): Promise<number> {
    let total = 0;
    for (let attempt = 0; attempt < 1000; attempt += 1) {
      // Every tenant's members: the mixin itself is gone.
      const rows = await this.#range(mixinId, '', BATCH, true);
      if (rows.length === 0) return total;
      const docs = rows.flatMap((r) => (r.doc?.mixins?.includes(mixinId) ? [{ ...r.doc, mixins: r.doc.mixins.filter((m) => m !== mixinId) }] : []));
      const results = await this.client.request<BulkResult[]>({ db: this.db, method: 'post', path: '_bulk_docs', body: { docs } });
      total += results.filter((r) => !r.error).length;
    }
    return total;
  }

  /**
   * The locations of a mixin's members (of one tenant, or every tenant): the membership rows of the
   * generic view (`[mixin, "", null, _id]`, or with the owner in front in the tenants' view), keys only.
   */
  async memberLocations(mixinId: string, owner?: string): Promise<string[]> {
    const prefix = owner === undefined ? [mixinId, MEMBER_FIELD, null] : [owner, mixinId, MEMBER_FIELD, null];
    const out: string[] = [];
    let startkey: unknown = prefix;
    let skip = 0;
    for (;;) {
      const page = await this.client.request<{ rows: { id: string; key: unknown }[] }>({
        db: this.db,
        path: owner === undefined ? VIEWS.entities : VIEWS.owned,
        qs: { startkey, endkey: [...prefix, {}], limit: BATCH, skip },
      });
      for (const row of page.rows) out.push(row.id);
      if (page.rows.length < BATCH) return out;
      startkey = page.rows[page.rows.length - 1]!.key;
      skip = 1;
    }
  }
}
