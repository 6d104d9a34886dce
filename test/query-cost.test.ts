/**
 * Every listing and filter reads only index rows of what it returns (issue 10): each store request
 * a listing makes is recorded, replayed, and its rows counted. A query that read the kind or the
 * database whole would read every compute here (60) for a handful of matches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../src/auth/authenticate.ts';
import type { RunningServer } from '../src/server.ts';
import type { CouchRequestRecord } from '../src/store/couch.ts';
import { call, dropDatabases, freshPrefix, startTestServer, type TestResponse } from './support/harness.ts';

type Json = Record<string, unknown>;
const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
const COMPUTE = `${INFRA}compute`;
const STORAGE = `${INFRA}storage`;
const VM = 'http://example.com/cost#vm';
const GOLD = 'http://example.com/cost#gold';

const users = [
  { name: 'alice', tenant: 'tenant-a', token: hashToken('alice-token') },
  { name: 'bob', tenant: 'tenant-b', token: hashToken('bob-token') },
  { name: 'olga', operator: true, token: hashToken('olga-token') },
];
const as = (token: string) => ({ 'x-auth-token': token });
const olga = as('olga-token');

const prefix = freshPrefix('cost');
let s: RunningServer;

/** What the store did for one HTTP request: its requests and the rows they returned. */
interface Cost {
  res: TestResponse;
  requests: CouchRequestRecord[];
  rows: number;
}

/** Sends a request and counts the index rows its store requests return (replayed afterwards: nothing changes in between). */
async function cost(path: string, headers: Record<string, string> = olga, options: { raw?: string } = {}): Promise<Cost> {
  const requests: CouchRequestRecord[] = [];
  const stop = s.couch.observe((r) => {
    if (r.path !== '_changes') requests.push(r);
  });
  let res: TestResponse;
  try {
    res = await call(s.url, 'GET', path, { headers, ...options });
  } finally {
    stop();
  }
  let rows = 0;
  for (const r of requests) {
    // No Mango query (CouchDB's $in and unindexed selectors read whole kinds), no unbounded range.
    expect(r.path, JSON.stringify(r)).not.toBe('_find');
    if (r.path === '_all_docs' || r.path.includes('/_view/')) {
      expect(r.qs.startkey !== undefined || (r.body as { keys?: unknown } | undefined)?.keys !== undefined, JSON.stringify(r)).toBe(true);
      const answer = await s.couch.request<{ rows: unknown[] }>({ db: r.db, method: r.method as 'get', path: r.path, qs: r.qs, ...(r.body !== undefined ? { body: r.body } : {}) });
      rows += answer.rows.length;
    } else rows += 1;
  }
  return { res, requests, rows };
}

const ids = (res: TestResponse) => {
  const body = res.json as { resources?: Json[]; links?: Json[] };
  return [...(body.resources ?? []), ...(body.links ?? [])].map((e) => String(e.id));
};

async function create(path: string, token: string, resources: Json[]): Promise<void> {
  const res = await call(s.url, 'POST', path, { body: { resources }, headers: as(token) });
  expect(res.status, res.text).toBe(201);
}

beforeAll(async () => {
  // Listings read the view here (the member index off): its cost is what these tests measure;
  // test/memory-listing.test.ts measures listings answered from memory.
  s = await startTestServer({ prefix, overrides: { auth: { mode: 'static', users }, limits: { pageSizeMax: 100, pageSizeDefault: 50, itemsPerRequest: 100 }, listCache: { ids: 0 } } });
  const categories = {
    kinds: [{ term: 'vm', scheme: 'http://example.com/cost#', parent: COMPUTE, location: '/vm/', title: 'a sub-kind of compute' }],
    mixins: [{ term: 'gold', scheme: 'http://example.com/cost#', location: '/gold/' }],
  };
  const added = await call(s.url, 'POST', '/-/', { body: categories, headers: olga });
  expect(added.status, added.text).toBe(200);
  // 30 computes each for two tenants: cores 1..6, every tenth titled "web", every fifth gold.
  for (const [token, tag] of [
    ['alice-token', 'a'],
    ['bob-token', 'b'],
  ] as const) {
    await create(
      '/compute/',
      token,
      Array.from({ length: 30 }, (_, i) => ({
        kind: COMPUTE,
        id: `${tag}${String(i).padStart(2, '0')}`,
        attributes: { 'occi.compute.cores': (i % 6) + 1, 'occi.compute.hostname': `h${tag}${i}` },
        ...(i % 10 === 0 ? { title: 'web' } : {}),
        ...(i % 5 === 0 ? { mixins: [GOLD] } : {}),
      })),
    );
  }
  // The operator's: 8 of the sub-kind (two with 3 cores), 12 storages.
  await create(
    '/vm/',
    'olga-token',
    Array.from({ length: 8 }, (_, i) => ({ kind: VM, id: `v${i}`, attributes: { 'occi.compute.cores': i < 2 ? 3 : 16 } })),
  );
  await create(
    '/storage/',
    'olga-token',
    Array.from({ length: 12 }, (_, i) => ({ kind: STORAGE, id: `s${i}`, attributes: { 'occi.storage.size': 1 + i } })),
  );
});
afterAll(async () => {
  await s?.close();
  await dropDatabases(prefix);
});

