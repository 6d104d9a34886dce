/**
 * @module `text/plain` (OCCI text rendering, GFD.185/229): the OCCI structures as `Name: value`
 * lines in the body.
 */
import { renderHeaderLines, type HeaderLine } from './header-lines.ts';
import { categoryLines, entityLines, locationLines, problemText } from './occi-text.ts';
import type { Renderer, Rendered } from './renderer.ts';

function body(lines: HeaderLine[]): Rendered {
  return { type: 'text/plain', body: lines.length > 0 ? renderHeaderLines(lines, 'body') : '' };
}

/** Creates the text/plain renderer. */
export function createTextPlainRenderer(): Renderer {
  return {
    type: 'text/plain',
    categories: (categories) => body(categoryLines(categories)),
    entity: (entity, links, ctx) => body(entityLines(entity, links, ctx)),
    collection: (entities, _linksOf, ctx) => body(locationLines(entities, ctx)),
    created: (entities, _linksOf, ctx) => body(locationLines(entities, ctx)),
    done: () => ({ type: 'text/plain', body: 'OK\n' }),
    problem: (problem) => ({ type: 'text/plain', body: problemText(problem) }),
  };
}
