/**
 * @module Who is asking, and what they see: authenticates the request (the configured mode), then
 * runs the rest of it with the registry as this caller sees it: other tenants' tags hidden, and
 * the templates that backends offer this caller (Cyclades images and flavors, fetched with the
 * caller's token) visible. A backend that cannot list templates costs the caller its templates,
 * not the request.
 */
import type { Context, Next } from 'koa';
import type { Mixin } from '../model/category.ts';
import type { Authenticator, OfferedCredentials } from '../auth/authenticate.ts';
import type { BackendRouter } from '../backends/backends.ts';
import type { CategoryRegistry } from '../registry/registry.ts';
import type { Config } from '../config.ts';
import { backendContext, credentials } from './request-context.ts';
import { requestLogger } from './request-log.ts';

/** The credentials a request offers: a token in any of its headers, HTTP Basic, a project. */
export function offeredCredentials(ctx: Context): OfferedCredentials {
  const given = credentials(ctx);
  const offered: OfferedCredentials = {};
  if (given.token) offered.token = given.token;
  if (given.project) offered.project = given.project;
  // The socket's address (the app does not trust proxy headers), for throttling failed logins.
  if (ctx.ip) offered.client = ctx.ip;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(ctx.get('Authorization'))?.[1];
  if (basic) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) offered.basic = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return offered;
}

/** Authenticates every request and gives it its view of the registry. */
export function callerView(authenticate: Authenticator, registry: CategoryRegistry, backends: BackendRouter, config: Config) {
  const sources = backends.templateSources();
  return async function authenticateCaller(ctx: Context, next: Next): Promise<void> {
    const principal = await authenticate(offeredCredentials(ctx));
    ctx.state.principal = principal;
    const mixins: Mixin[] = [];
    // Only a caller with a token can have templates; the context (base URL, credentials) is built for it alone.
    if (sources.length > 0 && credentials(ctx).token) {
      const bctx = backendContext(ctx, config);
      for (const source of sources) {
        try {
          mixins.push(...(await source.templates(bctx)));
        } catch (err) {
          requestLogger(ctx)?.warn({ backend: source.name, err: (err as Error).message }, 'templates unavailable for this caller');
        }
      }
    }
    await registry.withRequestView({ mixins, viewer: principal }, next);
  };
}
