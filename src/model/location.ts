/**
 * @module Locations: an entity's identity is its path (`/compute/4f0c…`); collections and
 * category locations end in `/`. Clients may send paths or absolute URLs of this server.
 */

/** Longest path accepted, in characters. */
export const MAX_PATH_LENGTH = 1024;

const SEGMENT = /^[A-Za-z0-9._~!$&'()*+,;=:@%-]+$/;

/**
 * Reduces an absolute URL or a path to a normalised path, or says why it cannot.
 *
 * @returns `{ path }` or `{ error }` (a sentence fit for a problem document)
 */
export function toPath(input: string): { path: string } | { error: string } {
  let path = input.trim();
  if (/^https?:\/\//i.test(path)) {
    try {
      path = new URL(path).pathname;
    } catch {
      return { error: `"${input}" is not a valid URL` };
    }
  }
  if (!path.startsWith('/')) return { error: `"${input}" must be a path starting with '/' or an absolute http(s) URL` };
  if (path.length > MAX_PATH_LENGTH) return { error: `a path may be at most ${MAX_PATH_LENGTH} characters long` };
  if (path.includes('//')) return { error: `"${input}" has an empty path segment` };
  const segments = path.split('/').slice(1, path.endsWith('/') ? -1 : undefined);
  for (const segment of segments) {
    if (segment === '.' || segment === '..') return { error: `"${input}" may not contain '.' or '..' segments` };
    if (!SEGMENT.test(segment)) return { error: `"${input}" has a segment with characters a path may not hold` };
  }
  return { path };
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
