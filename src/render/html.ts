/**
 * @module The `text/html` renderer: pages a person can browse the server with. The category page
 * (`/-/`), collections, entities with a form per applicable action, creations, confirmations and
 * problems. No JavaScript; every value is escaped; every page carries a strict
 * Content-Security-Policy (see `html/layout.ts`). The pages live in `html/`.
 */
import type { Renderer } from './renderer.ts';
import { categoriesPage } from './html/categories.ts';
import { collectionPage, createdPage, entityPage } from './html/entities.ts';
import { HTML_TYPE } from './html/layout.ts';
import { donePage, problemPage } from './html/messages.ts';

export { CONTENT_SECURITY_POLICY, STYLE, STYLE_HASH } from './html/layout.ts';

/** Creates the HTML renderer. */
export function createHtmlRenderer(): Renderer {
  return {
    type: HTML_TYPE,
    categories: (categories, ctx) => categoriesPage(categories, ctx),
    entity: (entity, links, ctx) => entityPage(entity, links, ctx),
    collection: (entities, _linksOf, ctx) => collectionPage(entities, ctx),
    created: (entities, linksOf, ctx) => createdPage(entities, linksOf, ctx),
    done: (ctx) => donePage(ctx),
    problem: (problem, ctx) => problemPage(problem, ctx),
  };
}
