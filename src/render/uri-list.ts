/**
 * @module `text/uri-list` (RFC 2483): absolute URLs of a listing, one per line. Only listings have
 * this rendering; everything else is refused before the request is carried out (see
 * `LISTING_ONLY` in `render/index.ts`).
 */
import { ValidationError } from '../errors.ts';
import type { Renderer } from './renderer.ts';

function notAListing(): never {
  throw new ValidationError('text/uri-list renders listings only; ask for application/occi+json, text/plain or text/occi');
}

/** Creates the text/uri-list renderer. */
export function createUriListRenderer(): Renderer {
  return {
    type: 'text/uri-list',
    categories: notAListing,
    entity: notAListing,
    collection: (entities, _linksOf, ctx) => ({ type: 'text/uri-list', body: entities.map((e) => `${ctx.baseUrl}${e.location}\r\n`).join('') }),
    created: (entities, _linksOf, ctx) => ({ type: 'text/uri-list', body: entities.map((e) => `${ctx.baseUrl}${e.location}\r\n`).join('') }),
    done: notAListing,
    problem: (problem) => ({ type: 'text/plain', body: `${problem.status} ${problem.title}: ${problem.detail}\n` }),
  };
}
