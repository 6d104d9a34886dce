/**
 * @module The query interface (`/-/`, mirrored at `/.well-known/org/ogf/occi/-/`): discovery and
 * filtering of categories, and the category manager's add, update and delete, in every rendering.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { categoryId, type Category, type CategoryClass } from '../../model/category.ts';
import { ValidationError } from '../../errors.ts';
import { assertSchema } from '../../render/occi-json/schemas.ts';
import { parseCategoryCollection, parseCategoryFilter } from '../../model/vocabulary/categories.ts';
import { categoriesFromLines, categoryFilterFromLines, categoryIdsFromLines } from '../../render/occi-text.ts';
import { filterCategories, type CategoryFilter } from '../../registry/category-filter.ts';
import type { CategoryRef, ChangeOptions, ProviderUpdate } from '../../registry/category-manager.ts';
import { negotiate } from '../negotiate.ts';
import { baseUrl, queryValue } from '../request-context.ts';
import { freeze, serve, ServedViews } from '../served-views.ts';
import { readContent } from '../request-body.ts';
import { renderContext, respond } from '../respond.ts';
import type { Services } from '../services.ts';
import type { Principal } from '../../auth/principal.ts';

/** The caller, as the authentication middleware found it. */
function principalOf(ctx: Context): Principal {
  const principal = ctx.state.principal as Principal | undefined;
  // Fail closed: a route mounted without the authentication middleware must not act as an operator.
  if (!principal) throw new Error('no principal on the request: the authentication middleware is missing');
  return principal;
}

/** The query-interface paths: the OCCI one and its RFC 5785 mirror. */
export const QUERY_PATHS = ['/-/', '/.well-known/org/ogf/occi/-/'];

type Json = Record<string, unknown>;

/**
 * GFD.223: POST and DELETE on `/-/` carry one category rendering or a collection. One bare kind,
 * mixin or action object (`{"term", "scheme", …}`) is wrapped into the collection the category
 * manager reads; its class follows from its members (GFD.226: `depends`/`applies` are a mixin's,
 * `parent` a kind's, and an action has no `location`; a lone `location` is a user mixin, what
 * the query interface's POST is for).
 */
export function wrapBareCategory(body: Json): Json {
  // A kind's or mixin's own `actions` are identifiers; a collection's are objects.
  const collectionActions = Array.isArray(body.actions) && body.actions.some((a) => typeof a === 'object');
  if (typeof body.term !== 'string' || typeof body.scheme !== 'string' || 'kinds' in body || 'mixins' in body || collectionActions) return body;
  const key = 'depends' in body || 'applies' in body ? 'mixins' : 'parent' in body ? 'kinds' : 'location' in body ? 'mixins' : 'actions';
  return { [key]: [body] };
}

/** The request's categories as the JSON body the category manager reads, whatever the format. */
function categoriesBody(ctx: Context): Json {
  const content = readContent(ctx);
  if (content.format === 'json') return wrapBareCategory(content.json);
  if (content.format === 'text') return categoriesFromLines(content.lines);
  throw new ValidationError('this request needs a body: categories in application/occi+json, text/plain or text/occi', [{ pointer: '/', message: 'is missing' }]);
}