describe('filters read only their matches', () => {
  it('an attribute equality from the query string, typed by the attribute definition', async () => {
    const c = await cost('/compute/?attribute=occi.compute.cores&value=3');
    expect(c.res.status).toBe(200);
    expect(ids(c.res).sort()).toEqual(['a02', 'a08', 'a14', 'a20', 'a26', 'b02', 'b08', 'b14', 'b20', 'b26', 'v0', 'v1']);
    // 12 matches among 68 computes: the rows read are the matches (plus one end-of-range check per kind).
    expect(c.rows).toBeLessThanOrEqual(12 + c.requests.length);
  });

  it('the same filter from a pyOCNI JSON body and from OCCI text filter headers', async () => {
    const json = await cost('/compute/', olga, { raw: JSON.stringify({ resources: [{ attributes: { occi: { compute: { cores: 3 } } } }] }) });
    expect(ids(json.res)).toHaveLength(12);
    expect(json.rows).toBeLessThanOrEqual(12 + json.requests.length);
    const text = await cost('/compute/', { ...olga, 'content-type': 'text/occi', 'x-occi-attribute': 'occi.compute.cores=3' });
    expect(text.res.status, text.res.text).toBe(200);
    expect(ids(text.res)).toHaveLength(12);
    expect(text.rows).toBeLessThanOrEqual(12 + text.requests.length);
  });

  it('titles, named as the core attribute occi.core.title too', async () => {
    const c = await cost('/compute/?attribute=occi.core.title&value=web');
    expect(ids(c.res).sort()).toEqual(['a00', 'a10', 'a20', 'b00', 'b10', 'b20']);
    expect(c.rows).toBeLessThanOrEqual(6 + c.requests.length);
    const body = await cost('/compute/', olga, { raw: JSON.stringify({ resources: [{ title: 'web' }] }) });
    expect(ids(body.res)).toHaveLength(6);
    expect(body.rows).toBeLessThanOrEqual(6 + body.requests.length);
  });

  it('ids, and a mixin (?category=) within a kind', async () => {
    const byId = await cost('/compute/', olga, { raw: JSON.stringify({ resources: [{ id: 'b07' }] }) });
    expect(ids(byId.res)).toEqual(['b07']);
    expect(byId.rows).toBeLessThanOrEqual(1 + byId.requests.length);
    const byMixin = await cost(`/compute/?category=${encodeURIComponent(GOLD)}`);
    expect(ids(byMixin.res).sort()).toEqual(['a00', 'a05', 'a10', 'a15', 'a20', 'a25', 'b00', 'b05', 'b10', 'b15', 'b20', 'b25']);
    expect(byMixin.rows).toBeLessThanOrEqual(12 + byMixin.requests.length);
  });

  it('a mixin collection with an attribute filter, and a kind filter on /resource/', async () => {
    const c = await cost('/gold/?attribute=occi.compute.cores&value=1');
    expect(ids(c.res).sort()).toEqual(['a00', 'b00']);
    // The per-kind rows of cores = 1 (10 computes), not the members of the mixin or the kind.
    expect(c.rows).toBeLessThanOrEqual(10 + c.requests.length);
    const storages = await cost(`/resource/?category=${encodeURIComponent(STORAGE)}`);
    expect(ids(storages.res)).toHaveLength(12);
    expect(storages.rows).toBeLessThanOrEqual(12 + storages.requests.length);
  });

  it('the tenant’s own entities only, from the tenant-keyed rows', async () => {
    const c = await cost('/compute/?attribute=occi.compute.cores&value=3', as('alice-token'));
    expect(ids(c.res).sort()).toEqual(['a02', 'a08', 'a14', 'a20', 'a26']);
    expect(c.rows).toBeLessThanOrEqual(5 + c.requests.length);
    for (const r of c.requests.filter((q) => q.path.includes('/_view/entities') || q.path.includes('/_view/owned'))) {
      expect(r.path).toContain('/_view/owned');
      expect((r.qs.startkey as unknown[])[0]).toBe('tenant-a');
    }
    const mine = await cost('/compute/?number=7', as('bob-token'));
    expect(ids(mine.res)).toEqual(['b00', 'b01', 'b02', 'b03', 'b04', 'b05', 'b06']);
    expect(mine.rows).toBeLessThanOrEqual(8 + mine.requests.length);
  });
});

describe('sub-kind collections read only the kinds they cover', () => {
  it('/compute/ holds its runtime sub-kind, /resource/ every resource kind; filters narrow per kind', async () => {
    const all = await cost('/compute/?number=100');
    expect(ids(all.res)).toHaveLength(68);
    const resources = await cost('/resource/?number=5');
    expect(ids(resources.res)).toHaveLength(5);
    // One range of the resource rows: 5 returned + 1 to know more follow.
    expect(resources.rows).toBeLessThanOrEqual(6 + resources.requests.length);
    const filtered = await cost('/resource/?attribute=occi.compute.cores&value=3');
    expect(ids(filtered.res)).toHaveLength(12);
    expect(filtered.rows).toBeLessThanOrEqual(12 + filtered.requests.length);
    const everything = await cost('/resource/?number=100');
    expect(ids(everything.res)).toHaveLength(80);
    expect(everything.rows).toBeLessThanOrEqual(80 + everything.requests.length);
  });
});

