/**
 * @module Reading what a request says beyond its body: the base URL it addresses, conditional
 * headers, the JSON profile it asks for, paging and query-string filters.
 */
import type { Context } from 'koa';
import type { Config } from '../config.ts';
import { OcciError, ValidationError } from '../errors.ts';
import type { JsonProfile } from '../render/occi-json/entities.ts';
import type { RequestOrigin } from '../backends/entity-service.ts';
import type { BackendContext, Credentials } from '../backends/backend.ts';
import type { Principal } from '../auth/principal.ts';
import { isOwnUrl, type ServerNames } from '../model/own-urls.ts';

/** Origins already found valid: parsing a URL per request was a measurable cost of serving (issue 10). Bounded: any Host a client invents costs memory only up to it. */
const validOrigins = new Set<string>();
const VALID_ORIGINS_MAX = 256;

/** The request's own origin; a Host header that names no host is the client's error (400). */
function requestOriginUrl(ctx: Context): string {
  const origin = `${ctx.protocol}://${ctx.host}`;
  if (validOrigins.has(origin)) return origin;
  try {
    if (new URL(origin).origin === origin) {
      if (validOrigins.size >= VALID_ORIGINS_MAX) validOrigins.clear();
      validOrigins.add(origin);
      return origin;
    }
  } catch {
    // reported below
  }
  throw new ValidationError(`the Host header "${ctx.host}" does not name a host`, [{ pointer: 'Host', message: 'is not a valid host' }]);
}

/** The absolute base URL responses render locations with. */
export function baseUrl(ctx: Context, config: Config): string {
  return config.publicUrl?.replace(/\/+$/, '') ?? requestOriginUrl(ctx);
}

/**
 * What means this server in link ends and location lists: the request's own origin, the public
 * URL, and every name and address ocni listens on (so `http://localhost:PORT/…` is a path here
 * whichever name the request came by; see model/own-urls.ts).
 */
export function requestOrigin(ctx: Context, config: Config): RequestOrigin {
  const origins = [requestOriginUrl(ctx)];
  if (config.publicUrl) origins.push(config.publicUrl.replace(/\/+$/, ''));
  const names = (ctx as Context & { serverNames?: ServerNames }).serverNames ?? { origins: [], hosts: [], ports: [] };
  return { origins, isOwn: (url) => isOwnUrl(url, names, origins) };
}

/** `If-Match`, unquoted; undefined when absent or `*` (any existing entity). */
export function ifMatch(ctx: Context): string | undefined {
  const value = ctx.get('If-Match').trim();
  if (value === '' || value === '*') return undefined;
  return value.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

/**
 * `Idempotency-Key` of a create (IETF draft "The Idempotency-Key HTTP Header Field"): 1 to 255
 * visible ASCII characters; undefined when absent.
 */
export function idempotencyKey(ctx: Context): string | undefined {
  const value = ctx
    .get('Idempotency-Key')
    .trim()
    .replace(/^"(.*)"$/, '$1');
  if (value === '') return undefined;
  if (value.length > 255 || !/^[\x21-\x7e]+$/.test(value)) {
    throw new ValidationError('the Idempotency-Key header must be 1 to 255 visible ASCII characters', [{ pointer: 'Idempotency-Key', message: 'is not a valid key' }]);
  }
  return value;
}

/** The JSON profile: `Accept: application/occi+json; profile=pyocni|ocni|occi` or the configured default. */
export function jsonProfile(ctx: Context, config: Config): JsonProfile {
  const accept = ctx.get('Accept');
  if (/profile="?pyocni"?/i.test(accept)) return 'pyocni';
  if (/profile="?ocni"?/i.test(accept)) return 'ocni';
  if (/profile="?occi"?/i.test(accept)) return 'occi';
  return config.render.jsonProfile;
}

/** One query parameter given at most once. */
export function queryValue(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new ValidationError(`query parameter "${name}" is given more than once`, [{ pointer: `?${name}`, message: 'must be given once' }]);
  return value === undefined || value === '' ? undefined : value;
}

/** A query parameter that may repeat, as a list. */
export function queryValues(ctx: Context, name: string): string[] {
  const value = ctx.query[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** OCCI 1.2 paging: `page` (from 1) and `number` (items per page; above the limit → 413). */
export function paging(ctx: Context, config: Config): { page: number; number: number; skip: number } {
  const read = (name: string, fallback: number) => {
    const raw = queryValue(ctx, name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new ValidationError(`?${name} must be a whole number from 1`, [{ pointer: `?${name}`, message: 'must be a whole number from 1' }]);
    return Number(raw);
  };
  const page = read('page', 1);
  // A default above the maximum would refuse every listing that names no page size.
  const number = read('number', Math.min(config.limits.pageSizeDefault, config.limits.pageSizeMax));
  if (number > config.limits.pageSizeMax) throw new OcciError('payload-too-large', `?number may be at most ${config.limits.pageSizeMax}`);
  return { page, number, skip: (page - 1) * number };
}

/** The client's credentials for backends: `X-Auth-Token`, `Auth-Token` (snf-occi) or a Bearer token. */
export function credentials(ctx: Context): Credentials {
  const out: Credentials = {};
  const authorization = ctx.get('Authorization');
  const bearer = /^Bearer\s+(.+)$/i.exec(authorization)?.[1];
  const token = ctx.get('X-Auth-Token') || ctx.get('Auth-Token') || bearer;
  if (token) out.token = token.trim();
  const project = ctx.get('X-Project-Id');
  if (project) out.project = project.trim();
  if (authorization) out.authorization = authorization;
  return out;
}

/** What backends are told about the request. */
export function backendContext(ctx: Context, config: Config): BackendContext {
  const out: BackendContext = { credentials: credentials(ctx), requestId: String(ctx.state.requestId ?? ''), baseUrl: baseUrl(ctx, config) };
  if (ctx.state.principal) out.principal = ctx.state.principal as Principal;
  return out;
}
