/**
 * @module Every path outside the query interface: kind and mixin collections, plain paths, and
 * single entities, with the OCCI verb table (DESIGN §5), in every rendering.
 */
import type Router from '@koa/router';
import { entityProblems } from '../../model/entity-view.ts';
import type { Context } from 'koa';
import { categoryId, type AttributeDefinitions } from '../../model/category.ts';
import { toPath, isReservedPath } from '../../model/location.ts';
import { isLinkKind, ownDefinition, type ActionInvocation, type Entity, type EntityPattern } from '../../model/entity.ts';
import { ConflictError, NotFoundError, OcciError, ValidationError } from '../../errors.ts';
import { assertSchema } from '../../render/occi-json/schemas.ts';
import { parseActionInvocation, parseEntities, parseEntityFilter, parseLocationList, type EntityItem } from '../../render/occi-json/entities.ts';
import { actionFromLines, entityFilterFromLines, entityFromLines, locationsFromLines, type ClassOf } from '../../render/occi-text.ts';
import type { CategoryRegistry } from '../../registry/registry.ts';
import type { Collection } from '../../backends/entity-service.ts';
import { assertQueryable } from '../../store/entity-query.ts';
import { negotiate } from '../negotiate.ts';
import { backendContext, baseUrl, idempotencyKey, ifMatch, paging, queryValue, queryValues, requestOrigin } from '../request-context.ts';
import { readContent, type RequestContent } from '../request-body.ts';
import { encode, renderContext, respond, type Encoded } from '../respond.ts';
import type { Services } from '../services.ts';

/** Longest `X-OCCI-Location` list set on a creation's answer. */
const MAX_LISTED_LOCATIONS_BYTES = 8 * 1024;

/** The path of the request, checked: a collection ends in `/`, an entity does not. */
function requestPath(ctx: Context): string {
  const result = toPath(ctx.path);
  if ('error' in result || isReservedPath(ctx.path)) throw new NotFoundError(`nothing is at ${ctx.path}`);
  return result.path;
}

function methodNotAllowed(ctx: Context, allowed: string): never {
  ctx.set('Allow', allowed);
  throw new OcciError('method-not-allowed', `${ctx.method} is not allowed on ${ctx.path}; allowed: ${allowed}`);
}

