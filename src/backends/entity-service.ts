/**
 * @module Entity operations as the OCCI verb table defines them, on the local store: validation
 * through the model, persistence through the entity store, actions through the infrastructure state
 * machines. Request-level rules live here (all-or-nothing batches, link ends, mixin membership);
 * HTTP details do not.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { INTERFACE_ATTRIBUTE, interfaceName, localMac, MAC_ATTRIBUTE, NETWORKINTERFACE_KIND } from '../model/server-assigned.ts';
import { attributeText, categoryId, ENTITY_KIND, hasId, type AttributeValue, type Kind, type Mixin } from '../model/category.ts';
import {
  applyActionLocally,
  applyPartialUpdate,
  applyReplace,
  buildEntity,
  checkCategories,
  checkId,
  idOf,
  isLinkKind,
  liftCoreAttributes,
  resolveAction,
  type ActionInvocation,
  type CategoryLookup,
  type Entity,
  type EntityInput,
  type EntityPattern,
} from '../model/entity.ts';
import { isReservedPath, parentPath, toPath } from '../model/location.ts';
import { normaliseLinkEnd, ownUrlTest, type OwnUrlTest } from '../model/link-ends.ts';
import { currentView } from '../model/entity-view.ts';
import { BatchLookup } from '../model/batch-lookup.ts';
import { ConflictError, ForbiddenError, NotFoundError, OcciError, ValidationError, type FieldProblem } from '../errors.ts';
import type { EntityItem } from '../render/occi-json/entities.ts';
import type { CategoryRegistry } from '../registry/registry.ts';
import { backoff, type EntityStore, type ListPage, type ListQuery, type ListScope } from '../store/entity-store.ts';
import type { EntityReadCache } from '../store/entity-read-cache.ts';
import type { MemberIndex } from '../store/member-index.ts';
import { listFromMemory } from '../store/memory-listing.ts';
import { KeyedLock } from './keyed-lock.ts';
import { withOutcome, type Backend, type BackendContext, type BackendOutcome } from './backend.ts';
import { ANONYMOUS_OPERATOR, canChange, type Principal } from '../auth/principal.ts';

function principalOf(ctx: BackendContext): Principal {
  return ctx.principal ?? ANONYMOUS_OPERATOR;
}

/** The tenant a listing is limited to: a user's own; none for operators, who see every tenant. */
function ownerScope(ctx: BackendContext): string | undefined {
  const principal = principalOf(ctx);
  return principal.operator ? undefined : principal.tenant;
}

/** An entity the caller may not touch is, for the caller, not there (404): existence is not revealed. */
function mine(entity: Entity | undefined, ctx: BackendContext): entity is Entity {
  return entity !== undefined && canChange(principalOf(ctx), entity.owner);
}
import type { BackendRouter } from './backends.ts';

/** How the request refers to this server, to tell local link ends from external ones. */
export interface RequestOrigin {
  /** Base URLs (`http://host:port`) that mean this server (see model/link-ends.ts `ownUrlTest`). */
  origins: string[];
  /** True when an absolute URL names this server by any of its names (model/own-urls.ts); without it, `origins` decide. */
  isOwn?: (url: string | URL) => boolean;
}

/**
 * What names this server for a request: its base URLs (request origin, public URL with its path
 * prefix) first, then every name and address ocni listens on (model/own-urls.ts), so that a link
 * end cannot pass for external by naming this server differently from the request.
 */
export function ownTestOf(origin: RequestOrigin): OwnUrlTest {
  let test = ownTests.get(origin);
  if (!test) {
    const byBase = ownUrlTest(origin.origins);
    test = (url) => byBase(url) ?? (origin.isOwn?.(url) ? url.pathname : undefined);
    ownTests.set(origin, test);
  }
  return test;
}

/**
 * The test of each request origin, built once: every item of a request with link ends asks for
 * it, and building it parses the base URLs.
 */
const ownTests = new WeakMap<RequestOrigin, OwnUrlTest>();

/** A link end as written (path, URL of this server, external URL) normalised, or undefined when it is none of them. */
function normalEnd(ref: string, origin: RequestOrigin): string | undefined {
  const end = normaliseLinkEnd(ref, ownTestOf(origin));
  return 'path' in end ? end.path : 'url' in end ? end.url : undefined;
}

/**
 * The one normalisation of an entity input, before anything else looks at it: core attributes
 * given inside `attributes` become members (so a text client's `occi.core.source` is a link end
 * like JSON's `source`), then link ends that name this server become paths.
 */
export function normaliseInput(item: EntityItem, origin: RequestOrigin, problems: FieldProblem[]): { input: EntityInput; id?: string } {
  // Both ways of giving an end are normalised before they are compared: `/compute/1` inside
  // attributes and this server's URL for it as `source` are one end.
  const given: EntityInput = { ...item.input };
  const attributes = given.attributes;
  if (attributes && ('occi.core.source' in attributes || 'occi.core.target' in attributes)) {
    const copy: Record<string, unknown> = Object.assign(Object.create(null) as Record<string, unknown>, attributes);
    for (const name of ['occi.core.source', 'occi.core.target']) {
      const value = copy[name];
      if (typeof value === 'string') copy[name] = normalEnd(value, origin) ?? value;
    }
    given.attributes = copy;
  }
  if (given.source !== undefined) given.source = normalEnd(given.source, origin) ?? given.source;
  if (given.target !== undefined) given.target = normalEnd(given.target, origin) ?? given.target;
  const lifted = liftCoreAttributes(given, item.id, item.pointer, problems);
  for (const end of ['source', 'target'] as const) {
    const ref = lifted.input[end];
    if (ref === undefined) continue;
    const resolved = normaliseLinkEnd(ref, ownTestOf(origin));
    if ('error' in resolved) {
      problems.push({ pointer: `${item.pointer}/${end}`, message: resolved.error });
      delete lifted.input[end];
    } else lifted.input[end] = 'path' in resolved ? resolved.path : resolved.url;
  }
  return lifted;
}

/** Limits that bound one request. */
export interface EntityLimits {
  itemsPerRequest: number;
  /** Longest attribute value, as JSON text. */
  attributeValueBytes: number;
  /** Most entities one tenant may own (users only; operators are not counted). */
  entitiesPerTenant?: number;
  /**
   * Most bytes (entities as JSON, defaults included) one request may make the store hold: defaults
   * are copied into every entity, so a small request could otherwise store a great deal.
   */
  storedBytesPerRequest?: number;
}

