/**
 * @module The request pipeline every simulated API shares (§4.3 of `cyclades-api.md`): route
 * match (400 / 405), token, JSON body rules, handler inside a transaction, fault rendering. Also
 * the small attribute readers that mirror `snf_django.lib.api.utils.get_attribute`.
 */

import type { IncomingHttpHeaders } from 'node:http';
import { tokenFrom, validateToken, type AuthUser } from './auth.ts';
import { CycladesFault, badRequest, faultBody, notAllowed } from './faults.ts';
import type { SimState } from './state.ts';

/** A request as handlers see it. */
export interface SimRequest {
  method: string;
  /** Path with any trailing `/` and `.json` suffix removed. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** Capture groups of the route pattern. */
  params: string[];
  /** The body as JSON, enforcing Cyclades' Content-Type and decoding rules (throws a 400 fault). */
  json(): unknown;
}

/** A request whose token has been validated. */
export interface AuthedRequest extends SimRequest {
  user: AuthUser;
}

/** What a handler answers: JSON (`json`), raw text (`text`) or nothing. */
export interface SimResponse {
  status: number;
  json?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

/**
 * How a route authenticates: `cyclades` wraps Astakos rejections in a generic `fault` (as
 * Cyclades does), `astakos` answers them directly, `none` skips the token.
 */
export type Route =
  | { method: string; pattern: RegExp; auth: 'cyclades' | 'astakos'; bare405?: boolean; handler: (req: AuthedRequest, state: SimState) => SimResponse }
  | { method: string; pattern: RegExp; auth: 'none'; bare405?: boolean; handler: (req: SimRequest, state: SimState) => SimResponse };

/** A route that needs a valid token. */
export function authed(method: string, pattern: string, handler: (req: AuthedRequest, state: SimState) => SimResponse, options: { auth?: 'cyclades' | 'astakos'; bare405?: boolean } = {}): Route {
  return { method, pattern: new RegExp(`^${pattern}$`), auth: options.auth ?? 'cyclades', bare405: options.bare405 ?? false, handler };
}

/** A route without authentication (the public identity calls). */
export function open(method: string, pattern: string, handler: (req: SimRequest, state: SimState) => SimResponse): Route {
  return { method, pattern: new RegExp(`^${pattern}$`), auth: 'none', handler };
}

/** An incoming request before routing. */
export interface Incoming {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: string;
}

/** Django accepts a trailing slash and a `.json` suffix on most Cyclades URLs. */
export function normalizePath(path: string): string {
  let result = path.endsWith('.json') ? path.slice(0, -'.json'.length) : path;
  while (result.length > 1 && result.endsWith('/')) result = result.slice(0, -1);
  return result;
}

const MUTATING = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

/** Runs the pipeline for one request; never throws (faults become responses). */
export function dispatch(routes: readonly Route[], state: SimState, incoming: Incoming): SimResponse {
  try {
    return run(routes, state, incoming);
  } catch (error) {
    if (error instanceof CycladesFault) return faultResponse(error);
    const message = error instanceof Error ? error.message : String(error);
    return { status: 500, json: faultBody('internalServerError', 500, 'Unexpected error', message) };
  }
}

/** Renders a fault. */
export function faultResponse(fault: CycladesFault): SimResponse {
  return { status: fault.status, json: faultBody(fault.faultName, fault.status, fault.message, fault.details), headers: fault.headers };
}

function run(routes: readonly Route[], state: SimState, incoming: Incoming): SimResponse {
  const path = normalizePath(incoming.path);
  const candidates = routes.filter((route) => route.pattern.test(path));
  if (candidates.length === 0) throw badRequest('API endpoint not found');
  const route = candidates.find((candidate) => candidate.method === incoming.method);
  if (route === undefined) {
    const allowed = [...new Set(candidates.map((candidate) => candidate.method))];
    // The volume views answer with Django's bare HttpResponseNotAllowed: no JSON fault.
    if (candidates.some((candidate) => candidate.bare405 === true)) {
      return { status: 405, text: '', headers: { Allow: allowed.join(', '), 'Content-Type': 'text/html; charset=utf-8' } };
    }
    throw notAllowed(allowed);
  }
  const params = (route.pattern.exec(path) ?? []).slice(1).map((param) => param ?? '');
  const request: SimRequest = {
    method: incoming.method,
    path,
    query: incoming.query,
    headers: incoming.headers,
    rawBody: incoming.rawBody,
    params,
    json: () => parseJsonBody(incoming.headers, incoming.rawBody),
  };
  const mutating = MUTATING.has(incoming.method);
  if (route.auth === 'none') {
    const handler = route.handler;
    return mutating ? state.transaction(() => handler(request, state)) : handler(request, state);
  }
  const user = authenticate(state, incoming, route.auth);
  if ('status' in user) return user;
  const authedRequest: AuthedRequest = { ...request, user };
  const handler = route.handler;
  return mutating ? state.transaction(() => handler(authedRequest, state)) : handler(authedRequest, state);
}

function authenticate(state: SimState, incoming: Incoming, mode: 'cyclades' | 'astakos'): AuthUser | SimResponse {
  const token = tokenFrom(incoming.headers, incoming.query);
  if (token === null) return { status: 401, json: faultBody('unauthorized', 401, 'Access denied. No authentication token') };
  const verdict = validateToken(state, token);
  if (verdict.ok) return verdict.user;
  if (mode === 'astakos') return { status: verdict.status, json: verdict.body };
  // Cyclades re-raises astakosclient's exception as a generic Fault carrying Astakos' reply.
  return { status: verdict.status, json: faultBody('fault', verdict.status, 'UNAUTHORIZED', JSON.stringify(verdict.body)) };
}

function parseJsonBody(headers: IncomingHttpHeaders, raw: string): unknown {
  const contentType = headers['content-type'];
  if (contentType === undefined) throw badRequest('Missing Content-Type header field');
  if (!contentType.startsWith('application/json')) throw badRequest(`Unsupported Content-type: '${contentType}'`);
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw badRequest('Could not decode request body as JSON');
  }
}

