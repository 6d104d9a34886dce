/**
 * @module Entity operations as the OCCI verb table defines them, on the local store: validation
 * through the model, persistence through the entity store, actions through the infrastructure state
 * machines. Request-level rules live here (all-or-nothing batches, link ends, mixin membership);
 * HTTP details do not.
 */
import { randomUUID } from 'node:crypto';
import { categoryId, type AttributeValue, type Kind, type Mixin } from '../model/category.ts';
import {
  applyActionLocally,
  applyPartialUpdate,
  applyReplace,
  buildEntity,
  checkCategories,
  checkId,
  isLinkKind,
  resolveAction,
  type ActionInvocation,
  type Entity,
} from '../model/entity.ts';
import { isReservedPath, toPath } from '../model/location.ts';
import { ConflictError, NotFoundError, OcciError, ValidationError, type FieldProblem } from '../errors.ts';
import type { EntityItem } from '../render/occi-json/entities.ts';
import type { CategoryRegistry } from '../registry/registry.ts';
import type { EntityFilterPattern } from '../store/entity-filter.ts';
import type { EntityStore, ListScope } from '../store/entity-store.ts';

/** How the request refers to this server, to tell local link ends from external ones. */
export interface RequestOrigin {
  /** Origins (`http://host:port`) that mean this server. */
  origins: string[];
}

/** Limits that bound one request. */
export interface EntityLimits {
  itemsPerRequest: number;
}

/** A resolved collection: what a path ending in `/` means. */
export type Collection = { type: 'kind'; kind: Kind } | { type: 'mixin'; mixin: Mixin } | { type: 'path'; path: string };

/** Time-ordered ids suit CouchDB's B-tree: a millisecond timestamp prefix, then randomness. */
export function newId(): string {
  return `${Date.now().toString(16).padStart(12, '0')}-${randomUUID().slice(9)}`;
}

/** Entity operations on the local store. */
export class EntityService {
  constructor(
    readonly registry: CategoryRegistry,
    readonly store: EntityStore,
    private readonly limits: EntityLimits,
  ) {}

  /** What a collection path means: a kind location, a mixin location, or a plain path. */
  collection(path: string): Collection {
    const category = this.registry.byLocation(path);
    if (category?.class === 'kind') return { type: 'kind', kind: category };
    if (category?.class === 'mixin') return { type: 'mixin', mixin: category };
    return { type: 'path', path };
  }

  /** The listing scope of a collection: a kind collection holds its sub-kinds' entities too. */
  scope(collection: Collection): ListScope {
    if (collection.type === 'kind') return { kinds: this.registry.descendants(categoryId(collection.kind)) };
    if (collection.type === 'mixin') return { mixin: categoryId(collection.mixin) };
    return { below: collection.path };
  }

  /** One entity, with its outgoing links when it is a resource. */
  async read(location: string): Promise<{ entity: Entity; links: Entity[] }> {
    const entity = await this.store.get(location);
    if (!entity) throw new NotFoundError(`no entity at ${location}`);
    const links = entity.source === undefined ? ((await this.store.linksFrom([location])).get(location) ?? []) : [];
    return { entity, links };
  }

  /** Outgoing links of several resources, by source. */
  linksOf(entities: Entity[]): Promise<Map<string, Entity[]>> {
    return this.store.linksFrom(entities.filter((e) => e.source === undefined).map((e) => e.location));
  }

  /** A page of a collection. */
  list(collection: Collection, patterns: EntityFilterPattern[], skip: number, limit: number): Promise<{ entities: Entity[]; more: boolean }> {
    return this.store.list({ scope: this.scope(collection), patterns, skip, limit });
  }

