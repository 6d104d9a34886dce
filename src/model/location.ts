/**
 * @module Locations: an entity's identity is its path (`/compute/4f0c…`); collections and
 * category locations end in `/`. Clients may send paths or absolute URLs of this server.
 */

/** Longest path accepted, in characters. */
export const MAX_PATH_LENGTH = 1024;

/** Characters a segment holds as they are (RFC 3986 unreserved, sub-delims, ':' and '@'). */
const LITERAL = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]$/;
const PLAIN = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]+$/;
/** ASCII a URI may not hold literally (RFC 3986 §2): controls, space, `"<>\^`{|}`. */
// eslint-disable-next-line no-control-regex -- control characters are what it matches
const NOT_IN_URIS = /[\u0000-\u0020"<>\\^`{|}\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** `/`, or `/`-led plain segments, with or without a final `/` (no empty segment). */
const PLAIN_PATH = /^\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]+(?:\/[A-Za-z0-9\-._~!$&'()*+,;=:@]+)*\/?)?$/;
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;
const HEX = '0123456789ABCDEF';
const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * One path segment in its one normal form, or why it has none. Percent-escapes are decoded, the
 * text is read as UTF-8 and put in Unicode NFC, and it is written again with every character that
 * may stand literally in a segment as itself and every other one percent-encoded (UTF-8, uppercase
 * hex): `%41` and `A`, `caf%C3%A9` and `cafe%CC%81`, `%7e` and `~` are one segment. This goes beyond
 * RFC 3986's generic equivalence (unreserved characters only) in decoding sub-delims too, which is
 * sound because ocni gives them no meaning inside a segment (RFC 3986 §6.2.3). Refused: a broken
 * escape (`%ZZ`), bytes that are not UTF-8, control characters (`%00`), an encoded `/` (`%2F`:
 * one segment would read as two), and `.` or `..` however written (`%2e%2e`).
 */
export function normaliseSegment(raw: string): { segment: string } | { error: string } {
  // Plain ASCII without escapes (nearly every segment) is its own normal form.
  if (PLAIN.test(raw)) return raw === '.' || raw === '..' ? { error: "is a '.' or '..' segment" } : { segment: raw };
  if (LONE_SURROGATE.test(raw)) return { error: 'holds text that is not valid Unicode' };
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i += 1) {
    const ch = raw[i]!;
    if (ch === '%') {
      const hex = raw.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { error: `has a broken percent-escape "%${hex}" (a '%' must be followed by two hex digits)` };
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (NOT_IN_URIS.test(ch)) {
      return { error: `holds a character a URL may not hold literally (${JSON.stringify(ch)})` };
    } else {
      const code = ch.codePointAt(0)!;
      if (code > 0xffff) i += 1;
      bytes.push(...encoder.encode(String.fromCodePoint(code)));
    }
  }
  let text: string;
  try {
    text = utf8.decode(new Uint8Array(bytes));
  } catch {
    return { error: 'has percent-escapes that are not UTF-8' };
  }
  // eslint-disable-next-line no-control-regex -- control characters are what it matches
  if (/[\u0000-\u001f\u007f]/.test(text)) return { error: 'holds a control character (such as %00)' };
  if (text.includes('/')) return { error: "holds an encoded '/' (%2F) inside a segment" };
  text = text.normalize('NFC');
  if (text === '.' || text === '..') return { error: "is a '.' or '..' segment" };
  if (text === '') return { error: 'is empty' };
  let out = '';
  for (const ch of text) {
    if (LITERAL.test(ch)) out += ch;
    else for (const byte of encoder.encode(ch)) out += `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return { segment: out };
}

/**
 * Reduces an absolute URL or a path to its one normalised path (see {@link normaliseSegment}), or
 * says why it cannot. An absolute URL's path is read as written: the URL parser would resolve
 * `..` and `%2e%2e` silently, which must be refused instead. Query and fragment are dropped.
 *
 * @returns `{ path }` or `{ error }` (a sentence fit for a problem document)
 */
export function toPath(input: string): { path: string } | { error: string } {
  // A path of plain segments (nearly every request's) is its own normal form.
  if (input.length <= MAX_PATH_LENGTH && PLAIN_PATH.test(input) && !DOT_SEGMENT.test(input)) return { path: input };
  let path = input.trim();
  const absolute = /^https?:\/\/([^/?#]*)([^?#]*)/i.exec(path);
  if (absolute) {
    try {
      new URL(path);
    } catch {
      return { error: `"${input}" is not a valid URL` };
    }
    path = absolute[2] || '/';
  }
  if (!path.startsWith('/')) return { error: `"${input}" must be a path starting with '/' or an absolute http(s) URL` };
  if (path.length > MAX_PATH_LENGTH * 3) return { error: `a path may be at most ${MAX_PATH_LENGTH} characters long` };
  if (path.includes('//')) return { error: `"${input}" has an empty path segment` };
  const collection = path.endsWith('/');
  const segments = path.split('/').slice(1, collection ? -1 : undefined);
  const out: string[] = [];
  for (const segment of segments) {
    const normal = normaliseSegment(segment);
    if ('error' in normal) return { error: `"${input}": the segment "${segment}" ${normal.error}` };
    out.push(normal.segment);
  }
  const normalised = `/${out.join('/')}${collection && out.length > 0 ? '/' : ''}`;
  if (normalised.length > MAX_PATH_LENGTH) return { error: `a path may be at most ${MAX_PATH_LENGTH} characters long` };
  return { path: normalised };
}

/** Paths of the operations endpoints (health, readiness, metrics). */
const OPERATIONS_PATHS = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);

/** Paths that belong to the query interface or the operations endpoints and can never be a location or an entity. */
export function isReservedPath(path: string): boolean {
  return path === '/-/' || path.startsWith('/-/') || path.startsWith('/.well-known/') || OPERATIONS_PATHS.has(path);
}

/** The location path of an entity's collection-free parent: `/a/b/c` → `/a/b/`. */
export function parentPath(path: string): string {
  return path.slice(0, path.lastIndexOf('/') + 1);
}
