/**
 * Listings answered from memory (issue 10: a 1,000-member listing faster than the store can read
 * it): the member index and the read cache. Three ocni servers over one store: A and B with the
 * index, C without (its listings read the view). A lists what C lists, in the same order, with next
 * links either can follow; a repeated listing costs A no store request; A lists its own writes at
 * once and B's within the feed's latency; the store reads what clients list, page by page, once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../src/auth/authenticate.ts';
import type { RunningServer } from '../src/server.ts';
import type { CouchRequestRecord } from '../src/store/couch.ts';
import { databaseNames } from '../src/store/databases.ts';
import { MemberIndex } from '../src/store/member-index.ts';
import { call, dropDatabases, freshPrefix, startTestServer, type TestResponse } from './support/harness.ts';

const COMPUTE = 'http://schemas.ogf.org/occi/infrastructure#compute';
const NETWORK = 'http://schemas.ogf.org/occi/infrastructure#network';
const GOLD = 'http://example.com/memlist#gold';
const JSON_ACCEPT = { accept: 'application/occi+json' };
/** Generous: the feed answers a long-poll as soon as anything changes; a loaded machine may take seconds. */
const CONVERGE_MS = 15_000;

const prefix = freshPrefix('memlist');
let a: RunningServer;
let b: RunningServer;
let c: RunningServer;

const ids = (res: TestResponse) => {
  const body = res.json as { resources?: { id: string }[]; links?: { id: string }[] };
  return [...(body.resources ?? []), ...(body.links ?? [])].map((e) => String(e.id));
};
const nextOf = (res: TestResponse) => {
  const next = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
  return next ? new URL(next).pathname + new URL(next).search : undefined;
};
const list = (server: RunningServer, path: string) => call(server.url, 'GET', path, { headers: JSON_ACCEPT });

/** Every page of a listing by its next links, alternating between servers when `servers` has several. */
async function walk(servers: RunningServer[], path: string): Promise<{ ids: string[]; pages: number }> {
  const seen: string[] = [];
  let pages = 0;
  for (let at: string | undefined = path; at !== undefined; pages += 1) {
    const res = await list(servers[pages % servers.length]!, at);
    expect(res.status, res.text).toBe(200);
    seen.push(...ids(res));
    at = nextOf(res);
  }
  return { ids: seen, pages };
}

/** The store requests `server` sends while `fn` runs (the changes feed's long-polls left out). */
async function storeRequests(server: RunningServer, fn: () => Promise<unknown>): Promise<CouchRequestRecord[]> {
  const seen: CouchRequestRecord[] = [];
  const stop = server.couch.observe((r) => {
    if (r.path !== '_changes') seen.push(r);
  });
  try {
    await fn();
  } finally {
    stop();
  }
  return seen;
}

/** Rows the requests asked for: a view's `limit` or the keys of an `_all_docs` by keys. */
const rowsAsked = (requests: CouchRequestRecord[]) =>
  requests.reduce(
    (n, r) => n + (r.path === '_all_docs' ? ((r.body as { keys?: unknown[] } | undefined)?.keys?.length ?? Number(r.qs.limit ?? 0)) : r.path.includes('/_view/') ? Number(r.qs.limit ?? 0) : 1),
    0,
  );

