/**
 * The read cache of GET of one entity (issue 10 item 4): two ocni servers over one store. Each
 * serves repeated reads from memory, reads its own writes at once, sees the other's writes within a
 * bound (through the changes feed), never serves a deleted entity afterwards, reads the store on
 * `Cache-Control: no-cache`, and stays within its configured bounds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import type { CouchRequestRecord } from '../src/store/couch.ts';
import { writtenIds } from '../src/store/entity-read-cache.ts';
import { feedDelivered } from './support/feed-barrier.ts';
import { call, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';

const COMPUTE = 'http://schemas.ogf.org/occi/infrastructure#compute';
const JSON_ACCEPT = { accept: 'application/occi+json' };
/** Generous: the feed answers a long-poll as soon as anything changes; a loaded machine may take seconds. */
const CONVERGE_MS = 15_000;

const prefix = freshPrefix('readcache');
let a: RunningServer;
let b: RunningServer;

beforeAll(async () => {
  a = await startTestServer({ prefix });
  b = await startTestServer({ prefix });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await dropDatabases(prefix);
});

/** Store reads of the document at `location` that `server` sends while `fn` runs. */
async function storeReadsOf(server: RunningServer, location: string, fn: () => Promise<unknown>): Promise<number> {
  const seen: CouchRequestRecord[] = [];
  const stop = server.couch.observe((r) => seen.push(r));
  try {
    await fn();
  } finally {
    stop();
  }
  return seen.filter((r) => r.method === 'get' && decodeURIComponent(r.path) === location).length;
}

async function cores(server: RunningServer, location: string, headers: Record<string, string> = {}): Promise<number | 'gone'> {
  const res = await call(server.url, 'GET', location, { headers: { ...JSON_ACCEPT, ...headers } });
  if (res.status === 404) return 'gone';
  expect(res.status).toBe(200);
  return (res.json as { attributes: Record<string, number> }).attributes['occi.compute.cores']!;
}

