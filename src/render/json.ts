/**
 * @module `application/occi+json` and `application/json`: OCCI 1.2 JSON (GFD.226), or pyOCNI's
 * shapes when the profile asks for them; problems as `application/problem+json`.
 */
import { renderCategoryCollection } from '../model/vocabulary/categories.ts';
import { renderCreated, renderEntityCollection, renderEntityDocument, type EntityRenderContext } from './occi-json/entities.ts';
import type { RenderContext, Renderer } from './renderer.ts';

function entityContext(ctx: RenderContext): EntityRenderContext {
  return { baseUrl: ctx.baseUrl, lookup: ctx.lookup, profile: ctx.profile };
}

/** Creates the JSON renderer for one of the two JSON media types. */
export function createJsonRenderer(type: 'application/occi+json' | 'application/json'): Renderer {
  return {
    type,
    categories: (categories, ctx) => ({
      type,
      // The schema link is ocni's own member: OCCI 1.2 JSON (the occi profile) carries it, pyOCNI's shapes do not.
      body: renderCategoryCollection(categories, { ...(ctx.provider ? { provider: ctx.provider } : {}), ...(ctx.schemaUrl && ctx.profile === 'occi' ? { schemaUrl: ctx.schemaUrl } : {}) }),
    }),
    entity: (entity, links, ctx) => ({ type, body: renderEntityDocument(entity, entityContext(ctx), links) }),
    collection: (entities, linksOf, ctx) => ({ type, body: renderEntityCollection(entities, entityContext(ctx), linksOf) }),
    created: (entities, linksOf, ctx) => ({ type, body: renderCreated(entities, entityContext(ctx), linksOf) }),
    done: () => ({ type, body: undefined }),
    problem: (problem) => ({ type: 'application/problem+json', body: { ...problem } }),
  };
}
