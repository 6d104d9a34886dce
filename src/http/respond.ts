/**
 * @module Writing a rendered answer into the Koa response, and the render context of a request.
 */
import type { Context } from 'koa';
import type { Config } from '../config.ts';
import type { CategoryRegistry } from '../registry/registry.ts';
import type { Rendered, RenderContext } from '../render/renderer.ts';
import { baseUrl, jsonProfile } from './request-context.ts';
import { schemaPath } from '../model/entity-schema.ts';
import type { Principal } from '../auth/principal.ts';

/**
 * Sets the media type, the renderer's headers and the body. The body goes to Koa as bytes: given
 * text or an object, Koa would measure its UTF-8 length with `Buffer.byteLength` (several times
 * slower than encoding it, for a large collection) and then encode it again to send it.
 */
export function respond(ctx: Context, rendered: Rendered): void {
  ctx.type = rendered.type;
  for (const [name, value] of Object.entries(rendered.headers ?? {})) ctx.set(name, value);
  const body = rendered.body ?? '';
  ctx.body = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
}

/** What renderers need to know about this request. */
export function renderContext(ctx: Context, config: Config, registry: CategoryRegistry): RenderContext {
  return {
    baseUrl: baseUrl(ctx, config),
    lookup: registry,
    profile: jsonProfile(ctx, config),
    path: ctx.path,
    // A path, like the category's own `location`: the same on every server of one store.
    schemaUrl: schemaPath,
    // Providers are operator information.
    ...((ctx.state.principal as Principal | undefined)?.operator ? { provider: (id: string) => registry.provider(id) } : {}),
  };
}
