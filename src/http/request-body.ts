/**
 * @module What a request says in its body or OCCI headers, read by format: JSON (`application/occi+json`),
 * OCCI text (`text/plain` body lines, or `text/occi` headers), or an HTML form. Each reader returns
 * the same shapes whatever the format, so routes do not care which one came in.
 */
import type { Context } from 'koa';
import { OcciError, ValidationError } from '../errors.ts';
import { parseTextBody, splitHeaderValues, TextParseError, type TextBodyLine } from '../render/header-lines.ts';
import { REQUEST_TYPES } from '../render/index.ts';
import { itemCount } from '../render/occi-json/schemas.ts';
import { ParseError } from '../errors.ts';

type Json = Record<string, unknown>;

/** The request's content, by format. */
export type RequestContent = { format: 'none' } | { format: 'json'; json: Json } | { format: 'text'; lines: TextBodyLine[] } | { format: 'form'; fields: Record<string, string> };

const OCCI_HEADERS = ['Category', 'Link', 'X-OCCI-Attribute', 'X-OCCI-Location'];

/** OCCI structures carried in request headers (text/occi, and filters on GET in any format). */
function headerLines(ctx: Context): TextBodyLine[] {
  const lines: TextBodyLine[] = [];
  for (const name of OCCI_HEADERS) {
    const raw = ctx.get(name);
    if (!raw) continue;
    for (const value of splitHeaderValues(raw)) lines.push({ name, value, line: 1 });
  }
  return lines;
}

/** Deepest nesting of a JSON body; real OCCI bodies need about six levels. */
const MAX_JSON_DEPTH = 64;

/**
 * Refuses a JSON body nested deeper than {@link MAX_JSON_DEPTH}, walking it without recursion so
 * that a hostile body cannot exhaust the stack of anything that reads it afterwards.
 */
function assertShallow(body: unknown): void {
  // Each node knows its parent and key: the pointer is spelled out only for the node refused.
  interface Node {
    value: unknown;
    depth: number;
    parent?: Node;
    key?: string;
  }
  const pointerOf = (node: Node): string => (node.parent ? `${pointerOf(node.parent)}/${node.key!.replaceAll('~', '~0').replaceAll('/', '~1')}` : '');
  const stack: Node[] = [{ value: body, depth: 0 }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const { value, depth } = node;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_JSON_DEPTH) {
      throw new ValidationError(`the request body is nested more than ${MAX_JSON_DEPTH} levels deep`, [{ pointer: pointerOf(node) || '/', message: 'nested too deeply' }]);
    }
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      // Only containers can nest further; scalars need no visit.
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: depth + 1, parent: node, key });
    }
  }
}

/**
 * Refuses (413) a JSON body with more items than `itemsPerRequest` before anything validates it:
 * validation reports a problem per bad item, so a count found only afterwards would already have
 * paid for thousands of them.
 */
export function itemCountGuard(max: number) {
  return function itemCountGuard(ctx: Context, next: () => Promise<unknown>): Promise<unknown> {
    const body = (ctx.request as { body?: unknown }).body;
    if (ctx.is(...REQUEST_TYPES.json)) {
      const count = itemCount(body);
      if (count > max) throw new OcciError('payload-too-large', `a request may hold at most ${max} items (entities, links, categories or locations), this one has ${count}`);
    }
    return next();
  };
}

/**
 * Reads the request's content.
 *
 * @param allowForm - HTML forms are read only where a page posts them (action invocations); elsewhere
 * a form body is refused with 415, which is also what curl's `-d` without a Content-Type gets
 */
export function readContent(ctx: Context, allowForm = false): RequestContent {
  const body = (ctx.request as { body?: unknown }).body;
  if (ctx.is(...REQUEST_TYPES.json)) {
    assertShallow(body);
    if (body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0 && !ctx.get('Content-Length'))) return { format: 'none' };
    if (typeof body !== 'object' || Array.isArray(body)) {
      // A bare array is a location list (the only array body ocni reads).
      if (Array.isArray(body)) return { format: 'json', json: { locations: body } };
      throw new ValidationError('the request body must be a JSON object', [{ pointer: '/', message: 'must be an object' }]);
    }
    return { format: 'json', json: body as Json };
  }
  if (ctx.is('text/plain')) {
    try {
      return { format: 'text', lines: [...parseTextBody(typeof body === 'string' ? body : ''), ...headerLines(ctx)] };
    } catch (err) {
      if (err instanceof TextParseError) throw new ParseError(`text/plain body, line ${err.line}: ${err.message}`, [{ pointer: `line ${err.line}`, message: err.message }]);
      throw err;
    }
  }
  if (ctx.is('application/x-www-form-urlencoded')) {
    if (!allowForm) {
      throw new OcciError(
        'unsupported-media-type',
        `request bodies of type ${ctx.get('Content-Type')} are read only from HTML action forms; send Content-Type: application/occi+json, text/plain or text/occi`,
      );
    }
    // Field names are the client's: a null-prototype object keeps `__proto__` an ordinary field.
    const fields: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [key, value] of Object.entries((body ?? {}) as Record<string, unknown>)) if (typeof value === 'string') fields[key] = value;
    return { format: 'form', fields };
  }
  const lines = headerLines(ctx);
  // text/occi, or a GET with OCCI filter headers and no body.
  if (lines.length > 0 || ctx.is('text/occi')) return { format: 'text', lines };
  return { format: 'none' };
}
