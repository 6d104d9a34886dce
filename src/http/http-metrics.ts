/**
 * @module Counts and times every HTTP request in `ocni_http_request_duration_seconds`, labelled by
 * route template (never the raw path: label values stay a small fixed set), method and status.
 */
import type { Context, Next } from 'koa';
import { httpRequestDuration } from '../metrics.ts';
import type { CategoryRegistry } from '../registry/registry.ts';

/** Methods labelled as themselves; any other method string a client invents is `other`. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/** The catch-all route of entities, resolved further by what the path is. */
const ENTITY_ROUTE = '/{*path}';

/**
 * The route template of a handled request: a route's own template (`/-/`, `/healthz`, or the one
 * a route set in `ctx.state.routeTemplate`), else for the entity routes what the path is
 * (`<kind>/`, `<mixin>/`, `<path>/`, `<entity>`), else `unmatched`.
 */
export function routeTemplate(ctx: Context, registry: CategoryRegistry): string {
  const given = ctx.state.routeTemplate as string | undefined;
  if (given) return given;
  const matched = (ctx as Context & { _matchedRoute?: string | RegExp })._matchedRoute;
  if (matched === undefined) return 'unmatched';
  if (matched !== ENTITY_ROUTE) return String(matched);
  if (!ctx.path.endsWith('/')) return '<entity>';
  const category = registry.byLocation(ctx.path);
  return category ? `<${category.class}>/` : '<path>/';
}

/** Records every request once its response head is decided. */
export function httpMetrics(registry: CategoryRegistry) {
  return async function measureRequest(ctx: Context, next: Next): Promise<void> {
    const stop = httpRequestDuration.startTimer();
    try {
      await next();
    } finally {
      stop({ route: routeTemplate(ctx, registry), method: METHODS.has(ctx.method) ? ctx.method : 'other', status: String(ctx.status) });
    }
  };
}