  /** Resolves a link end: a local path (which must exist for sources) or an external URL. */
  #linkEnd(ref: string, origin: RequestOrigin, pointer: string, problems: FieldProblem[]): string | undefined {
    const trimmed = ref.trim();
    const isLocal = trimmed.startsWith('/') || origin.origins.some((o) => trimmed === o || trimmed.startsWith(`${o}/`));
    if (!isLocal) {
      try {
        new URL(trimmed);
        return trimmed;
      } catch {
        problems.push({ pointer, message: `"${ref}" is neither a path of this server nor an absolute URL` });
        return undefined;
      }
    }
    const path = toPath(trimmed);
    if ('error' in path) {
      problems.push({ pointer, message: path.error });
      return undefined;
    }
    return path.path;
  }

  /**
   * Builds the entities of a creation request without writing anything: ids, locations, link ends,
   * inline links. Every problem of every item is reported at once.
   */
  async #prepare(items: EntityItem[], placeAt: (item: EntityItem, kind: Kind) => string, origin: RequestOrigin): Promise<Entity[]> {
    const problems: FieldProblem[] = [];
    const out: Entity[] = [];
    const total = items.reduce((n, item) => n + 1 + item.links.length, 0);
    if (total > this.limits.itemsPerRequest) {
      throw new OcciError('payload-too-large', `a request may create at most ${this.limits.itemsPerRequest} entities, this one has ${total}`);
    }
    const build = (item: EntityItem, location: string, source?: string) => {
      const input = { ...item.input };
      if (source) input.source = source;
      for (const end of ['source', 'target'] as const) {
        const ref = input[end];
        if (ref !== undefined) {
          const resolved = this.#linkEnd(ref, origin, `${item.pointer}/${end}`, problems);
          if (resolved) input[end] = resolved;
          else delete input[end];
        }
      }
      try {
        out.push(buildEntity(this.registry, location, input, item.pointer));
      } catch (err) {
        if (err instanceof ValidationError) problems.push(...err.problems);
        else throw err;
      }
    };
    for (const item of items) {
      const kind = item.input.kind ? this.registry.kind(item.input.kind) : undefined;
      if (!kind) {
        problems.push({ pointer: `${item.pointer}/kind`, message: item.input.kind ? `kind "${item.input.kind}" does not exist` : 'is required' });
        continue;
      }
      if (item.id !== undefined) {
        const why = checkId(item.id);
        if (why) {
          problems.push({ pointer: `${item.pointer}/id`, message: `id "${item.id}" ${why}` });
          continue;
        }
      }
      const location = placeAt(item, kind);
      build(item, location);
      for (const link of item.links) {
        const linkKind = link.input.kind ? this.registry.kind(link.input.kind) : undefined;
        if (!linkKind || !isLinkKind(this.registry, categoryId(linkKind))) {
          problems.push({ pointer: `${link.pointer}/kind`, message: `an inline link needs a link kind, not "${link.input.kind ?? ''}"` });
          continue;
        }
        build(link, `${linkKind.location}${link.id ?? newId()}`, location);
      }
    }
    const seen = new Map<string, number>();
    out.forEach((e, i) => {
      if (seen.has(e.location)) problems.push({ pointer: `/`, message: `two entities of the request would live at ${e.location}` });
      seen.set(e.location, i);
    });
    if (problems.length > 0) throw new ValidationError(`${problems[0]!.pointer}: ${problems[0]!.message}`, problems);
    await this.#checkLinkEnds(out);
    return out;
  }

  /** A link's source must be a resource that exists here (or is created in the same request); so must a local target. */
  async #checkLinkEnds(entities: Entity[]): Promise<void> {
    const creating = new Map(entities.map((e) => [e.location, e]));
    const local = entities.flatMap((e) => [e.source, e.target]).filter((r): r is string => r !== undefined && r.startsWith('/') && !creating.has(r));
    const found = await this.store.getMany(local);
    const problems: FieldProblem[] = [];
    for (const e of entities) {
      if (e.source === undefined) continue;
      const source = creating.get(e.source) ?? found.get(e.source);
      if (!source) problems.push({ pointer: '/source', message: `the link source ${e.source} does not exist` });
      else if (source.source !== undefined) problems.push({ pointer: '/source', message: `the link source ${e.source} is a link, not a resource` });
      if (e.target!.startsWith('/') && !creating.has(e.target!) && !found.has(e.target!)) problems.push({ pointer: '/target', message: `the link target ${e.target!} does not exist` });
    }
    if (problems.length > 0) throw new ValidationError(problems[0]!.message, problems);
  }

  /**
   * Creates one or many entities in a kind collection, all or nothing. Items must be of that kind
   * (or a sub-kind); ids are generated when absent.
   */
  async createInCollection(kind: Kind, items: EntityItem[], origin: RequestOrigin): Promise<Entity[]> {
    const kindId = categoryId(kind);
    const problems: FieldProblem[] = [];
    for (const item of items) {
      item.input.kind ??= kindId;
      if (!this.registry.descendants(kindId).includes(item.input.kind)) {
        problems.push({ pointer: `${item.pointer}/kind`, message: `"${item.input.kind}" is not ${kindId} or one of its sub-kinds; post it to its own location` });
      }
    }
    if (problems.length > 0) throw new ValidationError(`${problems[0]!.pointer}: ${problems[0]!.message}`, problems);
    const entities = await this.#prepare(items, (item, k) => `${k.location}${item.id ?? newId()}`, origin);
    return this.store.createMany(entities);
  }

  /** Creates an entity at a client-chosen location (PUT on a free URL). */
  async createAt(location: string, item: EntityItem, origin: RequestOrigin): Promise<Entity> {
    if (isReservedPath(location) || this.registry.byLocation(`${location}/`)) throw new ValidationError(`${location} is reserved`, [{ pointer: '/', message: 'reserved location' }]);
    const [entity] = await this.store.createMany(await this.#prepare([{ ...item, links: item.links }], () => location, origin));
    return entity!;
  }

  /** Full replacement (PUT on an existing entity); links are left as they are. */
  async replace(location: string, item: EntityItem, ifMatch: string | undefined, origin: RequestOrigin): Promise<Entity> {
    const { after } = await this.store.modify(
      location,
      (current) => {
        const input = { ...item.input };
        const problems: FieldProblem[] = [];
        for (const end of ['source', 'target'] as const) if (input[end] !== undefined) input[end] = this.#linkEnd(input[end], origin, `/${end}`, problems) ?? input[end];
        if (problems.length > 0) throw new ValidationError(problems[0]!.message, problems);
        return applyReplace(this.registry, current, input, item.pointer);
      },
      ifMatch,
    );
    return after;
  }

  /** Partial update (POST on an entity); concurrent partial updates never lose each other's changes. */
  async update(location: string, item: EntityItem, ifMatch: string | undefined): Promise<Entity> {
    const { after } = await this.store.modify(location, (current) => applyPartialUpdate(this.registry, current, item.input, item.pointer), ifMatch);
    return after;
  }

  /** Deletes an entity and its links. */
  async delete(location: string, ifMatch: string | undefined): Promise<void> {
    const entity = await this.store.get(location);
    if (!entity) throw new NotFoundError(`no entity at ${location}`);
    if (ifMatch !== undefined && ifMatch !== entity.rev) throw new OcciError('precondition-failed', `${location} is at revision ${entity.rev ?? '?'}, not ${ifMatch}`);
    await this.store.deleteWithLinks([entity]);
  }

  /** Triggers an action on one entity: validated, then the local state machine. */
  async act(location: string, invocation: ActionInvocation, ifMatch: string | undefined): Promise<Entity> {
    const { after } = await this.store.modify(
      location,
      (current) => {
        const { action, parameters } = resolveAction(this.registry, current, invocation);
        return applyActionLocally(current, categoryId(action), parameters);
      },
      ifMatch,
    );
    return after;
  }

  /**
   * Triggers an action on every member of a collection (optionally filtered): every member is
   * checked first, and none changes when one cannot take the action.
   */
  async actOnCollection(collection: Collection, patterns: EntityFilterPattern[], invocation: ActionInvocation): Promise<Entity[]> {
    const members = await this.store.all(this.scope(collection), patterns, this.limits.itemsPerRequest);
    const planned: { entity: Entity; actionId: string; parameters: Record<string, AttributeValue> }[] = [];
    for (const entity of members) {
      const { action, parameters } = resolveAction(this.registry, entity, invocation);
      applyActionLocally(entity, categoryId(action), parameters);
      planned.push({ entity, actionId: categoryId(action), parameters });
    }
    const out: Entity[] = [];
    for (const { entity, actionId, parameters } of planned) {
      const { after } = await this.store.modify(entity.location, (current) => applyActionLocally(current, actionId, parameters));
      out.push(after);
    }
    return out;
  }

  /** Deletes the members of a collection (all or filtered), with their links. */
  async deleteCollection(collection: Collection, patterns: EntityFilterPattern[]): Promise<Entity[]> {
    const members = await this.store.all(this.scope(collection), patterns, this.limits.itemsPerRequest);
    return this.store.deleteWithLinks(members);
  }

  /** Resolves a location list to existing entities; every unknown one is reported. */
  async #entitiesAt(locations: string[], origin: RequestOrigin): Promise<Entity[]> {
    if (locations.length > this.limits.itemsPerRequest) throw new OcciError('payload-too-large', `at most ${this.limits.itemsPerRequest} locations per request`);
    const problems: FieldProblem[] = [];
    const paths = locations.map((l, i) => this.#linkEnd(l, origin, `/X-OCCI-Location/${i}`, problems) ?? '');
    if (problems.length > 0) throw new ValidationError(problems[0]!.message, problems);
    const found = await this.store.getMany(paths);
    paths.forEach((p, i) => {
      if (!found.has(p)) problems.push({ pointer: `/X-OCCI-Location/${i}`, message: `no entity at ${locations[i]!}` });
    });
    if (problems.length > 0) throw new NotFoundError(problems.map((p) => p.message).join('; '));
    return paths.map((p) => found.get(p)!);
  }

  /** Associates the mixin with the listed entities (POST on a mixin location). */
  async associate(mixin: Mixin, locations: string[], origin: RequestOrigin): Promise<Entity[]> {
    const mixinId = categoryId(mixin);
    const entities = await this.#entitiesAt(locations, origin);
    const problems: FieldProblem[] = [];
    entities.forEach((e, i) => checkCategories(this.registry, e.kind, [mixinId], `/X-OCCI-Location/${i}`, problems));
    if (problems.length > 0) throw new ValidationError(problems[0]!.message, problems);
    const out: Entity[] = [];
    for (const entity of entities) {
      const { after } = await this.store.modify(entity.location, (current) =>
        current.mixins.includes(mixinId) ? current : applyPartialUpdate(this.registry, current, { mixins: [mixinId] }, ''),
      );
      out.push(after);
    }
    return out;
  }

  /** Removes the mixin from the listed entities (DELETE with a body on a mixin location). */
  async dissociate(mixin: Mixin, locations: string[], origin: RequestOrigin): Promise<Entity[]> {
    const mixinId = categoryId(mixin);
    const entities = await this.#entitiesAt(locations, origin);
    const out: Entity[] = [];
    for (const entity of entities) {
      const { after } = await this.store.modify(entity.location, (current) => ({ ...current, mixins: current.mixins.filter((m) => m !== mixinId) }));
      out.push(after);
    }
    return out;
  }

  /** Makes the listed entities exactly the mixin's members (PUT on a mixin location). */
  async replaceMembership(mixin: Mixin, locations: string[], origin: RequestOrigin): Promise<Entity[]> {
    const wanted = await this.#entitiesAt(locations, origin);
    const current = await this.store.all({ mixin: categoryId(mixin) }, [], this.limits.itemsPerRequest * 10);
    const keep = new Set(wanted.map((e) => e.location));
    const leaving = current.filter((e) => !keep.has(e.location)).map((e) => e.location);
    const members = await this.associate(mixin, wanted.map((e) => e.location), origin);
    if (leaving.length > 0) await this.dissociate(mixin, leaving, origin);
    return members;
  }

  /** The conflict a create-at-URL answers when something already lives there. */
  static alreadyExists(location: string): ConflictError {
    return new ConflictError(`${location} already exists`);
  }
}
