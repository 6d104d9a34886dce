/**
 * @module Entities (resources and links) as CouchDB documents keyed by their location path, so
 * "everything below /a/b/" is a key range. Every query uses an index: the `kind-id` Mango index for
 * kind collections, the `by-mixin` view for mixin collections, `_id` ranges for paths, and the
 * `source`/`target` indexes for links.
 */
import { isDeepStrictEqual } from 'node:util';
import type { AttributeValue } from '../model/category.ts';
import type { Entity, EntityPattern } from '../model/entity.ts';
import { ConflictError, NotFoundError, OcciError, StoreUnavailableError } from '../errors.ts';
import { commonAncestor, keepsChange, mergeLeaf } from './conflicts.ts';
import { CouchStatusError, StoreTimeoutError, type CouchClient } from './couch.ts';
import { filterSelector, matchesFilter } from './entity-filter.ts';
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

/** Which entities a listing covers. */
export type ListScope = { kinds: string[] } | { mixin: string } | { below: string };

/** A listing request. */
export interface ListQuery {
  scope: ListScope;
  /** Only this tenant's entities (a user's listing); undefined lists every tenant (operators). */
  owner?: string;
  patterns: EntityPattern[];
  skip: number;
  limit: number;
}

interface BulkResult {
  id: string;
  rev?: string;
  error?: string;
  reason?: string;
}

const BATCH = 500;
const KIND_INDEX = ['ocni-mango', 'kind-id'];
const OWNER_KIND_INDEX = ['ocni-mango', 'owner-kind-id'];
const OWNER_ID_INDEX = ['ocni-mango', 'owner-id'];
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

/** The entity of a document. */
export function fromDoc(doc: EntityDoc): Entity {
  const entity: Entity = { location: doc._id, kind: doc.kind, mixins: doc.mixins ?? [], attributes: doc.attributes ?? {} };
  if (doc._rev) entity.rev = doc._rev;
  for (const member of ['title', 'summary', 'source', 'target', 'targetKind', 'sourceKind', 'ref', 'owner'] as const) if (doc[member] !== undefined) entity[member] = doc[member];
  if (doc.links && doc.links.length > 0) entity.linkLocations = doc.links;
  return entity;
}

