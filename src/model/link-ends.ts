/**
 * @module Link ends and location lists as clients give them: a path, an absolute URL of this
 * server, or an external URL. Every rendering's link ends pass through {@link normaliseLinkEnd}
 * before anything else looks at them, so `/compute/1` and `http://this-server/compute/1` are the
 * same end whatever the media type. Pure: what "this server" means comes in as a predicate.
 */
import { toPath } from './location.ts';

/**
 * Says whether an absolute URL names this server and, if so, the local path it names (the URL's
 * path less the base's path prefix, e.g. `https://host/occi/compute/1` → `/compute/1` for the base
 * `https://host/occi`); undefined for another server's URL.
 */
export type OwnUrlTest = (url: URL) => string | undefined;

/** The test for a list of base URLs (`http://host:port`, optionally with a path prefix) that mean this server. */
export function ownUrlTest(bases: string[]): OwnUrlTest {
  const parsed = bases.flatMap((base) => {
    try {
      const url = new URL(base);
      return [{ origin: url.origin, prefix: url.pathname.replace(/\/+$/, '') }];
    } catch {
      return [];
    }
  });
  return (url) => {
    for (const b of parsed) {
      if (url.origin !== b.origin) continue;
      if (b.prefix === '') return url.pathname;
      if (url.pathname.startsWith(`${b.prefix}/`)) return url.pathname.slice(b.prefix.length);
    }
    return undefined;
  };
}

/** A normalised link end: a path here, or an external absolute URL. */
export type LinkEnd = { path: string } | { url: string } | { error: string };

/**
 * Normalises one link end or listed location: a path stays a path (checked), an absolute URL this
 * server owns becomes its path, any other absolute URL stays as it is (an external end).
 */
export function normaliseLinkEnd(ref: string, isOwn: OwnUrlTest): LinkEnd {
  const trimmed = ref.trim();
  if (trimmed.startsWith('/')) return toPath(trimmed);
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { error: `"${ref}" is neither a path of this server nor an absolute URL` };
  }
  const local = isOwn(url);
  if (local === undefined) return { url: trimmed };
  if (url.search !== '' || url.hash !== '') return { error: `"${ref}" names this server but is no entity location (it has a query or fragment)` };
  // The URL parser resolves `..` and `%2e%2e` silently: the path as written must have a normal form too.
  const written = toPath(trimmed);
  if ('error' in written) return written;
  return toPath(local);
}
