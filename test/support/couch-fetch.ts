/**
 * Direct requests to the CouchDB-protocol server from tests. Credentials in the URL
 * (`http://admin:secret@…`, as with an external CouchDB or the test container) become an
 * Authorization header: Node's fetch refuses URLs that carry them, and a `.catch` around such a
 * call used to hide that every cleanup failed.
 */

/** Sends `init` to `path` below `couchUrl`, with the URL's credentials as a Basic Authorization header. */
export function couchFetch(couchUrl: string, path: string, init: RequestInit = {}): Promise<Response> {
  const url = new URL(couchUrl);
  const headers = new Headers(init.headers);
  if (url.username || url.password) {
    headers.set('Authorization', `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`);
    url.username = '';
    url.password = '';
  }
  return fetch(`${url.origin}${url.pathname.replace(/\/$/, '')}/${path}`, { ...init, headers });
}

/**
 * Deletes databases by name; one that is not there is fine, any other refusal is an error, so that
 * a harness that leaks databases fails loudly instead of quietly.
 */
export async function deleteDatabases(couchUrl: string, names: string[]): Promise<void> {
  for (const name of names) {
    const res = await couchFetch(couchUrl, encodeURIComponent(name), { method: 'DELETE' });
    await res.arrayBuffer();
    if (!res.ok && res.status !== 404) throw new Error(`deleting database ${name} answered ${res.status}`);
  }
}
