/**
 * @module Every path outside the query interface: kind and mixin collections, plain paths, and
 * single entities, with the OCCI verb table (DESIGN §5) in application/occi+json.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { categoryId, type AttributeDefinitions } from '../../model/category.ts';
import { toPath, isReservedPath } from '../../model/location.ts';
import type { Entity } from '../../model/entity.ts';
import { NotFoundError, OcciError, ValidationError } from '../../errors.ts';
import { assertSchema } from '../../render/occi-json/schemas.ts';
import {
  parseActionInvocation,
  parseEntities,
  parseEntityFilter,
  parseLocationList,
  renderCreated,
  renderEntityCollection,
  renderEntityDocument,
  type EntityItem,
  type EntityRenderContext,
} from '../../render/occi-json/entities.ts';
import type { EntityFilterPattern } from '../../store/entity-filter.ts';
import type { Collection } from '../../backends/entity-service.ts';
import { negotiate } from '../negotiate.ts';
import { backendContext, baseUrl, ifMatch, jsonProfile, paging, queryValue, queryValues, requestOrigin } from '../request-context.ts';
import type { Services } from '../services.ts';
import { jsonBody } from './query-interface.ts';

type Json = Record<string, unknown>;

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
  const type = definitions[name]?.type;
  if (type === 'number' && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
  if (type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
  if (type === undefined) {
    if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
    if (raw === 'true' || raw === 'false') return raw === 'true';
  }
  return raw;
}

/** The three request items of a single-entity body (`{...}` or a one-item envelope). */
function singleItem(body: Json): EntityItem {
  const items = parseEntities(body);
  if (items.length !== 1) throw new ValidationError(`this request takes exactly one entity, the body has ${items.length}`, [{ pointer: '/', message: 'must hold one entity' }]);
  return items[0]!;
}

function assertEntityBody(body: Json): void {
  assertSchema('resources' in body || 'links' in body ? (typeof body.kind === 'string' ? 'entity' : 'entity-collection') : 'entity', body);
}

