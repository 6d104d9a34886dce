/**
 * @module Whether an absolute URL names this server. It must not hang on the request's `Host`
 * alone: a client that reached ocni as `127.0.0.1` may write `http://localhost:8090/…`, `[::1]`,
 * the configured public URL, or any address ocni listens on, and each of them means a path here —
 * subject to the caller's tenancy like any path — not an external URL. Pure: the names are given.
 */

/** What names this server. */
export interface ServerNames {
  /** Origins that always mean this server (the configured public URL), as `scheme://host[:port]`. */
  origins: string[];
  /** Host names and addresses ocni answers on, lowercase, IPv6 without brackets. */
  hosts: string[];
  /** Ports ocni listens on (plain HTTP). */
  ports: number[];
}

/** True for the loopback names: `localhost` (and `*.localhost`), 127.0.0.0/8, `::1` and its IPv4-mapped forms. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  // ::ffff:127.0.0.1, which the URL parser writes as ::ffff:7f00:1.
  return /^::ffff:(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|7f[0-9a-f]{2}:[0-9a-f]{1,4})$/.test(h);
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/**
 * True when `url` is an absolute URL of this server: its origin is one of `names.origins` (or
 * `extraOrigins`, e.g. the request's own), or it is plain HTTP to one of `names.ports` on one of
 * `names.hosts` (any loopback name when ocni answers on loopback).
 */
export function isOwnUrl(url: string | URL, names: ServerNames, extraOrigins: string[] = []): boolean {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url.trim()) : url;
  } catch {
    return false;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
  if ([...names.origins, ...extraOrigins].some((o) => originOf(o) === parsed.origin)) return true;
  if (parsed.protocol !== 'http:') return false;
  const port = parsed.port === '' ? 80 : Number(parsed.port);
  if (!names.ports.includes(port)) return false;
  const host = parsed.hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (names.hosts.includes(host)) return true;
  return isLoopbackHost(host) && names.hosts.some(isLoopbackHost);
}