async function eventually<T>(read: () => Promise<T>, want: T): Promise<number> {
  const started = Date.now();
  for (;;) {
    const got = await read();
    if (got === want) return Date.now() - started;
    if (Date.now() - started > CONVERGE_MS) throw new Error(`still ${String(got)} after ${CONVERGE_MS} ms, want ${String(want)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let barriers = 0;

/**
 * Waits until `server`'s changes feed has delivered every write made so far (its own included):
 * the echo of a write invalidates what the cache holds, so an assertion that a read came from
 * memory must not race with the echo of the write before it. The feed is ordered: once a fresh
 * sentinel write comes through, every earlier change has.
 */
async function feedSettled(server: RunningServer): Promise<void> {
  barriers += 1;
  const location = `/compute/barrier${barriers}`;
  await feedDelivered(server, location, () => put(server, location, 1), CONVERGE_MS);
}

async function put(server: RunningServer, location: string, n: number): Promise<void> {
  const res = await call(server.url, 'PUT', location, { body: { kind: COMPUTE, attributes: { 'occi.compute.cores': n } }, headers: JSON_ACCEPT });
  expect([200, 201]).toContain(res.status);
}

describe('read cache of GET of one entity', () => {
  it('serves a repeated GET from memory, and reads the store on Cache-Control: no-cache', async () => {
    await put(a, '/compute/rc1', 1);
    await feedSettled(a);
    expect(await cores(a, '/compute/rc1')).toBe(1);
    expect(await storeReadsOf(a, '/compute/rc1', () => cores(a, '/compute/rc1'))).toBe(0);
    expect(await storeReadsOf(a, '/compute/rc1', () => cores(a, '/compute/rc1', { 'cache-control': 'no-cache' }))).toBeGreaterThanOrEqual(1);
    expect(await storeReadsOf(a, '/compute/rc1', () => cores(a, '/compute/rc1', { pragma: 'no-cache' }))).toBeGreaterThanOrEqual(1);
    expect(a.services.readCache!.stats.hits).toBeGreaterThan(0);
  });

  it('a process reads its own writes at once', async () => {
    await put(a, '/compute/rc2', 1);
    expect(await cores(a, '/compute/rc2')).toBe(1);
    for (let n = 2; n <= 6; n += 1) {
      await put(a, '/compute/rc2', n);
      expect(await cores(a, '/compute/rc2')).toBe(n);
    }
    // A partial update (POST) and a delete, each read back at once.
    expect((await call(a.url, 'POST', '/compute/rc2', { body: { kind: COMPUTE, attributes: { 'occi.compute.cores': 9 } }, headers: JSON_ACCEPT })).status).toBe(200);
    expect(await cores(a, '/compute/rc2')).toBe(9);
    expect((await call(a.url, 'DELETE', '/compute/rc2')).status).toBe(204);
    expect(await cores(a, '/compute/rc2')).toBe('gone');
  });

  it("another process's write is seen within a bound, without asking for a fresh read", async () => {
    await put(a, '/compute/rc3', 1);
    expect(await cores(a, '/compute/rc3')).toBe(1);
    expect(await cores(b, '/compute/rc3')).toBe(1);
    // Both hold it now; a write on B reaches A through the changes feed.
    await put(b, '/compute/rc3', 2);
    expect(await cores(b, '/compute/rc3')).toBe(2);
    const took = await eventually(() => cores(a, '/compute/rc3'), 2);
    expect(took).toBeLessThan(CONVERGE_MS);
    // And it stays converged: the cache was refilled from the store, not from an older read.
    for (let i = 0; i < 5; i += 1) expect(await cores(a, '/compute/rc3')).toBe(2);
  });

  it('a delete on another process is never served from the cache afterwards', async () => {
    await put(a, '/compute/rc4', 1);
    expect(await cores(a, '/compute/rc4')).toBe(1);
    expect((await call(b.url, 'DELETE', '/compute/rc4')).status).toBe(204);
    await eventually(() => cores(a, '/compute/rc4'), 'gone');
    for (let i = 0; i < 5; i += 1) expect(await cores(a, '/compute/rc4')).toBe('gone');
    // Created again elsewhere: seen again.
    await put(b, '/compute/rc4', 7);
    await eventually(() => cores(a, '/compute/rc4'), 7);
  });

  it('a resource with links reads its links through the cache, and a new link on another process shows', async () => {
    await put(a, '/compute/rc5', 1);
    expect((await call(a.url, 'PUT', '/network/rn5', { body: { kind: 'http://schemas.ogf.org/occi/infrastructure#network' }, headers: JSON_ACCEPT })).status).toBe(201);
    const links = async (server: RunningServer) => ((await call(server.url, 'GET', '/compute/rc5', { headers: JSON_ACCEPT })).json as { links?: unknown[] }).links?.length ?? 0;
    expect(await links(a)).toBe(0);
    const link = { kind: 'http://schemas.ogf.org/occi/infrastructure#networkinterface', source: { location: '/compute/rc5' }, target: { location: '/network/rn5' } };
    expect((await call(b.url, 'PUT', '/link/networkinterface/rl5', { body: link, headers: JSON_ACCEPT })).status).toBe(201);
    await eventually(() => links(a), 1);
    expect((await call(b.url, 'DELETE', '/link/networkinterface/rl5')).status).toBe(204);
    await eventually(() => links(a), 0);
  });

  it('holds no more entities and bytes than configured', async () => {
    const small = await startTestServer({ prefix, overrides: { readCache: { entities: 3, bytes: 1_000_000 } } });
    const tiny = await startTestServer({ prefix, overrides: { readCache: { entities: 1000, bytes: 2_000 } } });
    try {
      for (let i = 0; i < 8; i += 1) await put(small, `/compute/rm${i}`, i + 1);
      await feedSettled(small);
      await feedSettled(tiny);
      for (let i = 0; i < 8; i += 1) {
        expect(await cores(small, `/compute/rm${i}`)).toBe(i + 1);
        expect(await cores(tiny, `/compute/rm${i}`)).toBe(i + 1);
      }
      expect(small.services.readCache!.stats.entries).toBe(3);
      const held = tiny.services.readCache!.stats;
      expect(held.entries).toBeGreaterThan(0);
      expect(held.bytes).toBeLessThanOrEqual(2_000);
      // The least recently used went first: the last three read are held.
      expect(await storeReadsOf(small, '/compute/rm7', () => cores(small, '/compute/rm7'))).toBe(0);
      expect(await storeReadsOf(small, '/compute/rm0', () => cores(small, '/compute/rm0'))).toBe(1);
    } finally {
      await small.close();
      await tiny.close();
    }
  });

  it('turned off (entities 0), every GET reads the store', async () => {
    const off = await startTestServer({ prefix, overrides: { readCache: { entities: 0, bytes: 0 } } });
    try {
      await put(off, '/compute/ro1', 1);
      expect(await cores(off, '/compute/ro1')).toBe(1);
      expect(await storeReadsOf(off, '/compute/ro1', () => cores(off, '/compute/ro1'))).toBe(1);
      expect(off.services.readCache).toBeUndefined();
    } finally {
      await off.close();
    }
  });
});

describe('writtenIds', () => {
  it('names the documents a request writes in the database, and nothing for reads', () => {
    expect(writtenIds({ method: 'put', db: 'e', path: encodeURIComponent('/compute/x') }, 'e')).toEqual(['/compute/x']);
    expect(writtenIds({ method: 'delete', db: 'e', path: encodeURIComponent('/compute/x'), qs: { rev: '1-a' } }, 'e')).toEqual(['/compute/x']);
    expect(writtenIds({ method: 'post', db: 'e', path: '_bulk_docs', body: { docs: [{ _id: '/a' }, { _id: '/b', _deleted: true }] } }, 'e')).toEqual(['/a', '/b']);
    expect(writtenIds({ method: 'get', db: 'e', path: encodeURIComponent('/compute/x') }, 'e')).toBeUndefined();
    expect(writtenIds({ method: 'post', db: 'e', path: '_find', body: {} }, 'e')).toBeUndefined();
    expect(writtenIds({ method: 'post', db: 'e', path: '_all_docs', body: { keys: ['/a'] } }, 'e')).toBeUndefined();
    expect(writtenIds({ method: 'put', db: 'other', path: 'x' }, 'e')).toBeUndefined();
  });
});