/** A single pattern's `_id` condition merges into the index condition instead of replacing it. */
function idCondition(patterns: EntityPattern[]): Record<string, unknown> {
  if (patterns.length !== 1) return {};
  const selector = filterSelector(patterns);
  return typeof selector._id === 'object' && selector._id !== null ? (selector._id as Record<string, unknown>) : {};
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
      const leaves = (await this.client.request<{ ok?: EntityDoc & { _revisions?: { start: number; ids: string[] } } }[]>({
        db: this.db,
        path: encodeURIComponent(location),
        qs: { open_revs: 'all', revs: true },
      }))
        .flatMap((l) => (l.ok && !l.ok._deleted ? [l.ok] : []));
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
   * Creates entities all or nothing: when any location is taken (or lost to a concurrent writer),
   * those created are deleted again and the whole request fails.
   *
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
    if (!failed) return entities.map((e, i) => ({ ...e, rev: results[i]!.rev! }));
    const undo = results.filter((r) => r.rev && !r.error).map((r) => ({ _id: r.id, _rev: r.rev!, _deleted: true }));
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
      if (written.length > 0) await this.client.request({ db: this.db, method: 'post', path: '_bulk_docs', body: { docs: written.map((r) => ({ _id: r.key, _rev: r.value!.rev, _deleted: true })) } });
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
      const before = base ?? (await this.#revision(entity.location, entity.rev ?? '').catch(() => undefined).then((d) => (d ? fromDoc(d) : undefined)));
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
        path: '_design/ocni/_view/link-ends',
        qs: { include_docs: true },
        body: { keys: keys.slice(i, i + BATCH) },
      });
      for (const row of page.rows) if (row.doc) out.set(row.doc._id, fromDoc(row.doc));
    }
    return [...out.values()];
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
   * Entities changed meanwhile are read again and deleted at their new revision.
   */
  async deleteWithLinks(entities: Entity[]): Promise<Entity[]> {
    const doomed = new Map(entities.map((e) => [e.location, e]));
    for (const link of await this.linksTouching(entities.filter((e) => e.source === undefined).map((e) => e.location))) doomed.set(link.location, link);
    let pending = [...doomed.values()];
    for (let attempt = 0; pending.length > 0 && attempt < MAX_RETRIES; attempt += 1) {
      const results = await this.client.request<BulkResult[]>({
        db: this.db,
        method: 'post',
        path: '_bulk_docs',
        body: { docs: pending.map((e) => ({ _id: e.location, _rev: e.rev, _deleted: true })) },
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
   * Lists the entities of a scope that match the filter, `skip` and `limit` applied in `_id` order.
   *
   * @returns the page and whether more follow
   */
  async list(query: ListQuery): Promise<{ entities: Entity[]; more: boolean }> {
    const want = query.skip + query.limit + 1;
    let docs: EntityDoc[];
    if ('kinds' in query.scope) {
      const kind = query.scope.kinds.length === 1 ? query.scope.kinds[0] : { $in: query.scope.kinds };
      const owned = query.owner !== undefined;
      const found = await this.client.request<{ docs: EntityDoc[] }>({
        db: this.db,
        method: 'post',
        path: '_find',
        body: {
          // Naming every field of the index lets every Mango planner (PouchDB's too) pick it; the
          // tenant is part of the index, not a filter after reading.
          selector: { ...filterSelector(query.patterns), ...(owned ? { owner: query.owner } : {}), kind, _id: { $gt: null, ...idCondition(query.patterns) } },
          sort: owned ? [{ owner: 'asc' }, { kind: 'asc' }, { _id: 'asc' }] : [{ kind: 'asc' }, { _id: 'asc' }],
          skip: query.skip,
          limit: query.limit + 1,
          use_index: owned ? OWNER_KIND_INDEX : KIND_INDEX,
        },
      });
      docs = found.docs;
    } else if ('below' in query.scope && query.owner !== undefined) {
      const found = await this.client.request<{ docs: EntityDoc[] }>({
        db: this.db,
        method: 'post',
        path: '_find',
        body: {
          selector: { ...filterSelector(query.patterns), owner: query.owner, _id: { $gte: query.scope.below, $lt: `${query.scope.below}\ufff0`, ...idCondition(query.patterns) } },
          sort: [{ owner: 'asc' }, { _id: 'asc' }],
          skip: query.skip,
          limit: query.limit + 1,
          use_index: OWNER_ID_INDEX,
        },
      });
      docs = found.docs;
    } else {
      docs = await this.#scan(query.scope, query.owner, query.patterns, want);
      docs = docs.slice(query.skip);
    }
    const more = docs.length > query.limit;
    return { entities: docs.slice(0, query.limit).map(fromDoc), more };
  }

  /** Every entity of a scope that matches (for collection-wide operations), bounded by `max`. */
  async all(scope: ListScope, patterns: EntityPattern[], max: number, owner?: string): Promise<Entity[]> {
    const { entities, more } = await this.list({ scope, patterns, skip: 0, limit: max, ...(owner !== undefined ? { owner } : {}) });
    if (more) throw new OcciError('payload-too-large', `the operation would touch more than ${max} entities; narrow it with a filter`);
    return entities;
  }

  /** Walks a view or key range in batches, keeping matching entity documents, until `want` are found. */
  async #scan(scope: { mixin: string } | { below: string }, owner: string | undefined, patterns: EntityPattern[], want: number): Promise<EntityDoc[]> {
    const out: EntityDoc[] = [];
    // The by-mixin view is keyed [mixin, owner, id]: a tenant's members are one key range.
    const mixinStart = owner === undefined ? [('mixin' in scope ? scope.mixin : '')] : ['mixin' in scope ? scope.mixin : '', owner];
    let startkey: unknown = 'mixin' in scope ? mixinStart : scope.below;
    const endkey: unknown = 'mixin' in scope ? [...mixinStart, {}] : `${scope.below}\ufff0`;
    let skipFirst = false;
    for (;;) {
      const page = await this.client.request<{ rows: { id: string; key: unknown; doc?: EntityDoc }[] }>({
        db: this.db,
        path: 'mixin' in scope ? '_design/ocni/_view/by-mixin' : '_all_docs',
        qs: { startkey, endkey, include_docs: true, limit: BATCH + (skipFirst ? 1 : 0) },
      });
      const rows = skipFirst ? page.rows.slice(1) : page.rows;
      for (const row of rows) {
        if (row.doc?.type === 'entity' && matchesFilter(row.doc, patterns)) out.push(row.doc);
        if (out.length >= want) return out;
      }
      if (rows.length < BATCH) return out;
      startkey = rows[rows.length - 1]!.key;
      skipFirst = true;
    }
  }

  /** True when at least one entity has one of these kinds (uses the `kind-id` index). */
  async anyOfKinds(kindIds: string[]): Promise<boolean> {
    // One $eq query per kind: $in is a full scan on some Mango planners.
    for (const kind of kindIds) {
      const found = await this.client.request<{ docs: unknown[] }>({
        db: this.db,
        method: 'post',
        path: '_find',
        body: { selector: { kind, _id: { $gt: null } }, fields: ['_id'], limit: 1, use_index: KIND_INDEX },
      });
      if (found.docs.length > 0) return true;
    }
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
      const found = await this.client.request<{ docs: EntityDoc[] }>({
        db: this.db,
        method: 'post',
        path: '_find',
        body: { selector: { kind: kindId, _id: { $gt: null } }, limit: BATCH, use_index: KIND_INDEX },
      });
      if (found.docs.length === 0) return total;
      total += (await this.deleteWithLinks(found.docs.map(fromDoc))).length;
    }
  }

  /**
   * One page of a kind's entities (the `kind-id` index, after the cursor's `_id`) or of a mixin's
   * members (the `by-mixin` view, after the cursor's key): each page costs what it returns. The
   * answer's cursor is absent only after an empty page.
   */
  async scanScope(scope: CategoryScope, cursor: string | undefined, limit: number): Promise<{ entities: Entity[]; cursor?: string }> {
    if ('kind' in scope) {
      const found = await this.client.request<{ docs: EntityDoc[] }>({
        db: this.db,
        method: 'post',
        path: '_find',
        body: { selector: { kind: scope.kind, _id: cursor === undefined ? { $gt: null } : { $gt: cursor } }, sort: [{ kind: 'asc' }, { _id: 'asc' }], limit, use_index: KIND_INDEX },
      });
      // Some Mango planners (PouchDB's) count the cursor's own row against the limit and return
      // one fewer: only an empty page ends the walk.
      const last = found.docs[found.docs.length - 1];
      return { entities: found.docs.map(fromDoc), ...(last ? { cursor: last._id } : {}) };
    }
    const page = await this.client.request<{ rows: { id: string; key: unknown; doc?: EntityDoc }[] }>({
      db: this.db,
      path: '_design/ocni/_view/by-mixin',
      qs: { startkey: cursor === undefined ? [scope.mixin] : JSON.parse(cursor), endkey: [scope.mixin, {}], include_docs: true, limit, ...(cursor === undefined ? {} : { skip: 1 }) },
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
   * another writer changed meanwhile; returns how many were changed.
   */
  async dissociateEverywhere(mixinId: string): Promise<number> {
    let total = 0;
    for (let attempt = 0; attempt < 1000; attempt += 1) {
      // Every tenant's members: the mixin itself is gone.
      const rows = await this.client.request<{ rows: { id: string; doc?: EntityDoc }[] }>({
        db: this.db,
        path: '_design/ocni/_view/by-mixin',
        qs: { startkey: [mixinId], endkey: [mixinId, {}], include_docs: true, limit: BATCH },
      });
      if (rows.rows.length === 0) return total;
      const docs = rows.rows.flatMap((r) => (r.doc ? [{ ...r.doc, mixins: r.doc.mixins.filter((m) => m !== mixinId) }] : []));
      const results = await this.client.request<BulkResult[]>({ db: this.db, method: 'post', path: '_bulk_docs', body: { docs } });
      total += results.filter((r) => !r.error).length;
    }
    return total;
  }
}