/** Refuses (413) a request whose entities would take more than `limit` bytes in the store. */
function checkStoredBytes(bytes: number, limit: number | undefined, what: string): void {
  if (limit !== undefined && bytes > limit) {
    throw new OcciError('payload-too-large', `${what} would take ${bytes} bytes in the store (attribute defaults included), more than the limit of ${limit} per request`);
  }
}

/**
 * The bytes entities take as JSON, each on its own (as each is stored): exact whenever they could
 * exceed `limit`, else an upper bound below it (UTF-8 takes at most 3 bytes per UTF-16 unit).
 * One serialisation of the list: an array's JSON is its items' JSON between brackets, with commas.
 */
function entitiesBytes(entities: Entity[], limit: number | undefined): number {
  if (limit === undefined || entities.length === 0) return 0;
  const text = JSON.stringify(entities);
  const framing = entities.length + 1;
  const units = text.length - framing;
  return units * 3 <= limit ? units * 3 : Buffer.byteLength(text) - framing;
}

/** Refuses attribute values longer than the limit, naming each (before anything else is checked). */
function checkValueSizes(items: EntityItem[], limit: number): void {
  const problems: FieldProblem[] = [];
  // Numbers and booleans are short; only text and structures can be long. Text of at most limit / 3
  // characters fits whatever it holds (UTF-8 takes at most 3 bytes per UTF-16 unit).
  const tooLong = (value: unknown) =>
    typeof value === 'string' ? value.length * 3 > limit && Buffer.byteLength(value) > limit : typeof value === 'object' && value !== null && Buffer.byteLength(JSON.stringify(value)) > limit;
  const visit = (item: EntityItem) => {
    const attributes = item.input.attributes ?? {};
    for (const key in attributes) {
      if (!Object.hasOwn(attributes, key) || !tooLong(attributes[key])) continue;
      problems.push({ pointer: `${item.pointer}/attributes/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`, message: `is longer than the limit of ${limit} bytes` });
    }
    for (const member of ['title', 'summary'] as const) {
      const value = item.input[member];
      if (typeof value === 'string' && Buffer.byteLength(value) > limit) problems.push({ pointer: `${item.pointer}/${member}`, message: `is longer than the limit of ${limit} bytes` });
    }
    item.links.forEach(visit);
  };
  items.forEach(visit);
  if (problems.length > 0) throw new ValidationError(`${problems[0]!.pointer} ${problems[0]!.message}`, problems);
}

/** A resolved collection: what a path ending in `/` means. */
export type Collection = { type: 'kind'; kind: Kind } | { type: 'mixin'; mixin: Mixin } | { type: 'path'; path: string };

/** An item whose id is given only as `occi.core.id` inside its attributes (flat or nested), with that id. */
function withCoreId(item: EntityItem): EntityItem {
  if (item.id !== undefined) return item;
  const { id } = liftCoreAttributes(item.input, undefined, item.pointer, []);
  return id === undefined ? item : { ...item, id };
}

/** The last millisecond an id was made in, and its prefix (a bulk creation makes hundreds per millisecond). */
let idMillisecond = -1;
let idPrefix = '';

/** Time-ordered ids suit CouchDB's B-tree: a millisecond timestamp prefix, then randomness. */
export function newId(): string {
  const now = Date.now();
  if (now !== idMillisecond) {
    idMillisecond = now;
    idPrefix = `${now.toString(16).padStart(12, '0')}-`;
  }
  return idPrefix + randomUUID().slice(9);
}

/** How often a write that lost a race with another process is tried again (with a growing, jittered pause). */
const WRITE_ATTEMPTS = 40;

/**
 * Ids for a create that carries an idempotency key: derived from the tenant, the key, the request
 * body and the item's place in it, so that the same request sent again names the same locations
 * (and collides with what the first attempt created instead of creating it twice).
 */
function idempotentIds(tenant: string | undefined, key: string, items: EntityItem[]): () => string {
  const seed = createHash('sha256')
    .update(`${tenant ?? ''}\u0000${key}\u0000${JSON.stringify(items)}`)
    .digest('hex');
  let n = 0;
  return () => `ik-${createHash('sha256').update(`${seed}:${n++}`).digest('hex').slice(0, 32)}`;
}

/**
 * Runs `work` while a request just sent is under way: after one turn of the event loop, so that
 * the request's bytes are handed to the socket before `work` holds the thread. A failure of `work`
 * is left for the caller to meet again in its own time (it prepares what it can also do later).
 */
async function meanwhile(work: () => void): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  try {
    work();
  } catch {
    // Prepared again, and failing again, where the caller does it without this head start.
  }
}

/** Entity operations on the local store. */
export class EntityService {
  /** Writes to one entity, one at a time in this process. */
  readonly #locks = new KeyedLock();

  constructor(
    readonly registry: CategoryRegistry,
    readonly store: EntityStore,
    private readonly limits: EntityLimits,
    private readonly backends: BackendRouter,
    /** Where GET of one entity reads (the read cache); the store itself when absent. Writes always read the store. */
    private readonly reader?: EntityReadCache,
    /** The members of collections, for listings answered from memory (with `reader`). */
    private readonly members?: MemberIndex,
  ) {}

