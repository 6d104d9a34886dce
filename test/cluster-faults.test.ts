/**
 * Issue 11 items 9–13: what a CouchDB cluster does to writes, played by the fault-injecting proxy in
 * front of the real store (see test/support/fault-proxy.ts): writes accepted by one copy against a
 * stale revision (202 and a conflicting leaf), conflicting leaves planted beside an entity, cut-off
 * answers and connections dropped after the write went through. Two ocni processes, each through
 * a proxy of its own, as each would talk to a different node. Bounded in count.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { CategoryStore } from '../src/store/category-store.ts';
import { CouchClient } from '../src/store/couch.ts';
import { couchFetch } from './support/couch-fetch.ts';
import { FaultProxy } from './support/fault-proxy.ts';
import { call, couchUrl, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';

const COMPUTE = 'http://schemas.ogf.org/occi/infrastructure#compute';
const SCHEME = 'http://example.com/cluster#';
const WRITERS = 32;
const ROUNDS = 4;

const prefix = freshPrefix('cluster');
const ENTITIES = `${prefix}entities`;
let proxies: FaultProxy[];
let servers: RunningServer[];

/** A deterministic source of randomness for the proxies' `probability`. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const WIDE = {
  term: 'wide',
  scheme: SCHEME,
  location: '/cwide/',
  attributes: Object.fromEntries(Array.from({ length: WRITERS }, (_v, i) => [`x.w${i}`, { type: 'number', mutable: true }])),
};

beforeAll(async () => {
  proxies = [await FaultProxy.start(couchUrl()), await FaultProxy.start(couchUrl())];
  proxies.forEach((p, i) => p.seed(seeded(1234 + i)));
  servers = [];
  for (const proxy of proxies) servers.push(await startTestServer({ prefix, overrides: { couchdb: { url: proxy.url, dbPrefix: prefix, requestTimeoutMs: 5000 } } }));
  expect((await call(servers[0]!.url, 'POST', '/-/', { body: { mixins: [WIDE] } })).status).toBe(200);
  for (let i = 0; i < 100 && !(await call(servers[1]!.url, 'GET', '/-/')).text.includes(`${SCHEME}`); i += 1) await new Promise((r) => setTimeout(r, 50));
}, 30_000);

afterAll(async () => {
  for (const server of servers ?? []) await server.close();
  for (const proxy of proxies ?? []) await proxy.close();
  await dropDatabases(prefix);
});

beforeEach(() => {
  for (const proxy of proxies) proxy.clear();
});

async function doc(id: string): Promise<{ status: number; body: Record<string, unknown> & { _conflicts?: string[] } }> {
  const res = await couchFetch(couchUrl(), `${ENTITIES}/${encodeURIComponent(id)}?conflicts=true`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { _conflicts?: string[] } };
}

describe('lost updates (item 9)', () => {
  it(`${WRITERS} writers × ${ROUNDS} rounds through two processes, a third of the writes split: nothing lost, no conflict left`, async () => {
    const path = '/compute/split';
    expect((await call(servers[0]!.url, 'PUT', path, { body: { kind: COMPUTE, mixins: [`${SCHEME}wide`] } })).status).toBe(201);
    for (const proxy of proxies) proxy.inject({ fault: 'split', method: 'PUT', path: /_entities\/%2Fcompute%2Fsplit$/, probability: 0.33, times: 10_000 });
    const expected = new Map<string, number>();
    const statuses = new Map<number, number>();
    for (let round = 0; round < ROUNDS; round += 1) {
      const answers = await Promise.all(Array.from({ length: WRITERS }, (_v, w) => call(servers[w % 2]!.url, 'POST', path, { body: { attributes: { [`x.w${w}`]: round } } })));
      answers.forEach((res, w) => {
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 200) expected.set(`x.w${w}`, round);
      });
    }
    // The proxies did split writes, and some of them were based on a stale revision.
    expect(proxies[0]!.applied('split') + proxies[1]!.applied('split')).toBeGreaterThan(0);
    for (const proxy of proxies) proxy.clear();
    const stored = (await call(servers[0]!.url, 'GET', path)).json as { attributes: Record<string, unknown> };
    const lost = [...expected].filter(([name, value]) => stored.attributes[name] !== value).map(([name, value]) => `${name}=${value}, stored ${String(stored.attributes[name])}`);
    expect(lost).toEqual([]);
    expect(statuses.get(200)).toBeGreaterThan(0);
    expect([...statuses.keys()].filter((s) => s !== 200 && s !== 409)).toEqual([]);
    expect((await doc(path)).body._conflicts ?? []).toEqual([]);
  }, 120_000);

  it('merges a conflicting leaf that changed another attribute, whichever leaf wins', async () => {
    for (const wins of [true, false]) {
      const path = `/compute/merge-${wins}`;
      expect((await call(servers[0]!.url, 'PUT', path, { body: { kind: COMPUTE, mixins: [`${SCHEME}wide`], attributes: { 'x.w0': 0, 'x.w1': 0 } } })).status).toBe(201);
      // One copy took x.w1 = 7 at the same time as the write below (a leaf beside the current one).
      const updated = await call(servers[0]!.url, 'POST', path, { body: { attributes: { 'x.w0': 5 } } });
      expect(updated.status).toBe(200);
      await proxies[0]!.plantConflict(ENTITIES, path, (d) => ({ ...d, attributes: { ...(d.attributes as object), 'x.w1': 7 } }), wins);
      const read = await call(servers[1]!.url, 'GET', path);
      const attributes = (read.json as { attributes: Record<string, unknown> }).attributes;
      expect({ w0: attributes['x.w0'], w1: attributes['x.w1'] }).toMatchObject({ w1: 7 });
      expect((await doc(path)).body._conflicts ?? []).toEqual([]);
    }
  });
});

describe('a deleted entity stays deleted (item 10)', () => {
  it('DELETE removes every leaf: no older revision comes back', async () => {
    const path = '/compute/phoenix';
    expect((await call(servers[0]!.url, 'PUT', path, { body: { kind: COMPUTE, title: 'first' } })).status).toBe(201);
    await proxies[0]!.plantConflict(ENTITIES, path, (d) => ({ ...d, title: 'older copy' }));
    // The delete goes through a proxy that answers its writes 202, as a cluster short of a quorum.
    proxies[1]!.inject({ fault: 'accepted', path: /_entities\/_bulk_docs$/, times: 5 });
    expect((await call(servers[1]!.url, 'DELETE', path)).status).toBe(204);
    expect((await call(servers[0]!.url, 'GET', path)).status).toBe(404);
    expect((await doc(path)).status).toBe(404);
  });

  it('a losing leaf does not survive the deletion either', async () => {
    const path = '/compute/phoenix2';
    expect((await call(servers[0]!.url, 'PUT', path, { body: { kind: COMPUTE, title: 'first' } })).status).toBe(201);
    await proxies[0]!.plantConflict(ENTITIES, path, (d) => ({ ...d, title: 'older copy' }), false);
    expect((await call(servers[0]!.url, 'DELETE', path)).status).toBe(204);
    expect((await doc(path)).status).toBe(404);
  });
});

describe('location claims (item 11)', () => {
  it('two mixins posted at once to two processes with one location: never both accepted', async () => {
    const both: number[] = [];
    for (let trial = 0; trial < 8; trial += 1) {
      // Every categories write is accepted by "its" copy, as on two nodes of a split cluster.
      for (const proxy of proxies) proxy.inject({ fault: 'split', method: 'POST', path: /_categories\/_bulk_docs$/, times: 1 });
      const location = `/claim${trial}/`;
      const answers = await Promise.all(servers.map((s, i) => call(s.url, 'POST', '/-/', { body: { mixins: [{ term: `claim${trial}x${i}`, scheme: SCHEME, location }] } })));
      if (answers.every((a) => a.status === 200)) both.push(trial);
      expect(answers.map((a) => a.status).every((s) => s === 200 || s === 409)).toBe(true);
      for (const proxy of proxies) proxy.clear();
    }
    expect(both, 'trials where both processes took the same location').toEqual([]);
  }, 60_000);

  it('a one-time task is claimed once even when both claims are only accepted', async () => {
    const client = new CouchClient({ url: proxies[0]!.url, requestTimeoutMs: 5000 });
    const store = new CategoryStore(client, `${prefix}categories`);
    proxies[0]!.inject({ fault: 'split', method: 'PUT', path: /once%3Aseed$/, times: 2 });
    const first = await store.claimOnce('seed');
    const second = await store.claimOnce('seed');
    expect([first, second].filter(Boolean).length).toBeLessThanOrEqual(1);
    expect(first).toBe(true);
  });
});

describe('retries are safe (item 12)', () => {
  it('a create whose answer was lost (connection dropped after the store wrote it) stores nothing and answers 503', async () => {
    proxies[0]!.inject({ fault: 'drop-after-forward', method: 'POST', path: /_entities\/_bulk_docs$/ });
    const res = await call(servers[0]!.url, 'POST', '/compute/', { body: { kind: COMPUTE, id: 'dropped', title: 'x' } });
    expect(res.status).toBe(503);
    expect(proxies[0]!.applied('drop-after-forward')).toBe(1);
    expect((await doc('/compute/dropped')).status).toBe(404);
  });

  it('taking back a create lost in transit never deletes an entity that was there before', async () => {
    expect((await call(servers[0]!.url, 'PUT', '/compute/taken', { body: { kind: COMPUTE, title: 'the first one' } })).status).toBe(201);
    proxies[0]!.inject({ fault: 'drop-after-forward', method: 'POST', path: /_entities\/_bulk_docs$/ });
    expect((await call(servers[0]!.url, 'POST', '/compute/', { body: { kind: COMPUTE, id: 'taken', title: 'a second one' } })).status).toBe(503);
    const kept = await doc('/compute/taken');
    expect(kept.status).toBe(200);
    expect(kept.body.title).toBe('the first one');
  });

  it('a POST retried with the same Idempotency-Key makes one entity, and answers with it', async () => {
    const body = { kind: COMPUTE, title: 'once only' };
    const key = { 'idempotency-key': 'retry-7f3a' };
    const first = await call(servers[0]!.url, 'POST', '/compute/', { body, headers: key });
    expect(first.status).toBe(201);
    const again = await call(servers[1]!.url, 'POST', '/compute/', { body, headers: key });
    expect(again.status).toBe(201);
    expect(again.headers.get('location')).toBe(first.headers.get('location')?.replace(servers[0]!.url, servers[1]!.url));
    const other = await call(servers[0]!.url, 'POST', '/compute/', { body, headers: { 'idempotency-key': 'another' } });
    expect(other.headers.get('location')).not.toBe(first.headers.get('location'));
    const listed = await call(servers[0]!.url, 'GET', '/compute/', { headers: { accept: 'text/uri-list' } });
    const path = new URL(first.headers.get('location')!).pathname;
    expect(listed.text.split(/\r?\n/).filter((l) => l.endsWith(path))).toHaveLength(1);
    expect((await call(servers[0]!.url, 'POST', '/compute/', { body, headers: { 'idempotency-key': 'bad key with spaces' } })).status).toBe(400);
  });
});

describe('answers cut off in transit (item 13)', () => {
  it('a cut-off changes-feed page is reported as the store failing, and the feed goes on', async () => {
    const client = new CouchClient({ url: proxies[0]!.url, requestTimeoutMs: 5000 });
    const store = new CategoryStore(client, `${prefix}categories`);
    const { since } = await store.load();
    const errors: string[] = [];
    const seen: string[] = [];
    proxies[0]!.inject({ fault: 'cut-body', method: 'GET', path: /_categories\/_changes/ });
    store.follow(
      since,
      (e) => seen.push(e.type === 'category' ? e.category.term : e.type),
      (err) => errors.push((err as Error).message),
      500,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect((await call(servers[1]!.url, 'POST', '/-/', { body: { mixins: [{ term: 'afterfeed', scheme: SCHEME, location: '/afterfeed/' }] } })).status).toBe(200);
    for (let i = 0; i < 100 && !seen.includes('afterfeed'); i += 1) await new Promise((r) => setTimeout(r, 50));
    store.stop();
    expect(seen).toContain('afterfeed');
    expect(errors.join('\n')).not.toMatch(/not iterable/);
    expect(proxies[0]!.applied('cut-body')).toBe(1);
    expect(errors[0]).toMatch(/cut off|not JSON|results/);
  });

  it('a cut-off entity read answers 503, never an empty entity', async () => {
    expect((await call(servers[0]!.url, 'PUT', '/compute/cut', { body: { kind: COMPUTE, title: 'x'.repeat(500) } })).status).toBe(201);
    proxies[0]!.inject({ fault: 'cut-body', method: 'GET', path: /_entities\/%2Fcompute%2Fcut\?/ });
    expect((await call(servers[0]!.url, 'GET', '/compute/cut')).status).toBe(503);
    expect((await call(servers[0]!.url, 'GET', '/compute/cut')).status).toBe(200);
  });
});

describe('deleting a mixin whose cleaning fails (item 8)', () => {
  it('answers the deletion as done, entities never trip over the mixin, and the cleaning resumes until it finishes', async () => {
    const mixin = `${SCHEME}doomed`;
    expect((await call(servers[0]!.url, 'POST', '/-/', { body: { mixins: [{ term: 'doomed', scheme: SCHEME, location: '/doomed/' }] } })).status).toBe(200);
    for (const id of ['d1', 'd2']) expect((await call(servers[0]!.url, 'PUT', `/compute/${id}`, { body: { kind: COMPUTE, mixins: [mixin] } })).status).toBe(201);
    // The cleaning's first two reads of the mixin's members fail, as a store under load does.
    proxies[0]!.inject({ fault: 'unavailable', method: 'GET', path: /_view\/entities\?.*doomed/, times: 2 });
    const deleted = await call(servers[0]!.url, 'DELETE', '/-/', { body: { mixins: [mixin] } });
    expect(deleted.status, deleted.text).toBeLessThan(300);
    expect(proxies[0]!.applied('unavailable')).toBe(1);
    // Meanwhile the entities still name it in the store, and reads and updates ignore it.
    expect((await doc('/compute/d1')).body.mixins).toContain(mixin);
    const update = await call(servers[0]!.url, 'POST', '/compute/d1', { body: { title: 'after the deletion' } });
    expect(update.status, update.text).toBe(200);
    expect((update.json as { mixins?: string[] }).mixins ?? []).not.toContain(mixin);
    // The cleaning goes on by itself (250 ms, then 500 ms) and finishes.
    for (let i = 0; i < 100 && ((await doc('/compute/d2')).body.mixins as string[]).includes(mixin); i += 1) await new Promise((r) => setTimeout(r, 50));
    expect((await doc('/compute/d2')).body.mixins).not.toContain(mixin);
    expect((await doc('/compute/d1')).body.mixins).not.toContain(mixin);
  });
});
