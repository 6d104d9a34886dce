/**
 * A deleted mixin's cleaning is recorded in the categories database and survives its process
 * (issue 11): a process stopped while the cleaning keeps failing leaves the record, the next
 * process on the same databases finishes the cleaning at start-up, and until then no process
 * re-adds a mixin with the same id (its new members could not be told from the old ones).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { couchFetch } from './support/couch-fetch.ts';
import { FaultProxy } from './support/fault-proxy.ts';
import { call, couchUrl, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';

const COMPUTE = 'http://schemas.ogf.org/occi/infrastructure#compute';
const SCHEME = 'http://example.com/restart#';
const MIXIN = `${SCHEME}phoenix`;
const DEFINITION = { term: 'phoenix', scheme: SCHEME, location: '/phoenix/' };
const prefix = freshPrefix('cleanrestart');
const started: RunningServer[] = [];
let proxy: FaultProxy | undefined;

async function raw(db: string, id: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await couchFetch(couchUrl(), `${prefix}${db}/${encodeURIComponent(id)}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
const mixinsOf = async (id: string) => ((await raw('entities', id)).body.mixins as string[] | undefined) ?? [];

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not within 10 s: ${what}`);
}

afterAll(async () => {
  for (const server of started) await server.close().catch(() => undefined);
  await proxy?.close();
  await dropDatabases(prefix);
});

describe('mixin cleaning across a restart', () => {
  it('is resumed by the next process from its record, and the id cannot be re-added until it is done', { timeout: 40_000 }, async () => {
    proxy = await FaultProxy.start(couchUrl());
    const failing = await startTestServer({ prefix, overrides: { couchdb: { url: proxy.url, dbPrefix: prefix, requestTimeoutMs: 5000 } } });
    started.push(failing);
    const other = await startTestServer({ prefix });
    started.push(other);

    expect((await call(failing.url, 'POST', '/-/', { body: { mixins: [DEFINITION] } })).status).toBe(200);
    for (const id of ['p1', 'p2', 'p3']) expect((await call(failing.url, 'PUT', `/compute/${id}`, { body: { kind: COMPUTE, mixins: [MIXIN] } })).status).toBe(201);
    // Every read of the mixin's members fails on this process: its cleaning cannot finish.
    proxy.inject({ fault: 'unavailable', method: 'GET', path: /_view\/entities\?.*phoenix/, times: 10_000 });
    const deleted = await call(failing.url, 'DELETE', '/-/', { body: { mixins: [MIXIN] } });
    expect(deleted.status, deleted.text).toBeLessThan(300);
    expect(proxy.applied('unavailable')).toBeGreaterThan(0);
    expect((await raw('categories', `cleaning:${MIXIN}`)).status).toBe(200);

    // Another process sees the deletion, and refuses the id while the cleaning is recorded.
    await until(async () => !(await call(other.url, 'GET', '/-/')).text.includes(MIXIN), 'the other process sees the deletion');
    const early = await call(other.url, 'POST', '/-/', { body: { mixins: [DEFINITION] } });
    expect(early.status, early.text).toBe(409);
    expect(early.text).toContain('still being cleaned');

    // The process is stopped in the middle of the cleaning: the entities still name the mixin.
    await failing.close();
    started.splice(started.indexOf(failing), 1);
    await proxy.close();
    proxy = undefined;
    expect(await mixinsOf('/compute/p1')).toContain(MIXIN);

    // The next process on these databases finishes it at start-up and ends the record.
    const next = await startTestServer({ prefix });
    started.push(next);
    await until(async () => !(await Promise.all(['p1', 'p2', 'p3'].map((id) => mixinsOf(`/compute/${id}`)))).some((m) => m.includes(MIXIN)), 'the entities are cleaned');
    await until(async () => (await raw('categories', `cleaning:${MIXIN}`)).status === 404, 'the record is ended');

    // Now the id can be added again, and it starts with no members.
    const again = await call(other.url, 'POST', '/-/', { body: { mixins: [DEFINITION] } });
    expect(again.status, again.text).toBe(200);
    const members = await call(other.url, 'GET', '/phoenix/');
    expect(members.status, members.text).toBe(200);
    expect((members.json as { resources?: unknown[] }).resources ?? []).toEqual([]);
  });

  it('a record of a mixin that is there (its deletion failed or is in flight) never strips the members of the live mixin', { timeout: 20_000 }, async () => {
    const ALIVE = `${SCHEME}alive`;
    const GHOST = `${SCHEME}ghost`;
    const first = await startTestServer({ prefix });
    started.push(first);
    expect((await call(first.url, 'POST', '/-/', { body: { mixins: [{ term: 'alive', scheme: SCHEME, location: '/alive/' }] } })).status).toBe(200);
    for (const id of ['a1', 'a2']) expect((await call(first.url, 'PUT', `/compute/${id}`, { body: { kind: COMPUTE, mixins: [ALIVE] } })).status).toBe(201);
    // What stopped processes leave behind: a record of a live mixin (stopped between recording and
    // deleting) and one of a gone mixin that an entity still names (stopped while cleaning).
    const store = (db: string, id: string, body: unknown) =>
      couchFetch(couchUrl(), `${prefix}${db}/${encodeURIComponent(id)}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const a2 = (await raw('entities', '/compute/a2')).body;
    expect((await store('entities', '/compute/a2', { ...a2, mixins: [ALIVE, GHOST] })).status).toBe(201);
    for (const mixin of [ALIVE, GHOST]) expect((await store('categories', `cleaning:${mixin}`, { type: 'cleaning', mixin, rev: '1-x' })).status).toBe(201);

    const restarted = await startTestServer({ prefix });
    started.push(restarted);
    await until(async () => !(await mixinsOf('/compute/a2')).includes(GHOST), 'the gone mixin is cleaned');
    expect(await mixinsOf('/compute/a2')).toEqual([ALIVE]);
    expect(await mixinsOf('/compute/a1')).toEqual([ALIVE]);
    expect((await raw('categories', `cleaning:${ALIVE}`)).status).toBe(200);
    const members = await call(restarted.url, 'GET', '/alive/');
    expect((members.json as { resources?: { id: string }[] }).resources?.map((r) => r.id).sort()).toEqual(['a1', 'a2']);
  });
});
