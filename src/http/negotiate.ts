/**
 * @module Content negotiation: which renderer answers (RFC 9110 `Accept` with q-values), and which
 * request body types are read (others: 415).
 */
import Negotiator from 'negotiator';
import type { Context, Next } from 'koa';
import { OcciError, ValidationError } from '../errors.ts';
import { LISTING_ONLY, REQUEST_TYPES, rendererFor, responseTypes } from '../render/index.ts';
import type { Renderer } from '../render/renderer.ts';

/** Media types chosen, by Accept header and offer. */
const chosen = new Map<string, string | undefined>();

/**
 * The media type `Accept` asks for among `offered`, or undefined when none is acceptable. Absent
 * `Accept` and `*\/*` get the first offered. The `profile` parameter picks a JSON shape (see
 * request-context.ts), not a media type, so it must not make a type unacceptable.
 */
export function chooseType(accept: string, offered: readonly string[]): string | undefined {
  // Clients send a handful of distinct Accept headers: each is parsed once (bounded, so that a
  // client inventing new ones costs memory only up to the bound).
  const key = `${accept}\n${offered.join(',')}`;
  if (chosen.has(key)) return chosen.get(key);
  const header = accept.trim() === '' ? '*/*' : accept.replace(/;\s*profile="?[\w.-]+"?/gi, '');
  const type = new Negotiator({ headers: { accept: header } }).mediaType([...offered]);
  if (chosen.size >= 256) chosen.clear();
  chosen.set(key, type);
  return type;
}

/**
 * Picks the renderer for the response, before anything is carried out.
 *
 * @param listing - true when the response is a listing (text/uri-list is only for those)
 * @throws OcciError `not-acceptable` (406); ValidationError (400) for text/uri-list on a non-listing
 */
export function negotiate(ctx: Context, listing = false): Renderer {
  const chosen = chooseType(ctx.get('Accept'), responseTypes());
  if (!chosen) throw new OcciError('not-acceptable', `cannot answer in ${ctx.get('Accept')}; available: ${responseTypes().join(', ')}`);
  if (LISTING_ONLY.has(chosen) && !listing) {
    // Only when nothing else is acceptable: `text/uri-list, */*;q=0.1` still gets a rendering.
    const other = chooseType(
      ctx.get('Accept'),
      responseTypes().filter((t) => !LISTING_ONLY.has(t)),
    );
    if (!other) throw new ValidationError(`${chosen} renders listings only, and ${ctx.method} ${ctx.path} answers with no listing`, [{ pointer: 'Accept', message: 'text/uri-list is for listings' }]);
    return rendererFor(other);
  }
  return rendererFor(chosen);
}

const READ_TYPES: readonly string[] = [...REQUEST_TYPES.json, ...REQUEST_TYPES.text, ...REQUEST_TYPES.form];

/** True when the request carries a body (a non-zero `Content-Length` or a `Transfer-Encoding`). */
export function hasBody(ctx: Context): boolean {
  const length = ctx.get('Content-Length');
  return (length !== '' && length !== '0') || ctx.get('Transfer-Encoding') !== '';
}

/** Refuses a request body of a type the server does not read (415), before it is parsed. */
export function requestTypeGuard() {
  return function checkRequestType(ctx: Context, next: Next): Promise<void> {
    if (hasBody(ctx) && !ctx.is(...READ_TYPES)) {
      const given = ctx.get('Content-Type') || '(none)';
      throw new OcciError('unsupported-media-type', `request bodies of type ${given} are not read; send Content-Type: ${READ_TYPES.join(', ')}`);
    }
    return next();
  };
}

/** The OCCI versions this server speaks (`User-Agent: … OCCI/x.y`; `Server` says OCCI/1.2). */
export const OCCI_VERSIONS = ['1.1', '1.2'] as const;

/**
 * GFD.223's protocol headers: every response advertises the request body types it reads
 * (`Accept`, a SHOULD), and a client announcing an OCCI version above 1.2 in `User-Agent`
 * (`… OCCI/2.0`) gets 501, as GFD.185 and GFD.223 require.
 */
export function occiProtocol() {
  const accept = READ_TYPES.join(', ');
  return function checkOcciVersion(ctx: Context, next: Next): Promise<void> {
    ctx.set('Accept', accept);
    const announced = /\bOCCI\/(\d{1,4})\.(\d{1,4})\b/i.exec(ctx.get('User-Agent'));
    if (announced) {
      const [major, minor] = [Number(announced[1]), Number(announced[2])];
      if (major > 1 || (major === 1 && minor > 2)) {
        throw new OcciError('not-implemented', `this server speaks OCCI ${OCCI_VERSIONS.join(' and ')}; the client announces OCCI/${announced[1]}.${announced[2]}`);
      }
    }
    return next();
  };
}
