/**
 * @module Machine-readable descriptions of the server: each category's JSON Schema
 * (`GET /-/schema?category=<scheme+term, URL-encoded>`) and the OpenAPI 3.1 document (`GET /openapi.json`).
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { categorySchema, schemaPath } from '../../model/entity-schema.ts';
import { NotFoundError } from '../../errors.ts';
import { OpenApiCache } from '../openapi.ts';
import { baseUrl, queryValue } from '../request-context.ts';
import type { Services } from '../services.ts';

/** Registers the description routes (before the entity routes, whose catch-all would take them). */
export function descriptionRoutes(router: Router, services: Services): void {
  const registry = services.categories.registry;
  const openapi = new OpenApiCache(registry, services.version);

  router.get('/-/schema', (ctx: Context) => {
    const id = queryValue(ctx, 'category') ?? '';
    const category = registry.get(id);
    if (!category) throw new NotFoundError(`no category "${id}" (give scheme and term, URL-encoded: ${schemaPath('http://example.net/net#router')})`);
    ctx.type = 'application/schema+json';
    ctx.body = categorySchema(registry, category, `${baseUrl(ctx, services.config)}${schemaPath(id)}`);
  });

  router.get('/openapi.json', (ctx: Context) => {
    ctx.type = 'application/json';
    ctx.body = openapi.get(baseUrl(ctx, services.config));
  });
}
