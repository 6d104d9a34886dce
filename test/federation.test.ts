import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { call, couchUrl, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';

type Json = Record<string, unknown>;
const COMPUTE = 'http://schemas.ogf.org/occi/infrastructure#compute';
const prefixA = freshPrefix('fedA');
const prefixB = freshPrefix('fedB');
let a: RunningServer;
let b: RunningServer;
let bPort: number;

beforeAll(async () => {
  b = await startTestServer({ prefix: prefixB });
  bPort = Number(new URL(b.url).port);
  a = await startTestServer({
    prefix: prefixA,
    overrides: {
      backends: [
        { name: 'local', type: 'store' },
        { name: 'peer', type: 'remote', url: b.url, timeoutMs: 2000 },
      ],
    },
  });
  const route = await call(a.url, 'PUT', '/-/', { body: { providers: [{ kind: COMPUTE, provider: { local: [], remote: ['peer'] } }] } });
  expect(route.status).toBe(200);
});
afterAll(async () => {
  await a.close();
  await b.close();
  await dropDatabases(prefixA);
  await dropDatabases(prefixB);
});

const attrs = (body: unknown) => (body as { attributes: Json }).attributes;

describe('a kind routed to a remote provider (federation)', () => {
  it('carries out create, read, update, action and delete on the other server', async () => {
    const created = await call(a.url, 'POST', '/compute/', { body: { kind: COMPUTE, id: 'fed1', title: 'federated', attributes: { 'occi.compute.cores': 2 } } });
    expect(created.status, created.text).toBe(201);
    const onB = await call(b.url, 'GET', '/compute/fed1');
    expect(onB.status).toBe(200);
    expect(onB.json).toMatchObject({ title: 'federated', attributes: { 'occi.compute.cores': 2, 'occi.compute.state': 'inactive' } });

    expect(attrs((await call(a.url, 'GET', '/compute/fed1')).json)['occi.compute.cores']).toBe(2);
    // The peer's rendering repeats occi.core.* inside attributes (GFD.226); they are members, not attributes to keep.
    const stored = (await (await fetch(`${couchUrl()}/${prefixA}entities/${encodeURIComponent('/compute/fed1')}`)).json()) as { attributes: Json };
    expect(Object.keys(stored.attributes).filter((name) => name.startsWith('occi.core.'))).toEqual([]);

    expect((await call(a.url, 'POST', '/compute/fed1', { body: { attributes: { 'occi.compute.cores': 4 } } })).status).toBe(200);
    expect(attrs((await call(b.url, 'GET', '/compute/fed1')).json)['occi.compute.cores']).toBe(4);

    // The state machine runs where the kind is served: on the second server.
    const started = await call(a.url, 'POST', '/compute/fed1?action=start');
    expect(started.status).toBe(200);
    expect(attrs(started.json)['occi.compute.state']).toBe('active');
    expect(attrs((await call(b.url, 'GET', '/compute/fed1')).json)['occi.compute.state']).toBe('active');
    // And refuses there what does not apply, with the second server's message.
    const again = await call(a.url, 'POST', '/compute/fed1?action=start');
    expect(again.status).toBe(400);
    expect((again.json as Json).detail).toContain('remote provider peer');

    expect((await call(a.url, 'DELETE', '/compute/fed1')).status).toBe(204);
    expect((await call(b.url, 'GET', '/compute/fed1')).status).toBe(404);
    expect((await call(a.url, 'GET', '/compute/fed1')).status).toBe(404);
  });

  it('shows an entity gone from the other server as gone', async () => {
    expect((await call(a.url, 'POST', '/compute/', { body: { kind: COMPUTE, id: 'fed2' } })).status).toBe(201);
    expect((await call(b.url, 'DELETE', '/compute/fed2')).status).toBe(204);
    expect((await call(a.url, 'GET', '/compute/fed2')).status).toBe(404);
    // Seen gone once, it is gone from the first server's store too.
    const list = (await call(a.url, 'GET', '/compute/')).json as { resources: { id: string }[] };
    expect(list.resources.map((r) => r.id)).not.toContain('fed2');
  });

  it('undoes the backend creation when the store write fails afterwards', async () => {
    expect((await call(a.url, 'POST', '/compute/', { body: { kind: COMPUTE, id: 'fed5' } })).status).toBe(201);
    // The second server loses it behind the first one's back; the first still stores fed5.
    const storedOnA = await a.services.entities.get('/compute/fed5');
    expect(storedOnA).toBeDefined();
    expect((await call(b.url, 'DELETE', '/compute/fed5')).status).toBe(204);
    // Creating fed5 again: the remote creation succeeds, the first server's store refuses (409),
    // and the remote creation is undone.
    const again = await call(a.url, 'POST', '/compute/', { body: { kind: COMPUTE, id: 'fed5' } });
    expect(again.status).toBe(409);
    expect((await call(b.url, 'GET', '/compute/fed5')).status).toBe(404);
  });

  it('answers 502 cleanly while the other server is down, keeps nothing half-made, and recovers', async () => {
    expect((await call(a.url, 'POST', '/compute/', { body: { kind: COMPUTE, id: 'fed3' } })).status).toBe(201);
    await b.close();

    const create = await call(a.url, 'POST', '/compute/', { body: { kind: COMPUTE, id: 'fed4' } });
    expect(create.status).toBe(502);
    expect((create.json as Json).detail).toContain('remote provider peer cannot be reached');
    expect((await call(a.url, 'GET', '/compute/fed3')).status).toBe(502);
    // Nothing was stored for the failed creation; what existed is still there for later.
    const list = (await call(a.url, 'GET', '/compute/')).json as { resources: { id: string }[] };
    expect(list.resources.map((r) => r.id)).toContain('fed3');
    expect(list.resources.map((r) => r.id)).not.toContain('fed4');
    // Local kinds keep working meanwhile.
    expect((await call(a.url, 'POST', '/storage/', { body: { kind: 'http://schemas.ogf.org/occi/infrastructure#storage', attributes: { 'occi.storage.size': 1 } } })).status).toBe(201);

    b = await startTestServer({ prefix: prefixB, overrides: { port: bPort } });
    expect((await call(a.url, 'GET', '/compute/fed3')).status).toBe(200);
    expect((await call(a.url, 'POST', '/compute/', { body: { kind: COMPUTE, id: 'fed4' } })).status).toBe(201);
    expect((await call(b.url, 'GET', '/compute/fed4')).status).toBe(200);
  });

  it('refuses a remote backend configured without a URL, naming it', async () => {
    await expect(
      startTestServer({
        prefix: freshPrefix('fedbad'),
        overrides: {
          backends: [
            { name: 'local', type: 'store' },
            { name: 'broken', type: 'remote' },
          ],
        },
      }),
    ).rejects.toThrow('[remote] backend "broken": missing required option "url"');
  });
});