  /** The backends that carry out operations on entities of this kind (its provider). */
  #backendsOf(entity: Pick<Entity, 'kind'>): Backend[] {
    return this.backends.route(this.registry.provider(entity.kind));
  }

  /**
   * The caller's identity, checked first by every backend the kinds route to that checks one (a
   * Cyclades token Astakos refuses is 401, before its templates are missed as unknown mixins).
   */
  async #authenticate(kinds: string[], ctx: BackendContext): Promise<void> {
    const checked = new Set<Backend>();
    for (const kind of new Set(kinds)) {
      if (this.registry.kind(kind) === undefined) continue;
      for (const backend of this.#backendsOf({ kind })) {
        if (checked.has(backend) || backend.authenticate === undefined) continue;
        checked.add(backend);
        await backend.authenticate(ctx);
      }
    }
  }

  /**
   * Creates entities at their backends, in order, before anything is stored. A backend may give an
   * entity its id (the location follows, and links that point at it are moved too). When a backend
   * fails, the creations already made are undone in reverse order.
   */
  async #createAtBackends(entities: Entity[], ctx: BackendContext): Promise<{ entities: Entity[]; undo: () => Promise<void> }> {
    const shared = this.#sharedBatchBackends(entities);
    if (shared) return this.#createInBatches(entities, shared, ctx);
    const done: { backend: Backend; entity: Entity }[] = [];
    const moved = new Map<string, string>();
    const undo = async () => {
      for (const { backend, entity } of done.reverse()) await backend.delete(entity, ctx).catch(() => undefined);
    };
    const out: Entity[] = [];
    try {
      for (const original of entities) {
        let entity: Entity = { ...original };
        if (entity.source !== undefined && moved.has(entity.source)) entity.source = moved.get(entity.source)!;
        if (entity.target !== undefined && moved.has(entity.target)) entity.target = moved.get(entity.target)!;
        for (const backend of this.#backendsOf(entity)) {
          const outcome = await backend.create(entity, ctx);
          if (outcome.id !== undefined && checkId(outcome.id) === undefined) {
            const location = parentPath(entity.location) + outcome.id;
            moved.set(original.location, location);
            entity = { ...entity, location };
          }
          entity = withOutcome(entity, outcome);
          done.push({ backend, entity });
        }
        out.push(entity);
      }
    } catch (err) {
      await undo();
      throw err;
    }
    return { entities: out, undo };
  }

  /**
   * The backends every entity routes to, when that is the same list for all of them and each of
   * its backends creates in batches (a bulk creation in one kind collection, stored only).
   */
  #sharedBatchBackends(entities: Entity[]): Backend[] | undefined {
    const byKind = new Map<string, Backend[]>();
    let shared: Backend[] | undefined;
    for (const { kind } of entities) {
      if (byKind.has(kind)) continue;
      const backends = this.#backendsOf({ kind });
      if (!backends.every((b) => b.createMany !== undefined)) return undefined;
      if (shared && (backends.length !== shared.length || backends.some((b, i) => b !== shared![i]))) return undefined;
      shared ??= backends;
      byKind.set(kind, backends);
    }
    return shared;
  }

  /** {@link #createAtBackends} with one call per backend for the whole list; the list is not copied when no outcome changes an entity. */
  async #createInBatches(entities: Entity[], backends: Backend[], ctx: BackendContext): Promise<{ entities: Entity[]; undo: () => Promise<void> }> {
    const done: { backend: Backend; created: Entity[] }[] = [];
    const undo = async () => {
      for (const { backend, created } of done.reverse()) for (const entity of [...created].reverse()) await backend.delete(entity, ctx).catch(() => undefined);
    };
    let out = entities;
    try {
      for (const backend of backends) {
        const outcomes = await backend.createMany!(out, ctx);
        out = out.map((entity, i) => withOutcome(entity, outcomes[i]));
        done.push({ backend, created: out });
      }
    } catch (err) {
      await undo();
      throw err;
    }
    return { entities: out, undo };
  }

  /**
   * Creates at the backends, then stores; a failed store write undoes the backends' work.
   * `whileStoring` is given the entities once their write is on its way (see {@link createInCollection}).
   */
  async #createEverywhere(entities: Entity[], ctx: BackendContext, whileStoring?: (entities: Entity[]) => void): Promise<Entity[]> {
    await this.#assertQuota(entities.length, ctx);
    const created = await this.#createAtBackends(entities, ctx);
    // Resources keep their outgoing links' locations: those created with them are known now...
    const batch = new Map(created.entities.map((e) => [e.location, e]));
    const elsewhere = new Map<string, string[]>();
    for (const e of created.entities) {
      if (e.source === undefined) continue;
      const resource = batch.get(e.source);
      if (resource) resource.linkLocations = [...(resource.linkLocations ?? []), e.location].sort();
      else elsewhere.set(e.source, [...(elsewhere.get(e.source) ?? []), e.location]);
    }
    let stored: Entity[];
    try {
      const writing = this.store.createMany(created.entities);
      if (whileStoring) {
        // Observed at once: a write that fails while the caller works must not pass for unhandled.
        writing.catch(() => undefined);
        await meanwhile(() => whileStoring(created.entities));
      }
      stored = await writing;
    } catch (err) {
      await created.undo();
      throw err;
    }
    // ...and resources that already existed learn of their new links. When one cannot (it was
    // deleted meanwhile, or the store failed), the links go again: a link exists only when its
    // resource lists it.
    try {
      for (const [source, links] of elsewhere) await this.#addLinks(source, links);
    } catch (err) {
      await created.undo();
      await this.store.deleteWithLinks(stored).catch(() => undefined);
      throw err;
    }
    return stored;
  }

  /** A user's tenant may own at most `entitiesPerTenant` entities (checked before each creation). */
  async #assertQuota(adding: number, ctx: BackendContext): Promise<void> {
    const principal = principalOf(ctx);
    const limit = this.limits.entitiesPerTenant;
    if (principal.operator || principal.tenant === undefined || limit === undefined) return;
    const owned = await this.store.countOwned(principal.tenant);
    if (owned + adding > limit) {
      throw new ForbiddenError(`quota: tenant "${principal.tenant}" owns ${owned} entities; ${adding} more would exceed its limit of ${limit} (limits.entitiesPerTenant)`);
    }
  }

  /** Adds link locations to an existing resource, under its lock; fails when it is gone. */
  #addLinks(source: string, links: string[]): Promise<void> {
    return this.#locks.run(source, async () => {
      await this.store.modify(source, (current) => ({ ...current, linkLocations: [...new Set([...(current.linkLocations ?? []), ...links])].sort() }));
    });
  }

  /** {@link EntityStore.relink} under the resource's lock. */
  #relink(resource: string, add: string[], remove: string[]): Promise<void> {
    return this.#locks.run(resource, () => this.store.relink(resource, add, remove));
  }

  /**
   * The entity without mixins that no longer exist: a mixin deleted while its cleaning had not
   * reached this entity yet must not make every later read or update of it fail.
   */
  #known(entity: Entity): Entity {
    const mixins = entity.mixins.filter((m) => this.registry.get(m)?.class === 'mixin');
    return mixins.length === entity.mixins.length ? entity : { ...entity, mixins };
  }

  /**
   * Changes one entity: `plan` computes the new entity from the stored one, the backends are told,
   * then the store is written at the revision read. When another writer got there first, the
   * backends are told to go back and everything is tried again on the fresh entity, so no
   * concurrent change is lost and no backend keeps a change the store does not have.
   */
  #change(
    location: string,
    plan: (current: Entity) => Entity,
    call: (backend: Backend, before: Entity, after: Entity) => Promise<BackendOutcome>,
    ctx: BackendContext,
    ifMatchRev: string | undefined,
  ): Promise<Entity> {
    return this.#locks.run(location, () => this.#changeLocked(location, plan, call, ctx, ifMatchRev));
  }

  async #changeLocked(
    location: string,
    plan: (current: Entity) => Entity,
    call: (backend: Backend, before: Entity, after: Entity) => Promise<BackendOutcome>,
    ctx: BackendContext,
    ifMatchRev: string | undefined,
  ): Promise<Entity> {
    for (let attempt = 0; ; attempt += 1) {
      const stored = await this.store.get(location);
      if (!mine(stored, ctx)) throw new NotFoundError(`no entity at ${location}`);
      const current = this.#known(stored);
      if (ifMatchRev !== undefined && ifMatchRev !== current.rev) throw new OcciError('precondition-failed', `${location} is at revision ${current.rev ?? '?'}, not ${ifMatchRev}`);
      // Writes start from what reads show: current defaults in, attributes no longer defined out.
      let next = plan(currentView(this.registry, current));
      // Nothing to change (a mixin already there, or already gone): nothing to write.
      if (next === current) return current;
      const told: Backend[] = [];
      for (const backend of this.#backendsOf(current)) {
        next = withOutcome(next, await call(backend, current, next));
        told.push(backend);
      }
      try {
        const written = await this.store.put({ ...next, rev: current.rev! }, current);
        if (current.source !== undefined && next.source !== current.source) {
          // A link moved to another resource: both resources' link lists follow.
          await this.#relink(current.source, [], [location]);
          await this.#relink(next.source!, [location], []);
        }
        return written;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        for (const backend of told.reverse()) await backend.update(next, current, ctx).catch(() => undefined);
        // Another process wrote first: the revision the client named is no longer current.
        if (ifMatchRev !== undefined) throw new OcciError('precondition-failed', `${location} was changed by another request; it is no longer at revision ${ifMatchRev}`);
        if (attempt >= WRITE_ATTEMPTS) throw err;
        await backoff(attempt);
      }
    }
  }

  /** What a collection path means: a kind location, a mixin location, or a plain path. */
  collection(path: string): Collection {
    const category = this.registry.byLocation(path);
    if (category?.class === 'kind') return { type: 'kind', kind: category };
    if (category?.class === 'mixin') return { type: 'mixin', mixin: category };
    return { type: 'path', path };
  }

  /** The listing scope of a collection: a kind collection holds its sub-kinds' entities too. */
  scope(collection: Collection): ListScope {
    const kinds = (id: string) => this.registry.descendants(id);
    if (collection.type === 'kind') return { kind: categoryId(collection.kind), kinds: kinds(categoryId(collection.kind)) };
    // Filters on a mixin or a path read the per-kind rows of every kind.
    if (collection.type === 'mixin') return { mixin: categoryId(collection.mixin), kinds: kinds(ENTITY_KIND) };
    return { below: collection.path, kinds: kinds(ENTITY_KIND) };
  }

  /**
   * One entity, with its outgoing links when it is a resource. Its backends are asked for its
   * current state; one that no longer has it makes it gone here too (404). `fresh` reads the store,
   * not the read cache (a client's `Cache-Control: no-cache`).
   */
  async read(location: string, ctx: BackendContext, options: { fresh?: boolean } = {}): Promise<{ entity: Entity; links: Entity[] }> {
    const found = this.reader ? await this.reader.getWithLinks(location, options.fresh) : await this.store.getWithLinks(location);
    if (!found || !mine(found.entity, ctx)) throw new NotFoundError(`no entity at ${location}`);
    let entity = currentView(this.registry, this.#known(found.entity));
    for (const backend of this.#backendsOf(entity)) {
      const outcome = await backend.retrieve(entity, ctx);
      if (outcome === 'gone') {
        await this.store.deleteWithLinks([entity]);
        throw new NotFoundError(`no entity at ${location} (its backend ${backend.name} no longer has it)`);
      }
      entity = withOutcome(entity, outcome);
    }
    return { entity, links: entity.source === undefined ? await this.#readLinks(found.links, ctx) : [] };
  }

  /** A resource's links as their backends see them now (a Cyclades port's state, not the stored one); gone ones are dropped. */
  async #readLinks(links: Entity[], ctx: BackendContext): Promise<Entity[]> {
    const out: Entity[] = [];
    for (const link of links) {
      let current: Entity | undefined = link;
      for (const backend of this.#backendsOf(link)) {
        const outcome = await backend.retrieve(current, ctx);
        if (outcome === 'gone') {
          await this.store.deleteWithLinks([link]);
          current = undefined;
          break;
        }
        current = withOutcome(current, outcome);
      }
      if (current !== undefined) out.push(current);
    }
    return out;
  }

  /** Outgoing links of several resources, by source. */
  linksOf(entities: Entity[]): Promise<Map<string, Entity[]>> {
    return this.store.linksFrom(entities.filter((e) => e.source === undefined));
  }

  /** A page of a collection, as the caller may see it; `after` resumes where a `next` link left off. */
  async list(collection: Collection, patterns: EntityPattern[], skip: number, limit: number, ctx: BackendContext, after?: string): Promise<ListPage> {
    const owner = ownerScope(ctx);
    const query: ListQuery = { scope: this.scope(collection), patterns, skip, limit, ...(owner !== undefined ? { owner } : {}), ...(after !== undefined ? { after } : {}) };
    const page = (this.reader && this.members ? await listFromMemory(this.members, this.reader, query) : undefined) ?? (await this.store.list(query));
    return { ...page, entities: page.entities.map((e) => currentView(this.registry, this.#known(e))) };
  }

  /**
   * Whether something lives at a location: the caller's own entity, nothing, or another tenant's
   * entity ('taken': for this caller it does not exist, yet the location is not free — locations
   * are one namespace).
   */
  async occupant(location: string, ctx: BackendContext): Promise<'mine' | 'none' | 'taken'> {
    const entity = await this.store.get(location);
    if (!entity) return 'none';
    return mine(entity, ctx) ? 'mine' : 'taken';
  }

  /**
   * Builds the entities of a creation request without writing anything: ids, locations, link ends,
   * inline links. Every problem of every item is reported at once.
   */
  async #prepare(items: EntityItem[], placeAt: (item: EntityItem, kind: Kind) => string, origin: RequestOrigin, ctx: BackendContext, nextId: () => string = newId): Promise<Entity[]> {
    checkValueSizes(items, this.limits.attributeValueBytes);
    const owner = principalOf(ctx).tenant;
    const problems: FieldProblem[] = [];
    const out: Entity[] = [];
    const total = items.reduce((n, item) => n + 1 + item.links.length, 0);
    if (total > this.limits.itemsPerRequest) {
      throw new OcciError('payload-too-large', `a request may create at most ${this.limits.itemsPerRequest} entities, this one has ${total}`);
    }
    const unnamed: Entity[] = [];
    // The items are built without awaiting anything: one lookup remembers what they ask of the registry.
    const lookup = new BatchLookup(this.registry);
    const build = (item: EntityItem, location: string, source?: string) => {
      const { input } = normaliseInput(source ? { ...item, input: { ...item.input, source } } : item, origin, problems);
      const assigned = this.#serverAssigned(input, lookup);
      try {
        const entity = buildEntity(lookup, location, assigned.input, item.pointer);
        if (owner !== undefined) entity.owner = owner;
        if (assigned.unnamed) unnamed.push(entity);
        out.push(entity);
      } catch (err) {
        if (err instanceof ValidationError) problems.push(...err.problems);
        else throw err;
      }
    };
    for (const given of items) {
      let item = given;
      const kind = item.input.kind ? lookup.kind(item.input.kind) : undefined;
      if (!kind) {
        problems.push({ pointer: `${item.pointer}/kind`, message: item.input.kind ? `kind "${item.input.kind}" does not exist` : 'is required' });
        continue;
      }
      // `occi.core.id` inside `attributes` names the id as `id` does (a conflict is reported when the item is built).
      item = withCoreId(item);
      if (item.id !== undefined) {
        const why = checkId(item.id);
        if (why) {
          problems.push({ pointer: `${item.pointer}/id`, message: `id "${item.id}" ${why}` });
          continue;
        }
      }
      // A client's id is one segment in its normal form: `%41` and `A` are one entity.
      const placed = toPath(placeAt(item, kind));
      if ('error' in placed) {
        problems.push({ pointer: `${item.pointer}/id`, message: placed.error });
        continue;
      }
      const location = placed.path;
      build(item, location);
      for (const link of item.links) {
        const linkKind = link.input.kind ? lookup.kind(link.input.kind) : undefined;
        if (!linkKind || !isLinkKind(lookup, categoryId(linkKind))) {
          problems.push({ pointer: `${link.pointer}/kind`, message: `an inline link needs a link kind, not "${link.input.kind ?? ''}"` });
          continue;
        }
        const named = withCoreId(link);
        const linkPlaced = toPath(`${linkKind.location}${named.id ?? nextId()}`);
        if ('error' in linkPlaced) problems.push({ pointer: `${link.pointer}/id`, message: linkPlaced.error });
        else build(named, linkPlaced.path, location);
      }
    }
    const seen = new Map<string, number>();
    out.forEach((e, i) => {
      if (seen.has(e.location)) problems.push({ pointer: `/`, message: `two entities of the request would live at ${e.location}` });
      seen.set(e.location, i);
    });
    if (problems.length > 0) throw new ValidationError(`${problems[0]!.pointer}: ${problems[0]!.message}`, problems);
    checkStoredBytes(entitiesBytes(out, this.limits.storedBytesPerRequest), this.limits.storedBytesPerRequest, 'the entities of this request');
    await this.#checkLinkEnds(out, ctx);
    await this.#nameInterfaces(unnamed, out);
    return out;
  }

  /**
   * Fills in what the server assigns when the client leaves it out: a network interface's MAC
   * (random, locally administered) and, once its resource is known, its name (see #nameInterfaces).
   */
  #serverAssigned(input: EntityInput, lookup: CategoryLookup): { input: EntityInput; unnamed: boolean } {
    if (!input.kind || !lookup.kind(input.kind) || !lookup.lineage(input.kind).some((k) => hasId(k, NETWORKINTERFACE_KIND))) return { input, unnamed: false };
    const attributes: Record<string, unknown> = Object.assign(Object.create(null) as Record<string, unknown>, input.attributes);
    if (attributes[MAC_ATTRIBUTE] === undefined || attributes[MAC_ATTRIBUTE] === null) attributes[MAC_ATTRIBUTE] = localMac(randomBytes(6));
    const unnamed = attributes[INTERFACE_ATTRIBUTE] === undefined || attributes[INTERFACE_ATTRIBUTE] === null;
    // A stand-in until the resource's other interfaces are counted.
    if (unnamed) attributes[INTERFACE_ATTRIBUTE] = interfaceName(0);
    return { input: { ...input, attributes }, unnamed };
  }

  /**
   * Names unnamed network interfaces `ethN`, N counting the interfaces their resource already has
   * and the ones before it in this request (names the request gives are skipped).
   */
  async #nameInterfaces(unnamed: Entity[], batch: Entity[]): Promise<void> {
    if (unnamed.length === 0) return;
    const nics = this.registry.kind(NETWORKINTERFACE_KIND)?.location ?? '/networkinterface/';
    const existing = await this.store.getMany([...new Set(unnamed.map((e) => e.source!))]);
    const count = new Map<string, number>();
    for (const [location, resource] of existing) count.set(location, (resource.linkLocations ?? []).filter((l) => l.startsWith(nics)).length);
    const given = new Set(batch.filter((e) => e.kind === NETWORKINTERFACE_KIND && !unnamed.includes(e)).map((e) => `${e.source!} ${attributeText(e.attributes[INTERFACE_ATTRIBUTE] ?? null)}`));
    for (const e of unnamed) {
      let n = count.get(e.source!) ?? 0;
      while (given.has(`${e.source!} ${interfaceName(n)}`)) n += 1;
      e.attributes[INTERFACE_ATTRIBUTE] = interfaceName(n);
      count.set(e.source!, n + 1);
    }
  }

  /**
   * A link's source must be a resource that exists here (or is created in the same request); so
   * must a local target. A local end's kind is its entity's (GFD.226: `kind` of a `kinded_uri`):
   * it is set from the entity, and a client's kind that the entity does not have is refused.
   */
  async #checkLinkEnds(entities: Entity[], ctx: BackendContext): Promise<void> {
    // Resources alone (most bulk creations) have no ends to check.
    if (!entities.some((e) => e.source !== undefined)) return;
    const creating = new Map(entities.map((e) => [e.location, e]));
    const local = entities.flatMap((e) => [e.source, e.target]).filter((r): r is string => r !== undefined && r.startsWith('/') && !creating.has(r));
    // Links stay within a tenant: another tenant's resource is, for the caller, not there.
    const found = new Map([...(await this.store.getMany(local))].filter(([, e]) => mine(e, ctx)));
    const problems: FieldProblem[] = [];
    const kindOf = (e: Entity, end: 'source' | 'target', entity: Entity) => {
      const member = end === 'source' ? 'sourceKind' : 'targetKind';
      const claimed = e[member];
      if (claimed !== undefined && !this.registry.lineage(entity.kind).some((k) => categoryId(k) === claimed)) {
        problems.push({ pointer: `/${end}/kind`, message: `the link ${end} ${entity.location} is a ${entity.kind}, not a ${claimed}` });
      }
      e[member] = entity.kind;
    };
    for (const e of entities) {
      if (e.source === undefined) continue;
      const source = creating.get(e.source) ?? found.get(e.source);
      if (!source) problems.push({ pointer: '/source', message: `the link source ${e.source} does not exist` });
      else if (source.source !== undefined) problems.push({ pointer: '/source', message: `the link source ${e.source} is a link, not a resource` });
      else kindOf(e, 'source', source);
      if (e.target!.startsWith('/')) {
        const target = creating.get(e.target!) ?? found.get(e.target!);
        if (!target) problems.push({ pointer: '/target', message: `the link target ${e.target!} does not exist` });
        else kindOf(e, 'target', target);
      }
    }
    if (problems.length > 0) throw new ValidationError(problems[0]!.message, problems);
  }

  /**
   * Creates one or many entities in a kind collection, all or nothing. Items must be of that kind
   * (or a sub-kind); ids are generated when absent. With an idempotency key, the ids come from the
   * key and the request, and the same request sent again (after a 503 or a timeout) answers with
   * what the first attempt created instead of creating it again.
   *
   * `whileStoring` lets the caller prepare its answer while the store writes: it is called once the
   * write is on its way, with the entities as they are being stored. When the creation succeeds,
   * it returns those very entities, each then given its revision (nothing else differs); when it fails,
   * whatever was prepared is to be dropped. It is not called for a request with an idempotency key,
   * whose answer may be what an earlier attempt stored.
   */
  async createInCollection(kind: Kind, items: EntityItem[], origin: RequestOrigin, ctx: BackendContext, idempotencyKey?: string, whileStoring?: (entities: Entity[]) => void): Promise<Entity[]> {
    const kindId = categoryId(kind);
    const problems: FieldProblem[] = [];
    const allowed = new Set(this.registry.descendants(kindId));
    for (const item of items) {
      item.input.kind ??= kindId;
      if (!allowed.has(item.input.kind)) {
        problems.push({ pointer: `${item.pointer}/kind`, message: `"${item.input.kind}" is not ${kindId} or one of its sub-kinds; post it to its own location` });
      }
    }
    if (problems.length > 0) throw new ValidationError(`${problems[0]!.pointer}: ${problems[0]!.message}`, problems);
    await this.#authenticate(
      items.map((item) => item.input.kind!),
      ctx,
    );
    const nextId = idempotencyKey !== undefined ? idempotentIds(principalOf(ctx).tenant, idempotencyKey, items) : newId;
    const entities = await this.#prepare(items, (item, k) => `${k.location}${item.id ?? nextId()}`, origin, ctx, nextId);
    try {
      return await this.#createEverywhere(entities, ctx, idempotencyKey === undefined ? whileStoring : undefined);
    } catch (err) {
      if (idempotencyKey === undefined || !(err instanceof ConflictError)) throw err;
      // The same request made these already: answer with them.
      const made = await this.store.getMany(entities.map((e) => e.location));
      if (!entities.every((e) => mine(made.get(e.location), ctx))) throw err;
      return entities.map((e) => made.get(e.location)!);
    }
  }

  /** Creates an entity at a client-chosen location (PUT on a free URL). */
  async createAt(location: string, item: EntityItem, origin: RequestOrigin, ctx: BackendContext): Promise<Entity> {
    if (isReservedPath(location) || this.registry.byLocation(`${location}/`)) throw new ValidationError(`${location} is reserved`, [{ pointer: '/', message: 'reserved location' }]);
    if (item.input.kind !== undefined) await this.#authenticate([item.input.kind], ctx);
    const [entity] = await this.#createEverywhere(await this.#prepare([item], () => location, origin, ctx), ctx);
    return entity!;
  }

  /** Full replacement (PUT on an existing entity); links are left as they are. */
  async replace(location: string, item: EntityItem, ifMatchRev: string | undefined, origin: RequestOrigin, ctx: BackendContext): Promise<Entity> {
    checkValueSizes([item], this.limits.attributeValueBytes);
    const input = await this.#changedEnds(location, item, origin, ctx);
    return this.#change(
      location,
      (current) => applyReplace(this.registry, current, input, item.pointer),
      (backend, before, after) => backend.replace(before, after, ctx),
      ctx,
      ifMatchRev,
    );
  }

  /**
   * The links a full update (PUT) carries must be the entity's own (GFD.223: the rendering is an
   * entity instance rendering, and links are left intact), so a client may send back what it
   * read; a link the entity does not have is refused, since a full update creates none. A link is
   * known by its location (text `self`), else its id, else its target and kind.
   */
  async checkOwnLinks(location: string, links: EntityItem[], origin: RequestOrigin, ctx: BackendContext): Promise<void> {
    const { links: current } = await this.read(location, ctx);
    const isOwn = ownTestOf(origin);
    const pathOf = (ref: string | undefined) => {
      if (ref === undefined) return undefined;
      const end = normaliseLinkEnd(ref, isOwn);
      return 'path' in end ? end.path : 'url' in end ? end.url : undefined;
    };
    const problems: FieldProblem[] = [];
    links.forEach((link) => {
      const self = pathOf(link.self);
      const target = pathOf(link.input.target);
      const id = withCoreId(link).id;
      const own = current.some((l) => (self !== undefined ? l.location === self : id !== undefined ? idOf(l.location) === id : l.target === target && l.kind === link.input.kind));
      if (!own)
        problems.push({
          pointer: link.pointer,
          message: `the link to ${link.input.target ?? '?'} is not one of ${location}'s links: a full update (PUT) leaves links as they are; create a link with POST`,
        });
    });
    if (problems.length > 0) throw new ValidationError(`${problems[0]!.pointer}: ${problems[0]!.message}`, problems);
  }

  /**
   * Checks links from an existing resource (Link lines or `links` of a partial update) and returns
   * them ready to create, writing nothing: a partial update checks its links before it changes the
   * resource, so that a bad link changes nothing.
   */
  async prepareLinksFrom(location: string, links: EntityItem[], origin: RequestOrigin, ctx: BackendContext): Promise<Entity[]> {
    const source = await this.store.get(location);
    if (!mine(source, ctx)) throw new NotFoundError(`no entity at ${location}`);
    if (source.source !== undefined) throw new ValidationError('a link cannot have links of its own', [{ pointer: '/links', message: 'not allowed on a link' }]);
    const items = links.map((link) => ({ ...link, input: { ...link.input, source: location } }));
    for (const item of items) {
      const kind = item.input.kind ? this.registry.kind(item.input.kind) : undefined;
      if (kind && !isLinkKind(this.registry, categoryId(kind)))
        throw new ValidationError(`${item.pointer}/kind: "${item.input.kind ?? ''}" is not a link kind`, [{ pointer: `${item.pointer}/kind`, message: 'must be a link kind' }]);
    }
    return this.#prepare(items, (item, kind) => `${kind.location}${item.id ?? newId()}`, origin, ctx);
  }

  /** Creates links prepared by {@link prepareLinksFrom}. */
  createPrepared(links: Entity[], ctx: BackendContext): Promise<Entity[]> {
    return this.#createEverywhere(links, ctx);
  }

  /** Partial update (POST on an entity); concurrent partial updates never lose each other's changes. */
  async update(location: string, item: EntityItem, ifMatchRev: string | undefined, ctx: BackendContext, origin: RequestOrigin = { origins: [] }): Promise<Entity> {
    checkValueSizes([item], this.limits.attributeValueBytes);
    const input = await this.#changedEnds(location, item, origin, ctx);
    return this.#change(
      location,
      (current) => applyPartialUpdate(this.registry, current, input, item.pointer),
      (backend, before, after) => backend.update(before, after, ctx),
      ctx,
      ifMatchRev,
    );
  }

  /**
   * The input of an update, normalised (core attributes lifted, link ends made paths); a link end
   * it moves is checked like a new link's (it exists here, or is external) and its kind taken
   * from the entity it names.
   */
  async #changedEnds(location: string, item: EntityItem, origin: RequestOrigin, ctx: BackendContext): Promise<EntityInput> {
    const problems: FieldProblem[] = [];
    const { input, id } = normaliseInput(item, origin, problems);
    if (id !== undefined && id !== location.slice(location.lastIndexOf('/') + 1)) problems.push({ pointer: `${item.pointer}/id`, message: `the id "${id}" is not the id of ${location}` });
    if (problems.length > 0) throw new ValidationError(`${problems[0]!.pointer}: ${problems[0]!.message}`, problems);
    if (input.source === undefined && input.target === undefined) return input;
    const current = await this.store.get(location);
    if (!mine(current, ctx)) throw new NotFoundError(`no entity at ${location}`);
    if (current.source === undefined)
      throw new ValidationError(`${location} is a resource: it has no source or target`, [
        { pointer: `${item.pointer}/${input.source !== undefined ? 'source' : 'target'}`, message: 'a resource has no link ends' },
      ]);
    const moved = { ...current, source: input.source ?? current.source, target: input.target ?? current.target! };
    if (input.targetKind === undefined && input.target !== undefined && input.target !== current.target) delete moved.targetKind;
    else if (input.targetKind !== undefined) moved.targetKind = input.targetKind;
    await this.#checkLinkEnds([moved], ctx);
    const out: EntityInput = { ...input };
    if (moved.sourceKind !== undefined) out.sourceKind = moved.sourceKind;
    if (moved.targetKind !== undefined) out.targetKind = moved.targetKind;
    return out;
  }

  /**
   * Deletes an entity and its links: at the backends first (a failure there changes nothing), then
   * in the store.
   */
  delete(location: string, ifMatchRev: string | undefined, ctx: BackendContext): Promise<void> {
    // Under the entity's lock, so that an update in this process cannot slip between the
    // If-Match check and the deletion.
    return this.#locks.run(location, async () => {
      const entity = await this.store.get(location);
      if (!mine(entity, ctx)) throw new NotFoundError(`no entity at ${location}`);
      if (ifMatchRev !== undefined && ifMatchRev !== entity.rev) throw new OcciError('precondition-failed', `${location} is at revision ${entity.rev ?? '?'}, not ${ifMatchRev}`);
      await this.#deleteEverywhere([entity], ctx);
    });
  }

  /** Deletes entities (and the links from and to them) at their backends, then in the store. */
  async #deleteEverywhere(entities: Entity[], ctx: BackendContext): Promise<Entity[]> {
    const links = await this.store.linksTouching(entities.filter((e) => e.source === undefined).map((e) => e.location));
    const all = new Map([...links, ...entities].map((e) => [e.location, e]));
    // Links first: a backend may refuse to delete a resource that still has attachments.
    for (const entity of [...links, ...entities]) {
      for (const backend of this.#backendsOf(entity)) await backend.delete(entity, ctx);
    }
    return this.store.deleteWithLinks([...all.values()], true);
  }

  /**
   * Triggers an action on one entity: the action and its parameters are checked, the backends carry
   * it out (the local one through the state machine), and their outcome is stored. The action runs
   * once; a concurrent write only makes the outcome be stored again on the fresh entity.
   */
  async act(location: string, invocation: ActionInvocation, ifMatchRev: string | undefined, ctx: BackendContext): Promise<Entity> {
    const current = await this.store.get(location);
    if (!mine(current, ctx)) throw new NotFoundError(`no entity at ${location}`);
    if (ifMatchRev !== undefined && ifMatchRev !== current.rev) throw new OcciError('precondition-failed', `${location} is at revision ${current.rev ?? '?'}, not ${ifMatchRev}`);
    const { action, parameters } = resolveAction(this.registry, current, invocation);
    return this.#runAction(current, categoryId(action), parameters, ctx);
  }

  async #runAction(entity: Entity, actionId: string, parameters: Record<string, AttributeValue>, ctx: BackendContext): Promise<Entity> {
    let outcomeOf = (e: Entity) => e;
    let acted = entity;
    for (const backend of this.#backendsOf(entity)) {
      const outcome = await backend.action(acted, actionId, parameters, ctx);
      acted = withOutcome(acted, outcome);
      const previous = outcomeOf;
      outcomeOf = (e: Entity) => withOutcome(previous(e), outcome);
    }
    const { after } = await this.#locks.run(entity.location, () => this.store.modify(entity.location, (fresh) => outcomeOf(currentView(this.registry, fresh))));
    return after;
  }

  /**
   * Triggers an action on every member of a collection (optionally filtered): every member is
   * checked first (the action is defined, its parameters valid, and locally its state allows it),
   * and none changes when one cannot take the action.
   */
  async actOnCollection(collection: Collection, patterns: EntityPattern[], invocation: ActionInvocation, ctx: BackendContext): Promise<Entity[]> {
    const members = await this.store.all(this.scope(collection), patterns, this.limits.itemsPerRequest, ownerScope(ctx));
    const planned: { entity: Entity; actionId: string; parameters: Record<string, AttributeValue> }[] = [];
    for (const entity of members) {
      const { action, parameters } = resolveAction(this.registry, entity, invocation);
      if (this.#backendsOf(entity).some((b) => b.type === 'store')) applyActionLocally(entity, categoryId(action), parameters);
      planned.push({ entity, actionId: categoryId(action), parameters });
    }
    const out: Entity[] = [];
    for (const { entity, actionId, parameters } of planned) out.push(await this.#runAction(entity, actionId, parameters, ctx));
    return out;
  }

  /** Deletes the members of a collection (all or filtered), with their links. */
  async deleteCollection(collection: Collection, patterns: EntityPattern[], ctx: BackendContext): Promise<Entity[]> {
    const members = await this.store.all(this.scope(collection), patterns, this.limits.itemsPerRequest, ownerScope(ctx));
    return this.#deleteEverywhere(members, ctx);
  }

  /** Resolves a location list to existing entities; every unknown one is reported. */
  async #entitiesAt(locations: string[], origin: RequestOrigin, ctx: BackendContext): Promise<Entity[]> {
    if (locations.length > this.limits.itemsPerRequest) throw new OcciError('payload-too-large', `at most ${this.limits.itemsPerRequest} locations per request`);
    const problems: FieldProblem[] = [];
    const isOwn = ownTestOf(origin);
    const paths = locations.map((l, i) => {
      const end = normaliseLinkEnd(l, isOwn);
      if ('error' in end) problems.push({ pointer: `/X-OCCI-Location/${i}`, message: end.error });
      // Another server's URL is looked up like any location: nothing is there (404).
      return 'path' in end ? end.path : 'url' in end ? end.url : '';
    });
    if (problems.length > 0) throw new ValidationError(problems[0]!.message, problems);
    const found = new Map([...(await this.store.getMany(paths))].filter(([, e]) => mine(e, ctx)));
    paths.forEach((p, i) => {
      if (!found.has(p)) problems.push({ pointer: `/X-OCCI-Location/${i}`, message: `no entity at ${locations[i]!}` });
    });
    if (problems.length > 0) throw new NotFoundError(problems.map((p) => p.message).join('; '));
    return paths.map((p) => found.get(p)!);
  }

  /** Associates the mixin with the listed entities (POST on a mixin location). */
  async associate(mixin: Mixin, locations: string[], origin: RequestOrigin, ctx: BackendContext): Promise<Entity[]> {
    const mixinId = categoryId(mixin);
    const entities = await this.#entitiesAt(locations, origin, ctx);
    const problems: FieldProblem[] = [];
    entities.forEach((e, i) => checkCategories(this.registry, e.kind, [mixinId], `/X-OCCI-Location/${i}`, problems));
    if (problems.length > 0) throw new ValidationError(problems[0]!.message, problems);
    const defaults = this.registry
      .mixinClosure(mixinId)
      .reduce((n, m) => n + Object.values(m.attributes).reduce((k, d) => k + (d.default === undefined ? 0 : Buffer.byteLength(JSON.stringify(d.default))), 0), 0);
    checkStoredBytes(defaults * entities.length, this.limits.storedBytesPerRequest, `the defaults of ${mixinId} copied into ${entities.length} entities`);
    const out: Entity[] = [];
    for (const entity of entities) {
      out.push(
        await this.#change(
          entity.location,
          (current) => (current.mixins.includes(mixinId) ? current : applyPartialUpdate(this.registry, current, { mixins: [mixinId] }, '')),
          (backend, before, after) => backend.update(before, after, ctx),
          ctx,
          undefined,
        ),
      );
    }
    return out;
  }

  /** Removes the mixin from every member the caller may touch (all, or those a filter picks). */
  async dissociateAll(mixin: Mixin, patterns: EntityPattern[], origin: RequestOrigin, ctx: BackendContext): Promise<Entity[]> {
    const members = await this.store.all({ mixin: categoryId(mixin) }, patterns, this.limits.itemsPerRequest, ownerScope(ctx));
    return this.dissociate(
      mixin,
      members.map((m) => m.location),
      origin,
      ctx,
    );
  }

  /** Removes the mixin from the listed entities (DELETE with a body on a mixin location). */
  async dissociate(mixin: Mixin, locations: string[], origin: RequestOrigin, ctx: BackendContext): Promise<Entity[]> {
    const mixinId = categoryId(mixin);
    const entities = await this.#entitiesAt(locations, origin, ctx);
    const out: Entity[] = [];
    for (const entity of entities) {
      out.push(
        await this.#change(
          entity.location,
          (current) => (current.mixins.includes(mixinId) ? { ...current, mixins: current.mixins.filter((m) => m !== mixinId) } : current),
          (backend, before, after) => backend.update(before, after, ctx),
          ctx,
          undefined,
        ),
      );
    }
    return out;
  }

  /** Makes the listed entities exactly the mixin's members (PUT on a mixin location). */
  async replaceMembership(mixin: Mixin, locations: string[], origin: RequestOrigin, ctx: BackendContext): Promise<Entity[]> {
    const wanted = await this.#entitiesAt(locations, origin, ctx);
    const current = await this.store.all({ mixin: categoryId(mixin) }, [], this.limits.itemsPerRequest * 10, ownerScope(ctx));
    const keep = new Set(wanted.map((e) => e.location));
    const leaving = current.filter((e) => !keep.has(e.location)).map((e) => e.location);
    const members = await this.associate(
      mixin,
      wanted.map((e) => e.location),
      origin,
      ctx,
    );
    if (leaving.length > 0) await this.dissociate(mixin, leaving, origin, ctx);
    return members;
  }
}