/** Reads the filter of GET /-/: a JSON body (pyOCNI), `Category` filter lines (OCCI text), and the query string. */
function readFilter(ctx: Context): CategoryFilter {
  const filter: CategoryFilter = {};
  const content = readContent(ctx);
  if (content.format === 'json') {
    assertSchema('category-filter', content.json);
    filter.byClass = parseCategoryFilter(content.json);
  } else if (content.format === 'text') {
    const named = categoryFilterFromLines(content.lines);
    if (named.length > 0) {
      // OCCI text filtering on /-/: only the named categories, each in its complete rendering; a
      // line without class names the category whatever its class.
      filter.byClass = {};
      for (const { id, class: cls } of named) {
        const hash = id.indexOf('#');
        for (const c of cls ? [cls] : (['kind', 'mixin', 'action'] as const)) (filter.byClass[c] ??= []).push({ scheme: id.slice(0, hash + 1), term: id.slice(hash + 1) });
      }
    }
  }
  const id = queryValue(ctx, 'category');
  if (id) filter.id = id;
  const cls = queryValue(ctx, 'class');
  if (cls) {
    if (!['kind', 'mixin', 'action'].includes(cls)) throw new ValidationError(`?class must be kind, mixin or action, not "${cls}"`, [{ pointer: '?class', message: 'must be kind, mixin or action' }]);
    filter.class = cls as CategoryClass;
  }
  const scheme = queryValue(ctx, 'scheme');
  if (scheme) filter.scheme = scheme;
  const term = queryValue(ctx, 'term');
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

function deleteBody(ctx: Context): Json {
  const content = readContent(ctx);
  if (content.format === 'json') return wrapBareCategory(content.json);
  if (content.format === 'text') {
    const body: Record<string, string[]> = {};
    for (const { id, class: cls } of categoryIdsFromLines(content.lines)) (body[`${cls}s`] ??= []).push(id);
    return body;
  }
  throw new ValidationError('this request needs a body naming the categories to delete', [{ pointer: '/', message: 'is missing' }]);
}

function providersOf(body: Json): ProviderUpdate[] {
  const items = Array.isArray(body.providers) ? (body.providers as Json[]) : [];
  return items.map((item, i) => ({
    kindId: (item.OCCI_ID ?? item.kind) as string,
    provider: (item.Provider ?? item.provider) as ProviderUpdate['provider'],
    pointer: `/providers/${i}`,
  }));
}

/** What a rendered model carries that an apply ignores: kinds' providers (set with PUT /-/ "providers"). */
function stripForApply(body: Json): Json {
  for (const kind of Array.isArray(body.kinds) ? (body.kinds as Json[]) : []) if (kind && typeof kind === 'object') delete kind.provider;
  return body;
}

/** `?entities=keep|migrate`, `?dry-run=true` and the body's `migrate` values of a category change. */
function changeOptions(ctx: Context, body: Json): ChangeOptions {
  const options: ChangeOptions = {};
  const entities = queryValue(ctx, 'entities');
  if (entities !== undefined) {
    if (entities !== 'keep' && entities !== 'migrate') throw new ValidationError('?entities must be keep or migrate', [{ pointer: '?entities', message: 'must be keep or migrate' }]);
    options.entities = entities;
  }
  const dryRun = queryValue(ctx, 'dry-run');
  if (dryRun !== undefined && dryRun !== 'true' && dryRun !== 'false') throw new ValidationError('?dry-run must be true or false', [{ pointer: '?dry-run', message: 'must be true or false' }]);
  if (dryRun === 'true') options.dryRun = true;
  if (body.migrate !== undefined) options.migrate = body.migrate as ChangeOptions['migrate'];
  return options;
}

/** Registers the query-interface routes on `router`. */
export function queryInterfaceRoutes(router: Router, services: Services): void {
  const { categories, config } = services;
  const views = new ServedViews();
  const send = (ctx: Context, list: Category[]) => {
    const renderer = negotiate(ctx);
    respond(ctx, renderer.categories(list, renderContext(ctx, config, categories.registry)));
  };

  for (const path of QUERY_PATHS) {
    router.get(path, (ctx) => {
      const renderer = negotiate(ctx);
      const filter = readFilter(ctx);
      const origin = queryValue(ctx, 'origin');
      if (origin !== undefined && origin !== 'runtime' && origin !== 'builtin')
        throw new ValidationError('?origin must be runtime or builtin', [{ pointer: '?origin', message: 'must be runtime or builtin' }]);
      const registry = categories.registry;
      const build = () => {
        // ?origin=runtime is the operator's model, ready to save and apply (PUT /-/?apply=true).
        const from = origin === 'runtime' ? categories.runtimeModel() : origin === 'builtin' ? registry.all().filter((c) => c.builtin) : registry.all();
        const context = renderContext(ctx, config, registry);
        // A model file must say everything (structured defaults, generations): GFD.226's plain profile cannot.
        if (origin === 'runtime' && context.profile === 'occi') context.profile = 'ocni';
        return renderer.categories(filterCategories(from, filter), context);
      };
      const viewKey = registry.viewKey();
      if (viewKey === undefined) {
        serve(ctx, freeze(build()));
        return;
      }
      // Everything the rendering depends on besides the registry version.
      const key = JSON.stringify([viewKey, renderer.type, ctx.get('Accept'), baseUrl(ctx, config), ctx.path, filter, origin ?? null]);
      serve(ctx, views.get(registry.version, key, build));
    });

    router.post(path, async (ctx) => {
      negotiate(ctx);
      const body = categoriesBody(ctx);
      assertSchema('category-collection', body);
      send(ctx, await categories.add(parseCategoryCollection(body), principalOf(ctx)));
    });

    router.put(path, async (ctx) => {
      negotiate(ctx);
      const body = categoriesBody(ctx);
      if (queryValue(ctx, 'apply') === 'true') {
        // A whole model, as GET /-/?origin=runtime renders it.
        const { migrate, ...model } = body;
        assertSchema('category-collection', stripForApply(model));
        const prune = queryValue(ctx, 'prune');
        if (prune !== undefined && prune !== 'true' && prune !== 'false') throw new ValidationError('?prune must be true or false', [{ pointer: '?prune', message: 'must be true or false' }]);
        if (migrate !== undefined) assertSchema('category-update', { migrate });
        const options = { ...changeOptions(ctx, migrate === undefined ? {} : { migrate }), prune: prune === 'true' };
        ctx.body = await categories.apply(parseCategoryCollection(model), options, principalOf(ctx));
        return;
      }
      assertSchema('category-update', body);
      const options = changeOptions(ctx, body);
      const { categories: changed, providers, reports } = await categories.update(parseCategoryCollection(body), providersOf(body), principalOf(ctx), options);
      if (options.dryRun) {
        ctx.body = { dryRun: true, changes: reports };
        return;
      }
      // What the change did to each category and its entities, in one line per category.
      const said = reports.map((r) => {
        const kept = r.impact && r.impact.invalid > 0 ? `, ${r.impact.invalid} entities ${options.entities === 'migrate' ? 'migrated' : 'kept as they were'}` : '';
        return `${r.id} ${r.changes.length === 0 ? 'unchanged' : `generation ${r.generation}`}${kept}${r.migration ? ', entities being rewritten' : ''}`;
      });
      if (said.length > 0) ctx.set('OCNI-Changes', said.join('; ').replace(/[^\x20-\x7e]/g, '?'));
      const touched = [...changed, ...providers.map((id) => categories.registry.get(id)!).filter((c) => !changed.some((d) => categoryId(d) === categoryId(c)))];
      send(ctx, touched);
    });

    router.delete(path, async (ctx) => {
      negotiate(ctx);
      const body = deleteBody(ctx);
      assertSchema('category-delete', body);
      const cascade = queryValue(ctx, 'cascade');
      if (cascade !== undefined && cascade !== 'true' && cascade !== 'false') {
        throw new ValidationError('?cascade must be true or false', [{ pointer: '?cascade', message: 'must be true or false' }]);
      }
      const { removed, changed, cascaded } = await categories.remove(refsOf(body), { cascade: cascade === 'true' }, principalOf(ctx));
      // What a cascade did beyond the request: removed dependents, and dependents that dropped a reference.
      const did = [...cascaded.map((id) => `removed ${id}`), ...changed.map((c) => `changed ${categoryId(c)}`)];
      if (did.length > 0) ctx.set('OCNI-Cascade', did.join(', ').replace(/[^\x20-\x7e]/g, '?'));
      send(ctx, [...removed, ...changed]);
    });
  }
}
