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

/** A rendered answer whose body is already the bytes to send. */
export type Encoded = Omit<Rendered, 'body'> & { bytes: Buffer };

/**
 * The bytes of a rendered answer. Koa is given bytes: given text or an object, it would measure
 * the UTF-8 length with `Buffer.byteLength` (several times slower than encoding, for a large
 * collection) and then encode it again to send it.
 */
export function encode(rendered: Rendered): Encoded {
  const { body, ...rest } = rendered;
  return { ...rest, bytes: Buffer.from(body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body)) };
}

/** Sets the media type, the renderer's headers and the body (rendered, or already encoded). */
export function respond(ctx: Context, answer: Rendered | Encoded): void {
  const { type, headers, bytes } = 'bytes' in answer ? answer : encode(answer);
  ctx.type = type;
  for (const [name, value] of Object.entries(headers ?? {})) ctx.set(name, value);
  ctx.body = bytes;
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
