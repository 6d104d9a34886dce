/**
 * @module `application/occi+json` and `application/json`: OCCI 1.2 JSON (GFD.226), or pyOCNI's
 * shapes, or GFD.226 with ocni's extensions (`profile=ocni`), when the profile asks for them; problems as `application/problem+json`.
 */
import { renderCategoryCollection } from '../model/vocabulary/categories.ts';
import { extendedProfile, renderCreated, renderEntityCollection, renderEntityDocument, type EntityRenderContext } from './occi-json/entities.ts';
import type { RenderContext, Renderer } from './renderer.ts';

function entityContext(ctx: RenderContext): EntityRenderContext {
  return { baseUrl: ctx.baseUrl, lookup: ctx.lookup, profile: ctx.profile, ...(ctx.linkCollection ? { linkCollection: true } : {}) };
}

/** Creates the JSON renderer for one of the two JSON media types. */
export function createJsonRenderer(type: 'application/occi+json' | 'application/json'): Renderer {
  return {
    type,
    categories: (categories, ctx) => ({
      type,
      body: renderCategoryCollection(categories, {
        extended: extendedProfile(ctx.profile),
        ...(ctx.provider ? { provider: ctx.provider } : {}),
        // The schema link is ocni's own member, in its own profile.
        ...(ctx.schemaUrl && ctx.profile === 'ocni' ? { schemaUrl: ctx.schemaUrl } : {}),
      }),
    }),
    entity: (entity, links, ctx) => ({ type, body: renderEntityDocument(entity, entityContext(ctx), links) }),
    collection: (entities, linksOf, ctx) => ({ type, body: renderEntityCollection(entities, entityContext(ctx), linksOf) }),
    created: (entities, linksOf, ctx) => ({ type, body: renderCreated(entities, entityContext(ctx), linksOf) }),
    done: () => ({ type, body: undefined }),
    problem: (problem) => ({ type: 'application/problem+json', body: { ...problem } }),
  };
}
