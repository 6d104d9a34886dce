/**
 * @module The query interface (`/-/`, mirrored at `/.well-known/org/ogf/occi/-/`): discovery and
 * filtering of categories, and the category manager's add, update and delete.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { categoryId, type CategoryClass } from '../../model/category.ts';
import { ValidationError } from '../../errors.ts';
import { assertSchema } from '../../render/occi-json/schemas.ts';
import { parseCategoryCollection, parseCategoryFilter, renderCategoryCollection } from '../../render/occi-json/categories.ts';
import { filterCategories, type CategoryFilter } from '../../registry/category-filter.ts';
import type { CategoryRef, ProviderUpdate } from '../../registry/category-manager.ts';
import { negotiate } from '../negotiate.ts';
import type { Services } from '../services.ts';

/** The query-interface paths: the OCCI one and its RFC 5785 mirror. */
export const QUERY_PATHS = ['/-/', '/.well-known/org/ogf/occi/-/'];

type Json = Record<string, unknown>;

/** The parsed JSON body, or undefined when the request had none. */
export function jsonBody(ctx: Context): Json | undefined {
  const body = (ctx.request as { body?: unknown }).body;
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0 && !ctx.get('Content-Length')) return undefined;
  if (typeof body !== 'object' || Array.isArray(body)) throw new ValidationError('the request body must be a JSON object', [{ pointer: '/', message: 'must be an object' }]);
  return body as Json;
}

function requireBody(ctx: Context): Json {
  const body = jsonBody(ctx);
  if (!body) throw new ValidationError('this request needs a JSON body (Content-Type: application/occi+json)', [{ pointer: '/', message: 'is missing' }]);
  return body;
}

function queryString(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new ValidationError(`query parameter "${name}" is given more than once`, [{ pointer: `?${name}`, message: 'must be given once' }]);
  return value === undefined || value === '' ? undefined : value;
}

/** Reads the filter of GET /-/: the JSON body (pyOCNI) and the query string (`category`, `class`, `scheme`, `term`). */
function readFilter(ctx: Context): CategoryFilter {
  const filter: CategoryFilter = {};
  const body = jsonBody(ctx);
  if (body) {
    assertSchema('category-filter', body);
    filter.byClass = parseCategoryFilter(body);
  }
  const id = queryString(ctx, 'category');
  if (id) filter.id = id;
  const cls = queryString(ctx, 'class');
  if (cls) {
    if (!['kind', 'mixin', 'action'].includes(cls)) throw new ValidationError(`?class must be kind, mixin or action, not "${cls}"`, [{ pointer: '?class', message: 'must be kind, mixin or action' }]);
    filter.class = cls as CategoryClass;
  }
  const scheme = queryString(ctx, 'scheme');
  if (scheme) filter.scheme = scheme;
  const term = queryString(ctx, 'term');
  if (term) filter.term = term;
  return filter;
}

function refsOf(body: Json): CategoryRef[] {
  const refs: CategoryRef[] = [];
  for (const key of ['kinds', 'mixins', 'actions']) {
    const items = Array.isArray(body[key]) ? (body[key] as unknown[]) : [];
    items.forEach((item, i) => {
      const id = typeof item === 'string' ? item : `${(item as Json).scheme as string}${(item as Json).term as string}`;
      refs.push({ id, pointer: `/${key}/${i}` });
    });
  }
  return refs;
}

function providersOf(body: Json): ProviderUpdate[] {
  const items = Array.isArray(body.providers) ? (body.providers as Json[]) : [];
  return items.map((item, i) => ({
    kindId: (item.OCCI_ID ?? item.kind) as string,
    provider: (item.Provider ?? item.provider) as ProviderUpdate['provider'],
    pointer: `/providers/${i}`,
  }));
}

/** Registers the query-interface routes on `router`. */
export function queryInterfaceRoutes(router: Router, services: Services): void {
  const { categories } = services;
  const render = (ctx: Context, list: Parameters<typeof renderCategoryCollection>[0]) => {
    ctx.type = negotiate(ctx);
    // Providers are operator information; until authentication exists every caller is an operator.
    ctx.body = renderCategoryCollection(list, { provider: (id) => categories.registry.provider(id) });
  };

  for (const path of QUERY_PATHS) {
    router.get(path, (ctx) => {
      negotiate(ctx);
      render(ctx, filterCategories(categories.registry.all(), readFilter(ctx)));
    });

    router.post(path, async (ctx) => {
      negotiate(ctx);
      const body = requireBody(ctx);
      assertSchema('category-collection', body);
      const added = await categories.add(parseCategoryCollection(body));
      ctx.status = 200;
      render(ctx, added);
    });

    router.put(path, async (ctx) => {
      negotiate(ctx);
      const body = requireBody(ctx);
      assertSchema('category-update', body);
      const { categories: changed, providers } = await categories.update(parseCategoryCollection(body), providersOf(body));
      const touched = [...changed, ...providers.map((id) => categories.registry.get(id)!).filter((c) => !changed.some((d) => categoryId(d) === categoryId(c)))];
      render(ctx, touched);
    });

    router.delete(path, async (ctx) => {
      negotiate(ctx);
      const body = requireBody(ctx);
      assertSchema('category-delete', body);
      const cascade = queryString(ctx, 'cascade');
      if (cascade !== undefined && cascade !== 'true' && cascade !== 'false') {
        throw new ValidationError('?cascade must be true or false', [{ pointer: '?cascade', message: 'must be true or false' }]);
      }
      const removed = await categories.remove(refsOf(body), { cascade: cascade === 'true' });
      render(ctx, removed);
    });
  }
}