async function eventually<T>(read: () => Promise<T>, want: T): Promise<void> {
  const started = Date.now();
  for (;;) {
    const got = await read();
    if (JSON.stringify(got) === JSON.stringify(want)) return;
    if (Date.now() - started > CONVERGE_MS) throw new Error(`still ${JSON.stringify(got)} after ${CONVERGE_MS} ms, want ${JSON.stringify(want)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let barriers = 0;

/** Waits until `server`'s changes feed has delivered every write made so far (a fresh write came through: the feed is ordered). */
async function feedSettled(server: RunningServer): Promise<void> {
  barriers += 1;
  const location = `/storage/barrier${barriers}`;
  let seen!: () => void;
  const arrived = new Promise<void>((resolve) => (seen = resolve));
  const unsubscribe = await server.services.watch.entities.subscribe((change) => {
    if (change.id === location) seen();
  });
  try {
    await create(server, '/storage/', [{ kind: 'http://schemas.ogf.org/occi/infrastructure#storage', id: `barrier${barriers}`, attributes: { 'occi.storage.size': 1 } }]);
    await Promise.race([arrived, new Promise((_, reject) => setTimeout(() => reject(new Error(`the feed did not deliver ${location} within ${CONVERGE_MS} ms`)), CONVERGE_MS))]);
  } finally {
    unsubscribe();
  }
}

async function create(server: RunningServer, path: string, resources: unknown[]): Promise<void> {
  const res = await call(server.url, 'POST', path, { body: { resources }, headers: JSON_ACCEPT });
  expect(res.status, res.text).toBe(201);
}

beforeAll(async () => {
  a = await startTestServer({ prefix });
  b = await startTestServer({ prefix });
  c = await startTestServer({ prefix, overrides: { listCache: { ids: 0 } } });
  const added = await call(a.url, 'POST', '/-/', { body: { mixins: [{ term: 'gold', scheme: 'http://example.com/memlist#', location: '/gold/' }] }, headers: JSON_ACCEPT });
  expect(added.status, added.text).toBe(200);
  await create(
    a,
    '/compute/',
    Array.from({ length: 40 }, (_, i) => ({ kind: COMPUTE, id: `m${String(i).padStart(2, '0')}`, attributes: { 'occi.compute.cores': (i % 4) + 1 }, ...(i % 5 === 0 ? { mixins: [GOLD] } : {}) })),
  );
  await create(
    a,
    '/network/',
    Array.from({ length: 10 }, (_, i) => ({ kind: NETWORK, id: `n${i}` })),
  );
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await c?.close();
  await dropDatabases(prefix);
});

describe('listings from memory', () => {
  it('list what the view lists, in its order, by next links, by ?page= and across servers', async () => {
    for (const path of ['/compute/?number=7', '/resource/?number=6', '/gold/?number=3']) {
      const fromStore = await walk([c], path);
      expect(fromStore.ids.length, path).toBeGreaterThan(0);
      expect(await walk([a], path), path).toEqual(fromStore);
      // Next links of one kind of listing continue in the other, both ways.
      expect((await walk([a, c], path)).ids, path).toEqual(fromStore.ids);
      expect((await walk([c, a], path)).ids, path).toEqual(fromStore.ids);
    }
    for (const page of [1, 3, 6, 9]) {
      const path = `/compute/?number=7&page=${page}`;
      expect(ids(await list(a, path)), path).toEqual(ids(await list(c, path)));
    }
    expect(ids(await list(a, '/compute/?number=100'))).toHaveLength(40);
    expect(ids(await list(a, '/resource/?number=100'))).toHaveLength(50);
  });

  it('read the store once: a repeated listing costs no store request, a first one what it lists', async () => {
    const path = '/network/?number=4';
    const first = await storeRequests(b, () => list(b, path));
    // The window's member keys and the documents, each at most a page and one more.
    expect(rowsAsked(first), JSON.stringify(first)).toBeLessThanOrEqual(2 * 5);
    const again = await storeRequests(b, async () => {
      for (let i = 0; i < 3; i += 1) expect(ids(await list(b, path))).toEqual(['n0', 'n1', 'n2', 'n3']);
    });
    expect(again).toEqual([]);
    // The next page reads only its own members and documents.
    const next = nextOf(await list(b, path))!;
    const second = await storeRequests(b, () => list(b, next));
    expect(rowsAsked(second), JSON.stringify(second)).toBeLessThanOrEqual(2 * 5);
    expect(b.services.readCache!.stats.hits).toBeGreaterThan(0);
  });

  it('list their own writes at once: creations, deletions, mixins added and removed', async () => {
    const computes = async () => ids(await list(a, '/compute/?number=100'));
    const gold = async () => ids(await list(a, '/gold/?number=100'));
    expect(await computes()).toHaveLength(40);
    await create(a, '/compute/', [{ kind: COMPUTE, id: 'm05a' }]);
    // From memory: the new member is placed without reading the view (its document is read once).
    const views = (await storeRequests(a, async () => expect(await computes()).toContain('m05a'))).filter((r) => r.path.includes('/_view/'));
    expect(views).toEqual([]);
    expect((await computes()).indexOf('m05a')).toBe((await computes()).indexOf('m05') + 1);
    expect(await gold()).not.toContain('m05a');
    expect((await call(a.url, 'POST', '/gold/', { body: { locations: ['/compute/m05a'] }, headers: JSON_ACCEPT })).status).toBeLessThan(300);
    expect(await gold()).toContain('m05a');
    expect((await call(a.url, 'DELETE', '/gold/', { body: { locations: ['/compute/m05a'] }, headers: JSON_ACCEPT })).status).toBeLessThan(300);
    expect(await gold()).not.toContain('m05a');
    expect((await call(a.url, 'DELETE', '/compute/m05a')).status).toBe(204);
    expect(await computes()).not.toContain('m05a');
    expect(await computes()).toEqual(ids(await list(c, '/compute/?number=100')));
  });

  it("list another process's writes once the feed brings them", async () => {
    const computes = async () => ids(await list(a, '/compute/?number=100'));
    const before = await computes();
    await create(b, '/compute/', [{ kind: COMPUTE, id: 'm10b' }]);
    await eventually(async () => (await computes()).includes('m10b'), true);
    expect((await call(b.url, 'DELETE', '/compute/m10b')).status).toBe(204);
    await eventually(computes, before);
  });

  it('keep listing an entity whose conflicting revisions were resolved (one leaf deleted, the entity stays)', async () => {
    const entities = databaseNames(prefix).entities;
    const location = '/compute/m07';
    expect(ids(await list(a, '/compute/?number=100'))).toContain('m07');
    // Two writers elsewhere (as a cluster's split write leaves them): two leaves of the same generation.
    const doc = await a.couch.request<Record<string, unknown> & { _rev: string }>({ db: entities, path: encodeURIComponent(location) });
    const parent = doc._rev.split('-')[1]!;
    const leaf = (hash: string, cores: number) => ({
      ...doc,
      _rev: `2-${hash}`,
      _revisions: { start: 2, ids: [hash, parent] },
      attributes: { ...(doc.attributes as object), 'occi.compute.cores': cores },
    });
    await a.couch.request({ db: entities, method: 'post', path: '_bulk_docs', body: { docs: [leaf('a'.repeat(32), 11), leaf('b'.repeat(32), 12)], new_edits: false } });
    // A reads it from the store, which resolves the conflict: the merge is written, the losing leaf deleted.
    expect((await call(a.url, 'GET', location, { headers: { ...JSON_ACCEPT, 'cache-control': 'no-cache' } })).status).toBe(200);
    const after = await a.couch.request<{ _conflicts?: string[] }>({ db: entities, path: encodeURIComponent(location), qs: { conflicts: true } });
    expect(after._conflicts ?? []).toEqual([]);
    expect(ids(await list(a, '/compute/?number=100'))).toContain('m07');
    // And once the feed has brought every change of it.
    await feedSettled(a);
    expect(ids(await list(a, '/compute/?number=100'))).toContain('m07');
    expect(ids(await list(a, '/compute/?number=100'))).toEqual(ids(await list(c, '/compute/?number=100')));
  });

  it('reach past the window: a member created beyond it is listed when a page gets there', async () => {
    // A holds the first members of /network/ only; a later one, created by B, is read with the page that reaches it.
    expect(ids(await list(a, '/network/?number=2'))).toEqual(['n0', 'n1']);
    await create(b, '/network/', [{ kind: NETWORK, id: 'n99' }]);
    const all = await walk([a], '/network/?number=4');
    expect(all.ids).toEqual(['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8', 'n9', 'n99']);
  });
});

describe('the member index on a store that collates by the Unicode Collation Algorithm', () => {
  it('does not serve a collection whose ids memory would order differently from CouchDB', async () => {
    await create(a, '/storage/', [
      { kind: 'http://schemas.ogf.org/occi/infrastructure#storage', id: 'lower', attributes: { 'occi.storage.size': 1 } },
      { kind: 'http://schemas.ogf.org/occi/infrastructure#storage', id: 'Upper', attributes: { 'occi.storage.size': 1 } },
    ]);
    const storage = 'http://schemas.ogf.org/occi/infrastructure#storage';
    const entities = databaseNames(prefix).entities;
    const unicode = new MemberIndex(a.couch, entities, a.services.watch.entities, { ids: 1000, collation: 'unicode' });
    const codeUnits = new MemberIndex(a.couch, entities, a.services.watch.entities, { ids: 1000, collation: 'code-units' });
    await unicode.start();
    await codeUnits.start();
    try {
      expect(await unicode.members(storage, 10)).toBeUndefined();
      expect((await codeUnits.members(storage, 10))?.ids.filter((id) => !id.startsWith('/storage/barrier'))).toEqual(['/storage/Upper', '/storage/lower']);
      // Lower-case ids only: served.
      expect((await unicode.members(NETWORK, 3))?.ids.slice(0, 3)).toEqual(['/network/n0', '/network/n1', '/network/n2']);
    } finally {
      unicode.stop();
      codeUnits.stop();
    }
  });

  it('holds no more ids than its bound, and then leaves listings to the store', async () => {
    const entities = databaseNames(prefix).entities;
    const small = new MemberIndex(a.couch, entities, a.services.watch.entities, { ids: 5, collation: 'code-units' });
    await small.start();
    try {
      expect((await small.members(COMPUTE, 5))?.ids).toHaveLength(5);
      expect(await small.members(COMPUTE, 6)).toBeUndefined();
      expect(small.size).toBe(5);
    } finally {
      small.stop();
    }
  });
});

describe('tenants’ listings from memory', () => {
  const tenantPrefix = freshPrefix('memlist-tenants');
  const users = [
    { name: 'alice', tenant: 'tenant-a', token: hashToken('alice-token') },
    { name: 'bob', tenant: 'tenant-b', token: hashToken('bob-token') },
    { name: 'olga', operator: true, token: hashToken('olga-token') },
  ];
  const as = (token: string) => ({ ...JSON_ACCEPT, 'x-auth-token': token });
  let t: RunningServer;
  let viewOnly: RunningServer;

  beforeAll(async () => {
    t = await startTestServer({ prefix: tenantPrefix, overrides: { auth: { mode: 'static', users } } });
    viewOnly = await startTestServer({ prefix: tenantPrefix, overrides: { auth: { mode: 'static', users }, listCache: { ids: 0 } } });
    for (const [token, tag] of [
      ['alice-token', 'a'],
      ['bob-token', 'b'],
    ] as const) {
      const res = await call(t.url, 'POST', '/compute/', {
        body: { resources: Array.from({ length: 12 }, (_, i) => ({ kind: COMPUTE, id: `${tag}${String(i).padStart(2, '0')}` })) },
        headers: as(token),
      });
      expect(res.status, res.text).toBe(201);
    }
  });
  afterAll(async () => {
    await t?.close();
    await viewOnly?.close();
    await dropDatabases(tenantPrefix);
  });

  const walkAs = async (servers: RunningServer[], token: string, path: string) => {
    const seen: string[] = [];
    let pages = 0;
    for (let at: string | undefined = path; at !== undefined; pages += 1) {
      const res = await call(servers[pages % servers.length]!.url, 'GET', at, { headers: as(token) });
      expect(res.status, res.text).toBe(200);
      seen.push(...ids(res));
      at = nextOf(res);
    }
    return seen;
  };

  it('list only the tenant’s own entities, as the view does, with next links both can follow', async () => {
    for (const [token, tag] of [
      ['alice-token', 'a'],
      ['bob-token', 'b'],
    ] as const) {
      const fromView = await walkAs([viewOnly], token, '/compute/?number=5');
      expect(fromView).toEqual(Array.from({ length: 12 }, (_, i) => `${tag}${String(i).padStart(2, '0')}`));
      expect(await walkAs([t], token, '/compute/?number=5')).toEqual(fromView);
      expect(await walkAs([t, viewOnly], token, '/compute/?number=5')).toEqual(fromView);
      expect(await walkAs([viewOnly, t], token, '/compute/?number=5')).toEqual(fromView);
    }
    // The operator sees both tenants'.
    expect(await walkAs([t], 'olga-token', '/compute/?number=7')).toHaveLength(24);
    // From memory: a repeated listing asks the store nothing.
    const again = await storeRequests(t, () => call(t.url, 'GET', '/compute/?number=5', { headers: as('alice-token') }));
    expect(again).toEqual([]);
  });

  it('list a tenant’s own writes at once, and never another tenant’s', async () => {
    const mine = async (token: string) => walkAs([t], token, '/compute/?number=50');
    expect((await call(t.url, 'POST', '/compute/', { body: { resources: [{ kind: COMPUTE, id: 'a05x' }] }, headers: as('alice-token') })).status).toBe(201);
    expect(await mine('alice-token')).toContain('a05x');
    expect(await mine('bob-token')).not.toContain('a05x');
    expect((await call(t.url, 'DELETE', '/compute/a05x', { headers: as('alice-token') })).status).toBe(204);
    expect(await mine('alice-token')).not.toContain('a05x');
    expect(await mine('alice-token')).toEqual(await walkAs([viewOnly], 'alice-token', '/compute/?number=50'));
  });
});