describe('paging', () => {
  it('follows next links (key continuation) through the whole kind, each page reading one page of rows', async () => {
    const seen: string[] = [];
    let path: string | undefined = '/compute/?number=7';
    let pages = 0;
    while (path) {
      const c = await cost(path);
      expect(c.res.status).toBe(200);
      seen.push(...ids(c.res));
      // A deep page costs what the first costs: a page and one look-ahead row from each of the two
      // kinds (compute and its sub-kind, asked at once), nothing skipped.
      expect(c.rows).toBeLessThanOrEqual(2 * 8 + c.requests.length);
      const next = /<([^>]+)>; rel="next"/.exec(c.res.headers.get('link') ?? '')?.[1];
      if (next) expect(new URL(next).searchParams.get('page')).toBe(String(pages + 2));
      path = next ? new URL(next).pathname + new URL(next).search : undefined;
      pages += 1;
    }
    expect(pages).toBe(10);
    expect(seen).toHaveLength(68);
    expect(new Set(seen).size).toBe(68);
    // ?page=N (OCCI 1.2) gives the same pages.
    const third = await call(s.url, 'GET', '/compute/?number=7&page=3', { headers: olga });
    expect(ids(third)).toEqual(seen.slice(14, 21));
    const lastPage = await call(s.url, 'GET', '/compute/?number=7&page=10', { headers: olga });
    expect(ids(lastPage)).toEqual(seen.slice(63));
  });

  it('pages a filter across sub-kinds with next links, and refuses a continuation it did not write', async () => {
    const first = await call(s.url, 'GET', '/compute/?attribute=occi.compute.cores&value=3&number=11', { headers: olga });
    expect(ids(first)).toHaveLength(11);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')?.[1];
    const second = await call(s.url, 'GET', new URL(next!).pathname + new URL(next!).search, { headers: olga });
    expect([...ids(first), ...ids(second)].sort()).toEqual(['a02', 'a08', 'a14', 'a20', 'a26', 'b02', 'b08', 'b14', 'b20', 'b26', 'v0', 'v1']);
    expect(second.headers.get('link')).toBeNull();
    const bad = await call(s.url, 'GET', '/compute/?after=not-a-token!', { headers: olga });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('?after');
  });
});

describe('single reads and deletes', () => {
  it('GET of a resource without links is one store request', async () => {
    // Read from the store (the read cache, which would answer with none, is passed by).
    const c = await cost('/compute/a01', { ...olga, 'cache-control': 'no-cache' });
    expect(c.res.status).toBe(200);
    expect(c.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`get ${encodeURIComponent('/compute/a01')}`]);
    const cached = await cost('/compute/a01');
    expect(cached.res.status).toBe(200);
    expect(cached.requests.length).toBeLessThanOrEqual(1);
  });

  it('DELETE looks up the resource’s links with one indexed request by keys', async () => {
    await create('/compute/', 'olga-token', [{ kind: COMPUTE, id: 'doomed' }]);
    const requests: CouchRequestRecord[] = [];
    const stop = s.couch.observe((r) => requests.push(r));
    try {
      expect((await call(s.url, 'DELETE', '/compute/doomed', { headers: olga })).status).toBe(204);
    } finally {
      stop();
    }
    const lookups = requests.filter((r) => r.path.includes('_view/') || r.path === '_find');
    expect(lookups, JSON.stringify(lookups)).toHaveLength(1);
    // Documents are read by key only.
    for (const r of requests.filter((q) => q.path === '_all_docs')) expect((r.body as { keys?: unknown[] }).keys).toBeDefined();
    expect(lookups[0]!.path).toContain('_view/link-ends');
    expect((lookups[0]!.body as { keys: unknown[] }).keys).toEqual([
      ['source', '/compute/doomed'],
      ['target', '/compute/doomed'],
    ]);
  });
});

describe('indexes', () => {
  it('keep the tenant-keyed view only when authentication is on, and declare no Mango index', async () => {
    const mine = await s.couch.request<{ views: Record<string, unknown> }>({ db: `${prefix}entities`, path: '_design/ocni-owner' });
    expect(Object.keys(mine.views)).toEqual(['owned']);
    const open = freshPrefix('costnone');
    const none = await startTestServer({ prefix: open, overrides: { auth: { mode: 'none' } } });
    try {
      const missing = await none.couch.request({ db: `${open}entities`, path: '_design/ocni-owner' }).then(
        () => 'present',
        (err: { statusCode?: number }) => err.statusCode,
      );
      expect(missing).toBe(404);
      // No Mango index is declared any more: every query reads the generic view.
      const indexes = await none.couch.request<{ indexes: { name: string }[] }>({ db: `${open}entities`, path: '_index' });
      expect(indexes.indexes.map((i) => i.name)).toEqual(['_all_docs']);
    } finally {
      await none.close();
      await dropDatabases(open);
    }
  });
});
