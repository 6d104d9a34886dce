/**
 * The test infrastructure of issue 11 checked against the real store: the fault-injecting proxy does
 * what it says, and test databases are dropped on a CouchDB URL that carries credentials.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { couchFetch } from './support/couch-fetch.ts';
import { FaultProxy } from './support/fault-proxy.ts';
import { couchUrl, dropDatabases, freshPrefix } from './support/harness.ts';

const prefix = freshPrefix('proxy');
const db = `${prefix}entities`;
let proxy: FaultProxy;

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

beforeAll(async () => {
  proxy = await FaultProxy.start(couchUrl());
  expect((await couchFetch(couchUrl(), db, { method: 'PUT' })).status).toBe(201);
});

afterAll(async () => {
  await proxy?.close();
  await dropDatabases(prefix);
});

const put = (path: string, body: unknown) => couchFetch(proxy.url, path, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('the fault proxy', () => {
  it('answers a forwarded write 202 when told, and the write is stored', async () => {
    proxy.inject({ fault: 'accepted', method: 'PUT', path: /\/a1$/ });
    const res = await put(`${db}/a1`, { v: 1 });
    expect(res.status).toBe(202);
    const { rev } = await json<{ rev: string }>(res);
    expect((await json<{ _rev: string; v: number }>(await couchFetch(couchUrl(), `${db}/a1`))).v).toBe(1);
    expect(rev).toMatch(/^1-/);
  });

  it('applies a split write to a stale revision: 202, and the document has a conflict', async () => {
    const first = await json<{ rev: string }>(await put(`${db}/s1`, { v: 0 }));
    expect((await put(`${db}/s1`, { _rev: first.rev, v: 1 })).status).toBe(201);
    proxy.inject({ fault: 'split', method: 'PUT', path: /\/s1$/ });
    // Based on the first revision, which is no longer current: a single node would answer 409.
    const split = await put(`${db}/s1`, { _rev: first.rev, v: 2 });
    expect(split.status).toBe(202);
    const doc = await json<{ _conflicts?: string[] }>(await couchFetch(couchUrl(), `${db}/s1?conflicts=true`));
    expect(doc._conflicts).toHaveLength(1);
  });

  it('plants a conflicting leaf that wins or loses as asked', async () => {
    await put(`${db}/p1`, { v: 'mine' });
    await proxy.plantConflict(db, 'p1', (d) => ({ ...d, v: 'planted' }), true);
    const doc = await json<{ v: string; _conflicts?: string[] }>(await couchFetch(couchUrl(), `${db}/p1?conflicts=true`));
    expect(doc.v).toBe('planted');
    expect(doc._conflicts).toHaveLength(1);
  });

  it('cuts a response body', async () => {
    await put(`${db}/c1`, { v: 'x'.repeat(200) });
    proxy.inject({ fault: 'cut-body', method: 'GET', path: /\/c1$/ });
    const res = await couchFetch(proxy.url, `${db}/c1`);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it('drops the connection after forwarding, and the write stays', async () => {
    proxy.inject({ fault: 'drop-after-forward', method: 'PUT', path: /\/d1$/ });
    await expect(put(`${db}/d1`, { v: 1 })).rejects.toThrow();
    expect((await couchFetch(couchUrl(), `${db}/d1`)).status).toBe(200);
    expect(proxy.applied('drop-after-forward')).toBe(1);
  });
});

describe('test databases on a CouchDB URL with credentials', () => {
  it('are dropped (fetch refuses user:password@ URLs, so the harness sends a header)', async () => {
    const guarded = await FaultProxy.start(couchUrl());
    guarded.requireAuth = { user: 'admin', password: 's3cret' };
    const other = freshPrefix('leak');
    try {
      const withCredentials = guarded.url.replace('http://', 'http://admin:s3cret@');
      for (const name of ['categories', 'entities']) expect((await couchFetch(withCredentials, `${other}${name}`, { method: 'PUT' })).status).toBe(201);
      await dropDatabases(other, withCredentials);
      for (const name of ['categories', 'entities']) expect((await couchFetch(couchUrl(), `${other}${name}`)).status).toBe(404);
      // Without the header the store refuses; the harness says so instead of leaking quietly.
      await expect(dropDatabases(other, guarded.url)).rejects.toThrow(/401/);
    } finally {
      await guarded.close();
    }
  });

  it('the raw client used by harnesses refuses credentials in a URL (why the header is needed)', async () => {
    await expect(fetch(`${couchUrl().replace('http://', 'http://a:b@')}/`)).rejects.toThrow(/credentials/);
  });
});
