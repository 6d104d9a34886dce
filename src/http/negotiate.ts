/**
 * @module Content negotiation: which media type a response is rendered in (RFC 9110 `Accept` with
 * q-values), and which request body types are read.
 */
import Negotiator from 'negotiator';
import type { Context, Next } from 'koa';
import { OcciError } from '../errors.ts';

/** Response types, preferred first: absent `Accept` or `*\/*` gets the first. */
export const RESPONSE_TYPES = ['application/occi+json', 'application/json'] as const;

/** Request body types that are read (others get 415). */
export const REQUEST_TYPES = ['application/occi+json', 'application/json'] as const;

/**
 * Picks the response media type for the request, or throws 406 naming what is available.
 *
 * @throws OcciError `not-acceptable`
 */
export function negotiate(ctx: Context, offered: readonly string[] = RESPONSE_TYPES): string {
  const accept = ctx.get('Accept');
  // `profile` picks a JSON shape (see request-context.ts), not a different media type, so it must
  // not make `application/occi+json; profile=pyocni` unacceptable.
  const header = accept === '' ? '*/*' : accept.replace(/;\s*profile="?[\w.-]+"?/gi, '');
  const chosen = new Negotiator({ headers: { accept: header } }).mediaType([...offered]);
  if (typeof chosen !== 'string') {
    throw new OcciError('not-acceptable', `cannot answer in ${ctx.get('Accept')}; available: ${offered.join(', ')}`);
  }
  return chosen;
}

function hasBody(ctx: Context): boolean {
  const length = ctx.get('Content-Length');
  return (length !== '' && length !== '0') || ctx.get('Transfer-Encoding') !== '';
}

/** Refuses a request body of a type the server does not read (415), before it is parsed. */
export function requestTypeGuard() {
  return async function checkRequestType(ctx: Context, next: Next): Promise<void> {
    if (hasBody(ctx) && !ctx.is(...REQUEST_TYPES)) {
      const given = ctx.get('Content-Type') || '(none)';
      throw new OcciError('unsupported-media-type', `request bodies of type ${given} are not read; send Content-Type: ${REQUEST_TYPES.join(' or ')}`);
    }
    await next();
  };
}