/** Registers the entity routes (after the query interface). */
export function entityRoutes(router: Router, services: Services): void {
  const { entityService: entities, config } = services;
  const registry = entities.registry;

  const renderContext = (ctx: Context): EntityRenderContext => ({ baseUrl: baseUrl(ctx, config), lookup: registry, profile: jsonProfile(ctx, config) });

  /** Filters from the body (pyOCNI) and the query string (`category`, `attribute`/`value` pairs), combined with AND. */
  const readFilter = (ctx: Context, collection: Collection, withBody: boolean): EntityFilterPattern[] => {
    const fromQuery: EntityFilterPattern = {};
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
    const definitions = collection.type === 'kind' ? registry.kindAttributes(categoryId(collection.kind)) : {};
    if (names.length > 0) {
      fromQuery.attributes = {};
      names.forEach((name, i) => (fromQuery.attributes![name] = typedValue(values[i]!, name, definitions)));
    }
    let patterns: EntityFilterPattern[] = [];
    const body = withBody ? jsonBody(ctx) : undefined;
    if (body) {
      assertSchema('entity-filter', body);
      patterns = parseEntityFilter(body);
    }
    const queryGiven = Object.keys(fromQuery).length > 0;
    if (patterns.length === 0) return queryGiven ? [fromQuery] : [];
    return patterns.map((p) => ({ ...p, ...fromQuery, attributes: { ...p.attributes, ...fromQuery.attributes }, mixins: [...(p.mixins ?? []), ...(fromQuery.mixins ?? [])] }));
  };

  const linksOf = async (list: Entity[]) => {
    const grouped = await entities.linksOf(list);
    return (e: Entity) => grouped.get(e.location) ?? [];
  };

  const sendEntity = (ctx: Context, entity: Entity, links: Entity[] = []) => {
    ctx.type = negotiate(ctx);
    if (entity.rev) ctx.set('ETag', `"${entity.rev}"`);
    ctx.body = renderEntityDocument(entity, renderContext(ctx), links);
  };

  const sendCollection = async (ctx: Context, list: Entity[]) => {
    ctx.type = negotiate(ctx);
    ctx.body = renderEntityCollection(list, renderContext(ctx), await linksOf(list));
  };

  const action = (ctx: Context) => queryValue(ctx, 'action');

  // GET: a collection (paged, filtered) or one entity.
  router.get('/{*path}', async (ctx) => {
    const path = requestPath(ctx);
    negotiate(ctx);
    if (!path.endsWith('/')) {
      const { entity, links } = await entities.read(path, backendContext(ctx, config));
      if (ctx.get('If-None-Match').replace(/"/g, '') === entity.rev) {
        ctx.status = 304;
        return;
      }
      sendEntity(ctx, entity, links);
      return;
    }
    const collection = entities.collection(path);
    const { page, number, skip } = paging(ctx, config);
    const { entities: list, more } = await entities.list(collection, readFilter(ctx, collection, true), skip, number);
    if (more) {
      const next = new URL(baseUrl(ctx, config) + ctx.originalUrl);
      next.searchParams.set('page', String(page + 1));
      next.searchParams.set('number', String(number));
      ctx.set('Link', `<${next.toString()}>; rel="next"`);
    }
    await sendCollection(ctx, list);
  });

  // POST: create in a kind collection, associate with a mixin, act on a collection, or update / act on one entity.
  router.post('/{*path}', async (ctx) => {
    const path = requestPath(ctx);
    negotiate(ctx);
    const term = action(ctx);
    const body = jsonBody(ctx);
    if (path.endsWith('/')) {
      const collection = entities.collection(path);
      if (collection.type === 'path') methodNotAllowed(ctx, 'GET, HEAD, DELETE');
      if (term !== undefined || (body && ('action' in body || 'actions' in body) && !('resources' in body))) {
        if (body) assertSchema('action-invocation', body);
        const changed = await entities.actOnCollection(collection, readFilter(ctx, collection, false), { ...parseActionInvocation(body), ...(term ? { term } : {}) }, backendContext(ctx, config));
        await sendCollection(ctx, changed);
        return;
      }
      if (!body) throw new ValidationError('this request needs a JSON body', [{ pointer: '/', message: 'is missing' }]);
      if (collection.type === 'mixin') {
        assertSchema('location-list', body);
        const members = await entities.associate(collection.mixin, parseLocationList(body), requestOrigin(ctx, config), backendContext(ctx, config));
        await sendCollection(ctx, members);
        return;
      }
      assertEntityBody(body);
      const created = await entities.createInCollection(collection.kind, parseEntities(body), requestOrigin(ctx, config), backendContext(ctx, config));
      ctx.status = 201;
      ctx.set('Location', baseUrl(ctx, config) + created[0]!.location);
      ctx.type = negotiate(ctx);
      // Inline links show inside their resource, not beside it.
      const top = created.filter((e) => e.source === undefined || !created.some((r) => r.location === e.source));
      ctx.body = renderCreated(top, renderContext(ctx), await linksOf(created));
      return;
    }
    if (term !== undefined || (body && ('action' in body || 'actions' in body) && !('resources' in body) && !('kind' in body))) {
      if (body) assertSchema('action-invocation', body);
      const changed = await entities.act(path, { ...parseActionInvocation(body), ...(term ? { term } : {}) }, ifMatch(ctx), backendContext(ctx, config));
      sendEntity(ctx, changed);
      return;
    }
    if (!body) throw new ValidationError('a partial update needs a JSON body', [{ pointer: '/', message: 'is missing' }]);
    assertEntityBody(body);
    const updated = await entities.update(path, singleItem(body), ifMatch(ctx), backendContext(ctx, config));
    sendEntity(ctx, updated);
  });

  // PUT: replace a mixin's membership, or create at / fully replace one entity.
  router.put('/{*path}', async (ctx) => {
    const path = requestPath(ctx);
    negotiate(ctx);
    const body = jsonBody(ctx);
    if (!body) throw new ValidationError('this request needs a JSON body', [{ pointer: '/', message: 'is missing' }]);
    if (path.endsWith('/')) {
      const collection = entities.collection(path);
      if (collection.type !== 'mixin') methodNotAllowed(ctx, collection.type === 'kind' ? 'GET, HEAD, POST, DELETE' : 'GET, HEAD, DELETE');
      assertSchema('location-list', body);
      const members = await entities.replaceMembership(collection.mixin, parseLocationList(body), requestOrigin(ctx, config), backendContext(ctx, config));
      await sendCollection(ctx, members);
      return;
    }
    assertEntityBody(body);
    const item = singleItem(body);
    const existing = await entities.store.get(path);
    if (existing) {
      sendEntity(ctx, await entities.replace(path, item, ifMatch(ctx), requestOrigin(ctx, config), backendContext(ctx, config)));
      return;
    }
    if (ctx.get('If-Match')) throw new OcciError('precondition-failed', `nothing exists at ${path} to match`);
    const created = await entities.createAt(path, item, requestOrigin(ctx, config), backendContext(ctx, config));
    ctx.status = 201;
    ctx.set('Location', baseUrl(ctx, config) + created.location);
    ctx.type = negotiate(ctx);
    if (created.rev) ctx.set('ETag', `"${created.rev}"`);
    ctx.body = renderCreated([created], renderContext(ctx));
  });

  // DELETE: a collection's members (all or filtered), a mixin's listed members, or one entity.
  router.delete('/{*path}', async (ctx) => {
    const path = requestPath(ctx);
    negotiate(ctx);
    if (!path.endsWith('/')) {
      await entities.delete(path, ifMatch(ctx), backendContext(ctx, config));
      ctx.status = 204;
      return;
    }
    const collection = entities.collection(path);
    const body = jsonBody(ctx);
    if (collection.type === 'mixin' && body && !('resources' in body) && !('links' in body)) {
      assertSchema('location-list', body);
      await entities.dissociate(collection.mixin, parseLocationList(body), requestOrigin(ctx, config), backendContext(ctx, config));
      ctx.status = 204;
      return;
    }
    const patterns = readFilter(ctx, collection, true);
    if (collection.type === 'mixin') {
      const members = await entities.store.all({ mixin: categoryId(collection.mixin) }, patterns, config.limits.itemsPerRequest);
      await entities.dissociate(collection.mixin, members.map((m) => m.location), requestOrigin(ctx, config), backendContext(ctx, config));
    } else {
      await entities.deleteCollection(collection, patterns, backendContext(ctx, config));
    }
    ctx.status = 204;
  });
}
