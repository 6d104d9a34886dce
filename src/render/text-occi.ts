/**
 * @module `text/occi` (OCCI text rendering, GFD.185/229): the same structures as text/plain, in
 * HTTP headers (comma-joined per name), with `OK` as the body.
 */
import { renderHeaderLines, type HeaderLine } from './header-lines.ts';
import { categoryLines, entityLines, locationLines, problemText } from './occi-text.ts';
import type { Renderer, Rendered } from './renderer.ts';

function headers(lines: HeaderLine[]): Rendered {
  return { type: 'text/occi', headers: lines.length > 0 ? renderHeaderLines(lines, 'headers') : {}, body: 'OK\n' };
}

/** Creates the text/occi renderer. */
export function createTextOcciRenderer(): Renderer {
  return {
    type: 'text/occi',
    categories: (categories) => headers(categoryLines(categories)),
    entity: (entity, links, ctx) => headers(entityLines(entity, links, ctx)),
    collection: (entities, _linksOf, ctx) => headers(locationLines(entities, ctx)),
    created: (entities, _linksOf, ctx) => headers(locationLines(entities, ctx)),
    done: () => headers([]),
    // An error is no structure: its message goes in the body, where a text/occi client shows it.
    problem: (problem) => ({ type: 'text/occi', body: problemText(problem) }),
  };
}
