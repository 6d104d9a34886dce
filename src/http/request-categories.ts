/**
 * @module Per-caller categories: backends that offer templates (Cyclades images and flavors) are
 * asked for the caller's, with the caller's token, and the registry shows them for this request
 * only. A backend that cannot answer (a bad token, an outage) costs the caller its templates, not
 * the request.
 */
import type { Context, Next } from 'koa';
import type { Mixin } from '../model/category.ts';
import type { BackendRouter } from '../backends/backends.ts';
import type { CategoryRegistry } from '../registry/registry.ts';
import type { Config } from '../config.ts';
import { backendContext } from './request-context.ts';

/** Makes each caller's backend templates visible while its request is handled. */
export function requestCategories(registry: CategoryRegistry, backends: BackendRouter, config: Config) {
  const sources = backends.templateSources();
  return async function withCallerTemplates(ctx: Context, next: Next): Promise<void> {
    const bctx = backendContext(ctx, config);
    if (sources.length === 0 || !bctx.credentials.token) {
      await next();
      return;
    }
    const mixins: Mixin[] = [];
    for (const source of sources) {
      try {
        mixins.push(...(await source.templates(bctx)));
      } catch (err) {
        ctx.state.log?.warn({ backend: source.name, err: (err as Error).message }, 'templates unavailable for this caller');
      }
    }
    await registry.withRequestCategories(mixins, next);
  };
}