/** Reads a query-string value with the type its attribute definition gives (numbers, booleans). */
function typedValue(raw: string, name: string, definitions: AttributeDefinitions): unknown {
  const type = ownDefinition(definitions, name)?.type;
  if (type === 'number' && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
  if (type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
  if (type === undefined) {
    if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
    if (raw === 'true' || raw === 'false') return raw === 'true';
  }
  return raw;
}

function missing(what: string): never {
  throw new ValidationError(`this request needs a body: ${what}`, [{ pointer: '/', message: 'is missing' }]);
}

/** The class the registry (as this caller sees it) gives a category, for text lines that leave it out. */
function classOfIn(registry: CategoryRegistry): ClassOf {
  return (id) => registry.get(id)?.class;
}

/** The entities of a creation or update, whatever the format. */
function entityItems(content: RequestContent, classOf?: ClassOf): EntityItem[] {
  if (content.format === 'json') {
    const body = content.json;
    assertSchema(typeof body.kind === 'string' || !('resources' in body || 'links' in body) ? 'entity' : 'entity-collection', body);
    return parseEntities(body);
  }
  if (content.format === 'text') return [entityFromLines(content.lines, classOf)];
  return missing('an entity in application/occi+json, text/plain or text/occi');
}

/** Exactly one entity (PUT, partial update). */
function singleItem(content: RequestContent, classOf?: ClassOf): EntityItem {
  const items = entityItems(content, classOf);
  if (items.length !== 1) throw new ValidationError(`this request takes exactly one entity, the body has ${items.length}`, [{ pointer: '/', message: 'must hold one entity' }]);
  return items[0]!;
}

/** A location list, whatever the format. */
function locations(content: RequestContent, registry: CategoryRegistry): string[] {
  if (content.format === 'json') {
    // GFD.223: association and replacement of a mixin collection also take an entity collection.
    if (Array.isArray(content.json.resources) || Array.isArray(content.json.links)) {
      assertSchema('entity-collection', content.json);
      return locationsOfCollection(content.json, registry);
    }
    assertSchema('location-list', content.json);
    return parseLocationList(content.json);
  }
  if (content.format === 'text') return locationsFromLines(content.lines);
  return missing('a list of locations');
}

/**
 * The locations an entity collection rendering names: an entity's `location` (the ocni and pyOCNI
 * profiles), else its kind's location and its `id` (GFD.226 renders no location).
 */
function locationsOfCollection(body: Record<string, unknown>, registry: CategoryRegistry): string[] {
  const listed = (value: unknown): unknown[] => (Array.isArray(value) ? (value as unknown[]) : []);
  return [...listed(body.resources), ...listed(body.links)].map((raw, i) => {
    const item = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    if (typeof item.location === 'string') return item.location;
    const kindLocation = typeof item.kind === 'string' ? registry.kind(item.kind)?.location : undefined;
    if (kindLocation && typeof item.id === 'string') return kindLocation + item.id;
    throw new ValidationError(`entity ${i + 1} of the collection names neither its location nor its kind and id`, [{ pointer: `/resources/${i}`, message: 'needs location, or kind and id' }]);
  });
}

/** True when the request invokes an action rather than creating or updating. */
function isInvocation(content: RequestContent, term: string | undefined): boolean {
  if (term !== undefined) return true;
  if (content.format === 'json') return ('action' in content.json || 'actions' in content.json) && !('resources' in content.json) && !('kind' in content.json);
  return false;
}

/** An action invocation, whatever the format; an HTML form's fields are the parameters. */
function invocation(content: RequestContent, term: string | undefined): ActionInvocation {
  let parsed: { action?: string; parameters: Record<string, unknown> } = { parameters: {} };
  if (content.format === 'json') {
    assertSchema('action-invocation', content.json);
    parsed = parseActionInvocation(content.json);
  } else if (content.format === 'text') parsed = actionFromLines(content.lines);
  else if (content.format === 'form') {
    // Form fields are strings: numbers and booleans are read as such, so an HTML form can set them.
    const parameters: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(content.fields)) if (value !== '') parameters[name] = typedValue(value, name, {});
    parsed = { parameters };
  }
  const out: ActionInvocation = { parameters: parsed.parameters };
  if (parsed.action) out.action = parsed.action;
  if (term) out.term = term;
  // Quoted numbers and booleans of a text client are read by the parameter's definition.
  if (content.format === 'text') out.fromForm = true;
  return out;
}

/** Registers the entity routes (after the query interface). */
export function entityRoutes(router: Router, services: Services): void {
  const { entityService: entities, config } = services;
  const registry = entities.registry;
  const context = (ctx: Context) => renderContext(ctx, config, registry);

  /** Filters from the body (pyOCNI JSON or OCCI text lines) and the query string, combined with AND. */
  const readFilter = (ctx: Context, collection: Collection, content: RequestContent | undefined): EntityPattern[] => {
    const fromQuery: EntityPattern = {};
    const category = queryValue(ctx, 'category');
    if (category) {
      const found = registry.get(category);
      if (!found || found.class === 'action') throw new ValidationError(`?category names no kind or mixin: "${category}"`, [{ pointer: '?category', message: 'is not a kind or mixin' }]);
      if (found.class === 'kind') fromQuery.kind = category;
      else fromQuery.mixins = [category];
    }
    const names = queryValues(ctx, 'attribute');
    const values = queryValues(ctx, 'value');
    if (names.length !== values.length) throw new ValidationError('each ?attribute needs a ?value', [{ pointer: '?value', message: 'must pair with ?attribute' }]);
    const definitions = collection.type === 'kind' ? registry.kindAttributes(categoryId(collection.kind)) : collection.type === 'mixin' ? collection.mixin.attributes : {};
    if (names.length > 0) {
      // Names are the client's: a null-prototype object keeps `__proto__` an ordinary name.
      fromQuery.attributes = Object.create(null) as Record<string, unknown>;
      names.forEach((name, i) => (fromQuery.attributes![name] = typedValue(values[i]!, name, definitions)));
    }
    let patterns: EntityPattern[] = [];
    if (content?.format === 'json') {
      assertSchema('entity-filter', content.json);
      patterns = parseEntityFilter(content.json, definitions);
    } else if (content?.format === 'text') patterns = entityFilterFromLines(content.lines);
    const queryGiven = Object.keys(fromQuery).length > 0;
    // Each condition costs the store work: the number a filter may hold is bounded.
    const terms =
      names.length +
      (category ? 1 : 0) +
      patterns.reduce((n, p) => n + Object.keys(p.attributes ?? {}).length + (p.mixins?.length ?? 0) + ['kind', 'title', 'summary', 'id'].filter((m) => m in p).length, 0);
    if (terms > config.limits.filterTerms) {
      throw new ValidationError(`the filter has ${terms} conditions, more than the limit of ${config.limits.filterTerms}`, [{ pointer: '/', message: 'too many filter conditions' }]);
    }
    // Only what a view key can hold reaches the store (a store's 4xx to a query ocni built is ocni's bug).
    for (const pattern of [...patterns, fromQuery]) assertQueryable(pattern);
    if (patterns.length === 0) return queryGiven ? [fromQuery] : [];
    return patterns.map((p) => ({ ...p, ...fromQuery, attributes: { ...p.attributes, ...fromQuery.attributes }, mixins: [...(p.mixins ?? []), ...(fromQuery.mixins ?? [])] }));
  };

  const linksOf = async (list: Entity[]) => {
    const grouped = await entities.linksOf(list);
    return (e: Entity) => grouped.get(e.location) ?? [];
  };

  const sendEntity = (ctx: Context, entity: Entity, links: Entity[] = []) => {
    const renderer = negotiate(ctx);
    if (entity.rev) ctx.set('ETag', `"${entity.rev}"`);
    respond(ctx, renderer.entity(entity, links, context(ctx)));
  };

  const sendCollection = async (ctx: Context, list: Entity[], next?: string, linkCollection = false) => {
    const renderer = negotiate(ctx, true);
    respond(ctx, renderer.collection(list, await linksOf(list), { ...context(ctx), ...(next ? { next } : {}), ...(linkCollection ? { linkCollection } : {}) }));
  };

  /** GFD.223: association and dissociation answer 200 with the mixin collection as it now is (its first page). */
  const sendMembers = async (ctx: Context, collection: Collection, number: number) => {
    const { entities: list } = await entities.list(collection, [], 0, number, backendContext(ctx, config));
    await sendCollection(ctx, list);
  };

  /** Inline links show inside their resource, not beside it: the entities a creation's answer lists at its top. */
  const topOfCreated = (created: Entity[]): Entity[] => {
    const createdHere = new Set(created.map((e) => e.location));
    return created.filter((e) => e.source === undefined || !createdHere.has(e.source));
  };

  /**
   * The body of a creation's answer, encoded. Nothing in it depends on the store's revisions, so
   * it can be made while the store writes. New resources can only have the links created with
   * them, so there is nothing to look up.
   */
  const createdAnswer = (ctx: Context, created: Entity[]): Encoded => {
    const renderer = negotiate(ctx, true);
    const createdHere = new Set(created.map((e) => e.location));
    const inline = new Map<string, Entity[]>();
    for (const e of created) if (e.source !== undefined && createdHere.has(e.source)) inline.set(e.source, [...(inline.get(e.source) ?? []), e]);
    return encode(renderer.created(topOfCreated(created), (e) => inline.get(e.location) ?? [], context(ctx)));
  };

  /** Answers a creation with 201; `ready` is its body when made already (from these entities, without their revisions). */
  const sendCreated = (ctx: Context, created: Entity[], ready?: Encoded): void => {
    ctx.status = 201;
    ctx.set('Location', baseUrl(ctx, config) + created[0]!.location);
    if (created.length === 1 && created[0]!.rev) ctx.set('ETag', `"${created[0]!.rev}"`);
    const top = topOfCreated(created);
    // `Location` holds one URL; every new location is listed (GFD.223: "location(s)") as text
    // renderings list them, in `X-OCCI-Location` — while that fits the 8 KiB of response head
    // clients commonly accept (Node's own limit is 16 KiB); beyond it the body names them all
    // (text: the URLs; JSON: kind and id, and `location` in the ocni profile).
    if (top.length > 1) {
      const base = baseUrl(ctx, config);
      // Measured before it is built: a bulk creation's thousand URLs would be joined to be dropped.
      let length = -2;
      for (const e of top) if ((length += base.length + e.location.length + 2) > MAX_LISTED_LOCATIONS_BYTES) break;
      if (length <= MAX_LISTED_LOCATIONS_BYTES) ctx.set('X-OCCI-Location', top.map((e) => base + e.location).join(', '));
    }
    respond(ctx, ready ?? createdAnswer(ctx, created));
  };

  /** An HTML form is answered with a redirect to the page of what it changed (POST-redirect-GET). */
  const redirectForm = (ctx: Context, content: RequestContent, location: string): boolean => {
    if (content.format !== 'form') return false;
    ctx.status = 303;
    ctx.set('Location', baseUrl(ctx, config) + location);
    ctx.body = '';
    return true;
  };

  // GET: a collection (paged, filtered) or one entity.
  router.get('/{*path}', async (ctx) => {
    const path = requestPath(ctx);
    if (!path.endsWith('/')) {
      negotiate(ctx);
      // `Cache-Control: no-cache` (or HTTP/1.0's `Pragma: no-cache`) asks for a read from the store, past the read cache.
      const fresh = /(^|[\s,])no-cache([\s,]|$)/i.test(`${ctx.get('Cache-Control')},${ctx.get('Pragma')}`);
      const { entity, links } = await entities.read(path, backendContext(ctx, config), { fresh });
      if (ctx.get('If-None-Match').replace(/"/g, '') === entity.rev) {
        ctx.status = 304;
        return;
      }
      // An entity kept through a breaking category change (?entities=keep) is flagged with what no longer fits.
      const invalid = entityProblems(registry, entity);
      if (invalid.length > 0) ctx.set('OCNI-Invalid', invalid.join('; ').replace(/[^\x20-\x7e]/g, '?'));
      sendEntity(ctx, entity, links);
      return;
    }
    negotiate(ctx, true);
    const collection = entities.collection(path);
    const { page, number, skip } = paging(ctx, config);
    // The next link resumes after the last entity listed (`after`): a deep page costs what page 1 costs.
    const { entities: list, more, next: after } = await entities.list(collection, readFilter(ctx, collection, readContent(ctx)), skip, number, backendContext(ctx, config), queryValue(ctx, 'after'));
    let next: string | undefined;
    if (more) {
      const url = new URL(baseUrl(ctx, config) + ctx.originalUrl);
      url.searchParams.set('page', String(page + 1));
      url.searchParams.set('number', String(number));
      if (after !== undefined) url.searchParams.set('after', after);
      next = url.toString();
      ctx.set('Link', `<${next}>; rel="next"`);
    }
    await sendCollection(ctx, list, next, collection.type === 'kind' && isLinkKind(registry, categoryId(collection.kind)));
  });

  // POST: create in a kind collection, associate with a mixin, act on a collection, or update / act on one entity.
  router.post('/{*path}', async (ctx) => {
    const path = requestPath(ctx);
    const term = queryValue(ctx, 'action');
    const content = readContent(ctx, term !== undefined);
    if (path.endsWith('/')) {
      negotiate(ctx, true);
      const collection = entities.collection(path);
      if (collection.type === 'path') methodNotAllowed(ctx, 'GET, HEAD, DELETE');
      if (isInvocation(content, term)) {
        const changed = await entities.actOnCollection(collection, readFilter(ctx, collection, undefined), invocation(content, term), backendContext(ctx, config));
        if (!redirectForm(ctx, content, path)) await sendCollection(ctx, changed);
        return;
      }
      if (collection.type === 'mixin') {
        // GFD.223: the answer is the mixin collection as it now is (its first page).
        const { number } = paging(ctx, config);
        await entities.associate(collection.mixin, locations(content, registry), requestOrigin(ctx, config), backendContext(ctx, config));
        await sendMembers(ctx, collection, number);
        return;
      }
      // The answer is made while the store writes (a creation with an idempotency key may answer
      // with what an earlier attempt stored: its answer waits for the store).
      let ready: Encoded | undefined;
      const created = await entities.createInCollection(
        collection.kind,
        entityItems(content, classOfIn(registry)),
        requestOrigin(ctx, config),
        backendContext(ctx, config),
        idempotencyKey(ctx),
        (storing) => (ready = createdAnswer(ctx, storing)),
      );
      sendCreated(ctx, created, ready);
      return;
    }
    negotiate(ctx);
    if (isInvocation(content, term)) {
      const changed = await entities.act(path, invocation(content, term), ifMatch(ctx), backendContext(ctx, config));
      // GFD.223: the answer is the entity's rendering, its links included.
      if (!redirectForm(ctx, content, path)) sendEntity(ctx, changed, (await entities.linksOf([changed])).get(path) ?? []);
      return;
    }
    const item = singleItem(content, classOfIn(registry));
    // Links given with a partial update of a resource are new links from it, checked before
    // anything changes.
    const links = item.links.length > 0 ? await entities.prepareLinksFrom(path, item.links, requestOrigin(ctx, config), backendContext(ctx, config)) : [];
    let updated = await entities.update(path, item, ifMatch(ctx), backendContext(ctx, config), requestOrigin(ctx, config));
    if (links.length > 0) {
      await entities.createPrepared(links, backendContext(ctx, config));
      updated = (await entities.read(path, backendContext(ctx, config))).entity;
    }
    sendEntity(ctx, updated, (await entities.linksOf([updated])).get(path) ?? []);
  });

  // PUT: replace a mixin's membership, or create at / fully replace one entity.
  router.put('/{*path}', async (ctx) => {
    const path = requestPath(ctx);
    const content = readContent(ctx);
    if (path.endsWith('/')) {
      negotiate(ctx, true);
      const collection = entities.collection(path);
      if (collection.type !== 'mixin') methodNotAllowed(ctx, collection.type === 'kind' ? 'GET, HEAD, POST, DELETE' : 'GET, HEAD, DELETE');
      const members = await entities.replaceMembership(collection.mixin, locations(content, registry), requestOrigin(ctx, config), backendContext(ctx, config));
      await sendCollection(ctx, members);
      return;
    }
    negotiate(ctx);
    const item = singleItem(content, classOfIn(registry));
    const occupant = await entities.occupant(path, backendContext(ctx, config));
    if (occupant === 'mine') {
      // GFD.223: a full update carries an entity rendering and leaves the links intact, so a
      // client may send back what it read; a Link the entity does not have is not created here.
      if (item.links.length > 0) await entities.checkOwnLinks(path, item.links, requestOrigin(ctx, config), backendContext(ctx, config));
      const replaced = await entities.replace(path, item, ifMatch(ctx), requestOrigin(ctx, config), backendContext(ctx, config));
      sendEntity(ctx, replaced, (await entities.linksOf([replaced])).get(path) ?? []);
      return;
    }
    // Another tenant's entity is, for this caller, not there (412 as on a free location), but its
    // location cannot be had: 409, as a creation with a taken id answers, saying nothing of whose.
    if (ctx.get('If-Match')) throw new OcciError('precondition-failed', `nothing exists at ${path} to match`);
    if (occupant === 'taken') throw new ConflictError(`${path} is taken; nothing was created`);
    sendCreated(ctx, [await entities.createAt(path, item, requestOrigin(ctx, config), backendContext(ctx, config))]);
  });

  // DELETE: a collection's members (all or filtered), a mixin's listed members, or one entity.
  router.delete('/{*path}', async (ctx) => {
    const path = requestPath(ctx);
    negotiate(ctx, path.endsWith('/'));
    if (!path.endsWith('/')) {
      await entities.delete(path, ifMatch(ctx), backendContext(ctx, config));
      ctx.status = 204;
      return;
    }
    const collection = entities.collection(path);
    const content = readContent(ctx);
    // The answer's page size is checked before anything changes (a bad ?number is refused whole).
    const { number } = paging(ctx, config);
    const listsLocations =
      (content.format === 'json' && !('resources' in content.json) && !('links' in content.json)) || (content.format === 'text' && content.lines.some((l) => l.name === 'X-OCCI-Location'));
    if (collection.type === 'mixin' && listsLocations) {
      await entities.dissociate(collection.mixin, locations(content, registry), requestOrigin(ctx, config), backendContext(ctx, config));
      await sendMembers(ctx, collection, number);
      return;
    }
    const patterns = readFilter(ctx, collection, content);
    if (collection.type === 'mixin') {
      await entities.dissociateAll(collection.mixin, patterns, requestOrigin(ctx, config), backendContext(ctx, config));
      await sendMembers(ctx, collection, number);
      return;
    }
    await entities.deleteCollection(collection, patterns, backendContext(ctx, config));
    ctx.status = 204;
  });
}