/** A JSON response. */
export function ok(status: number, json: unknown, headers?: Record<string, string>): SimResponse {
  return headers === undefined ? { status, json } : { status, json, headers };
}

/** A response without a body (202/204). */
export function empty(status: number): SimResponse {
  return { status, text: '' };
}

/** A request value as text for lookups and messages: strings as they are, other JSON as JSON (never `[object Object]`). */
export function jsonText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
}

/** True for a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `self` and `bookmark` links Cyclades puts on every object. */
export function links(state: SimState, path: string): Array<{ rel: string; href: string }> {
  const href = `${state.baseUrl}${path}`;
  return [
    { rel: 'self', href },
    { rel: 'bookmark', href },
  ];
}

/** `get_attribute(..., required=True, attr_type=dict)`: a nested object that must be there. */
export function requireDict(container: unknown, name: string): Record<string, unknown> {
  const value = readAttribute(container, name);
  if (value === undefined || value === null) throw badRequest(`Malformed request. Missing attribute '${name}'.`);
  if (!isRecord(value)) throw badRequest(`Malformed request. Invalid '${name}' field`);
  return value;
}

/** An optional nested object. */
export function optionalDict(container: unknown, name: string): Record<string, unknown> | undefined {
  const value = readAttribute(container, name);
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw badRequest(`Malformed request. Invalid '${name}' field`);
  return value;
}

/** A required string attribute. */
export function requireString(container: unknown, name: string): string {
  const value = readAttribute(container, name);
  if (value === undefined || value === null) throw badRequest(`Malformed request. Missing attribute '${name}'.`);
  if (typeof value !== 'string') throw badRequest(`Malformed request. Invalid '${name}' field`);
  return value;
}

/** An optional string attribute. */
export function optionalString(container: unknown, name: string): string | undefined {
  const value = readAttribute(container, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`Malformed request. Invalid '${name}' field`);
  return value;
}

/** An optional boolean attribute. */
export function optionalBoolean(container: unknown, name: string): boolean | undefined {
  const value = readAttribute(container, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw badRequest(`Malformed request. Invalid '${name}' field`);
  return value;
}

/** A required attribute that is a string or a number (ids arrive both ways). */
export function requireId(container: unknown, name: string): string {
  const value = readAttribute(container, name);
  if (value === undefined || value === null) throw badRequest(`Malformed request. Missing attribute '${name}'.`);
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') throw badRequest(`Malformed request. Invalid '${name}' field`);
  return value;
}

/** An optional string-or-number id attribute. */
export function optionalId(container: unknown, name: string): string | undefined {
  const value = readAttribute(container, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') throw badRequest(`Malformed request. Invalid '${name}' field`);
  return value;
}

function readAttribute(container: unknown, name: string): unknown {
  if (!isRecord(container)) throw badRequest('Malformed request');
  return container[name];
}

/** The `changes-since` query parameter as clock ms, or null when absent (`utils.isoparse`). */
export function changesSince(req: SimRequest, state: SimState): number | null {
  const raw = req.query.get('changes-since');
  if (raw === null || raw === '') return null;
  const since = Date.parse(raw);
  if (Number.isNaN(since)) throw badRequest('Invalid changes-since parameter.');
  if (since > state.now()) throw badRequest('changes-since value set in the future.');
  return since;
}

/** 304 Not Modified, as the list views answer when `changes-since` finds nothing. */
export function notModified(): SimResponse {
  return { status: 304, text: '' };
}
