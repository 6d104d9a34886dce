/**
 * @module The media-type table: the only place that maps a media type to its renderer, and says
 * which request body types are read.
 */
import { createHtmlRenderer } from './html.ts';
import { createJsonRenderer } from './json.ts';
import type { Renderer } from './renderer.ts';
import { createTextOcciRenderer } from './text-occi.ts';
import { createTextPlainRenderer } from './text-plain.ts';
import { createUriListRenderer } from './uri-list.ts';

const RENDERERS: Renderer[] = [
  createJsonRenderer('application/occi+json'),
  createJsonRenderer('application/json'),
  createTextPlainRenderer(),
  createTextOcciRenderer(),
  createUriListRenderer(),
  createHtmlRenderer(),
];

/** Response media types, preferred first: no `Accept` or `*\/*` gets the first (OCCI JSON). */
export function responseTypes(): string[] {
  return RENDERERS.map((r) => r.type);
}

/** The renderer of a media type. */
export function rendererFor(type: string): Renderer {
  return RENDERERS.find((r) => r.type === type) ?? RENDERERS[0]!;
}

/** Media types that render listings only: chosen for anything else, they answer 400. */
export const LISTING_ONLY = new Set(['text/uri-list']);

/** Request body media types that are read, by the format they are read as. */
export const REQUEST_TYPES = {
  json: ['application/occi+json', 'application/json'],
  text: ['text/plain', 'text/occi'],
  form: ['application/x-www-form-urlencoded'],
} as const;
