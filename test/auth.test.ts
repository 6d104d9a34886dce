import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../src/auth/authenticate.ts';
import { hashSecret } from '../src/auth/secrets.ts';
import type { RunningServer } from '../src/server.ts';
import { createCycladesSimulator, DEMO_TOKEN, type ListeningSimulator } from './cyclades-sim/simulator.ts';
import { call, dropDatabases, freshPrefix, startTestServer, type TestResponse } from './support/harness.ts';

type Json = Record<string, unknown>;
const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
const COMPUTE = `${INFRA}compute`;
const started: RunningServer[] = [];
const prefixes: string[] = [];

async function server(auth: Record<string, unknown>): Promise<RunningServer> {
  const prefix = freshPrefix('auth');
  prefixes.push(prefix);
  const s = await startTestServer({ prefix, overrides: { auth } });
  started.push(s);
  return s;
}
afterAll(async () => {
  for (const s of started) await s.close();
  for (const p of prefixes) await dropDatabases(p);
});

const users = [
  { name: 'alice', tenant: 'tenant-a', token: hashToken('alice-token'), password: hashSecret('alice-pw', 1024) },
  { name: 'bob', tenant: 'tenant-b', token: hashToken('bob-token'), password: hashSecret('bob-pw', 1024) },
  { name: 'olga', operator: true, token: hashToken('olga-token') },
  { name: 'dave', tenant: 'tenant-d', password: hashSecret('dave-pw', 1024) },
];
const as = (token: string) => ({ 'x-auth-token': token });
const ids = (res: TestResponse) => ((res.json as { resources?: Json[] }).resources ?? []).map((r) => r.id);

describe('static tokens', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await server({ mode: 'static', users });
  });

  it('answers 401 with a Bearer challenge without a token or with a bad one', async () => {
    const none = await call(s.url, 'GET', '/-/');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="ocni"');
    const bad = await call(s.url, 'GET', '/compute/', { headers: as('nope') });
    expect(bad.status).toBe(401);
    expect((bad.json as Json).detail).toBe('the token is not valid');
  });

  it('takes the token from X-Auth-Token, Auth-Token or Authorization: Bearer', async () => {
    expect((await call(s.url, 'GET', '/-/', { headers: { 'x-auth-token': 'alice-token' } })).status).toBe(200);
    expect((await call(s.url, 'GET', '/-/', { headers: { 'auth-token': 'alice-token' } })).status).toBe(200);
    expect((await call(s.url, 'GET', '/-/', { headers: { authorization: 'Bearer alice-token' } })).status).toBe(200);
  });

  it('lets operators manage kinds, actions and providers, and users only their own mixins', async () => {
    const kind = { kinds: [{ term: 'router', scheme: 'http://example.com/net#', location: '/router/' }] };
    expect((await call(s.url, 'POST', '/-/', { body: kind, headers: as('alice-token') })).status).toBe(403);
    expect((await call(s.url, 'POST', '/-/', { body: { actions: [{ term: 'x', scheme: 'http://example.com/a#' }] }, headers: as('alice-token') })).status).toBe(403);
    expect((await call(s.url, 'PUT', '/-/', { body: { providers: [{ kind: COMPUTE, provider: { local: ['local'] } }] }, headers: as('alice-token') })).status).toBe(403);
    expect((await call(s.url, 'POST', '/-/', { body: kind, headers: as('olga-token') })).status).toBe(200);
    // Providers are operator information.
    const ocni = { accept: 'application/occi+json; profile=ocni' };
    const seenByAlice = (await call(s.url, 'GET', '/-/?class=kind', { headers: { ...as('alice-token'), ...ocni } })).json as { kinds: Json[] };
    expect(seenByAlice.kinds.every((k) => k.provider === undefined)).toBe(true);
    const seenByOlga = (await call(s.url, 'GET', '/-/?class=kind', { headers: { ...as('olga-token'), ...ocni } })).json as { kinds: Json[] };
    expect(seenByOlga.kinds.find((k) => k.term === 'compute')?.provider).toEqual({ local: ['local'], remote: [] });
  });

  it("keeps a user's tags to the user", async () => {
    const tag = { mixins: [{ term: 'mine', scheme: 'http://example.com/alice#', location: '/tags/alice/mine/' }] };
    expect((await call(s.url, 'POST', '/-/', { body: tag, headers: as('alice-token') })).status).toBe(200);
    const id = encodeURIComponent('http://example.com/alice#mine');
    expect(((await call(s.url, 'GET', `/-/?category=${id}`, { headers: as('alice-token') })).json as { mixins: Json[] }).mixins).toHaveLength(1);
    expect(((await call(s.url, 'GET', `/-/?category=${id}`, { headers: as('bob-token') })).json as { mixins: Json[] }).mixins).toEqual([]);
    expect(((await call(s.url, 'GET', `/-/?category=${id}`, { headers: as('olga-token') })).json as { mixins: Json[] }).mixins).toHaveLength(1);
    // Bob can neither use nor delete it: for him it does not exist.
    const use = await call(s.url, 'POST', '/compute/', { body: { kind: COMPUTE, mixins: ['http://example.com/alice#mine'] }, headers: as('bob-token') });
    expect(use.status).toBe(400);
    expect((await call(s.url, 'DELETE', '/-/', { body: { mixins: ['http://example.com/alice#mine'] }, headers: as('bob-token') })).status).toBe(404);
    // Alice uses it on her compute.
    expect((await call(s.url, 'POST', '/compute/', { body: { kind: COMPUTE, id: 'tagged', mixins: ['http://example.com/alice#mine'] }, headers: as('alice-token') })).status).toBe(201);
    expect(ids(await call(s.url, 'GET', '/tags/alice/mine/', { headers: as('alice-token') }))).toEqual(['tagged']);
  });

  it("answers for another tenant's entity as for a free location on every verb; only creating there is refused (409)", async () => {
    expect((await call(s.url, 'POST', '/compute/', { body: { kind: COMPUTE, id: 'a1', title: 'alice vm' }, headers: as('alice-token') })).status).toBe(201);
    const bob = as('bob-token');
    const rev = (await call(s.url, 'GET', '/compute/a1', { headers: as('alice-token') })).headers.get('etag')!;
    // Each verb, on alice's a1 and on the free "nothing-here": the same status and the same words.
    const probes: [string, string, { body?: unknown; headers?: Record<string, string> }][] = [
      ['GET', '', {}],
      ['HEAD', '', {}],
      ['POST', '', { body: { title: 'mine now' } }],
      ['POST', '?action=start', {}],
      ['PUT', '', { body: { kind: COMPUTE, title: 'replaced' }, headers: { 'if-match': rev } }],
      ['PUT', '', { body: { kind: COMPUTE, title: 'replaced' }, headers: { 'if-match': '*' } }],
      ['POST', '', { body: { title: 'x' }, headers: { 'if-match': rev } }],
      ['DELETE', '', {}],
      ['DELETE', '', { headers: { 'if-match': rev } }],
    ];
    for (const [method, query, options] of probes) {
      const taken = await call(s.url, method, `/compute/a1${query}`, { ...options, headers: { ...bob, ...options.headers } });
      const free = await call(s.url, method, `/compute/nothing-here${query}`, { ...options, headers: { ...bob, ...options.headers } });
      expect(taken.status, `${method} ${query} ${JSON.stringify(options.headers ?? {})}`).toBe(free.status);
      expect([404, 412]).toContain(taken.status);
      if (method !== 'HEAD') expect((taken.json as Json).detail).toBe(((free.json as Json).detail as string).replaceAll('nothing-here', 'a1'));
    }
    // Creating there is what a shared namespace cannot hide: 409, whose it is unsaid, as for a taken id.
    const put = await call(s.url, 'PUT', '/compute/a1', { body: { kind: COMPUTE, title: 'replaced' }, headers: bob });
    expect(put.status).toBe(409);
    expect((put.json as Json).detail).not.toMatch(/alice|tenant-a/);
    expect((await call(s.url, 'POST', '/compute/', { body: { kind: COMPUTE, id: 'a1' }, headers: bob })).status).toBe(409);
    expect((await call(s.url, 'GET', '/compute/a1', { headers: as('alice-token') })).json).toMatchObject({ title: 'alice vm' });
    const crtp = '/crtp/small/';
    expect((await call(s.url, 'POST', crtp, { body: { 'X-OCCI-Location': ['/compute/a1'] }, headers: bob })).status).toBe(404);
    const link = await call(s.url, 'POST', '/storagelink/', {
      body: { kind: `${INFRA}storagelink`, source: '/compute/a1', target: '/storage/x', attributes: { 'occi.storagelink.deviceid': 'vdb' } },
      headers: bob,
    });
    expect(link.status).toBe(400);
    expect(ids(await call(s.url, 'GET', '/compute/', { headers: bob }))).not.toContain('a1');
    expect(ids(await call(s.url, 'GET', '/', { headers: bob }))).not.toContain('a1');
    expect(ids(await call(s.url, 'GET', '/compute/', { headers: as('olga-token') }))).toContain('a1');
    // A full replace by its owner keeps it hers.
    expect((await call(s.url, 'PUT', '/compute/a1', { body: { kind: COMPUTE, title: 'alice vm' }, headers: as('alice-token') })).status).toBe(200);
    expect((await call(s.url, 'GET', '/compute/a1', { headers: as('alice-token') })).status).toBe(200);
    expect((await call(s.url, 'GET', '/compute/a1', { headers: bob })).status).toBe(404);
    // Bob's deletion of "everything" spares Alice's entity.
    expect((await call(s.url, 'DELETE', '/compute/', { headers: bob })).status).toBe(204);
    const still = await call(s.url, 'GET', '/compute/a1', { headers: as('alice-token') });
    expect(still.status).toBe(200);
    expect((still.json as Json).title).toBe('alice vm');
  });

  it('keeps links within a tenant whichever URL of this server names the target', async () => {
    const alice = as('alice-token');
    const bob = as('bob-token');
    expect((await call(s.url, 'PUT', '/storage/alice-disk1', { body: { kind: `${INFRA}storage`, attributes: { 'occi.storage.size': 1 } }, headers: alice })).status).toBe(201);
    expect((await call(s.url, 'PUT', '/compute/bob-vm1', { body: { kind: COMPUTE }, headers: bob })).status).toBe(201);
    expect((await call(s.url, 'PUT', '/storage/bob-disk1', { body: { kind: `${INFRA}storage`, attributes: { 'occi.storage.size': 1 } }, headers: bob })).status).toBe(201);
    const port = new URL(s.url).port;
    const link = (target: string, headers: Record<string, string> = {}) =>
      call(s.url, 'POST', '/storagelink/', {
        body: { kind: `${INFRA}storagelink`, source: '/compute/bob-vm1', target, attributes: { 'occi.storagelink.deviceid': 'vdb' } },
        headers: { ...bob, ...headers },
      });
    // The request goes to 127.0.0.1; each of these names this server, so the target is alice's disk.
    for (const [target, headers] of [
      [`http://localhost:${port}/storage/alice-disk1`, {}],
      [`http://[::1]:${port}/storage/alice-disk1`, {}],
      [`http://127.0.0.2:${port}/storage/alice-disk1`, {}],
      [`http://localhost:${port}/storage/%61lice-disk1`, {}],
      [`http://localhost:${port}/storage/alice-disk1`, { host: 'spoofed.example' }],
    ] as const) {
      const refused = await link(target, headers);
      expect(refused.status, target).toBe(400);
      expect((refused.json as Json).detail).toBe('the link target /storage/alice-disk1 does not exist');
    }
    // Bob's own disk through another name of this server is a local target, stored as a path.
    const own = await link(`http://localhost:${port}/storage/bob-disk1`);
    expect(own.status).toBe(201);
    expect(JSON.stringify(own.json)).toContain(`${s.url}/storage/bob-disk1`);
    expect(JSON.stringify(own.json)).not.toContain('localhost');
    // A URL of another server stays external.
    expect((await link('http://storage.example.org/storage/alice-disk1')).status).toBe(201);
  });

  it('scopes every listing by tenant inside the indexed query', async () => {
    const seen: { path: string; qs: Json }[] = [];
    const stop = s.couch.observe((r) => {
      if (r.path.includes('/_view/') || r.path === '_find' || r.path === '_all_docs') seen.push({ path: r.path, qs: r.qs });
    });
    try {
      await call(s.url, 'GET', '/compute/?attribute=occi.compute.cores&value=2', { headers: as('bob-token') });
      await call(s.url, 'GET', '/users/', { headers: as('bob-token') });
    } finally {
      stop();
    }
    // Only the tenant-keyed view, every range starting with the tenant.
    expect(seen.length).toBeGreaterThanOrEqual(2);
    for (const query of seen) {
      expect(query.path).toContain('/_view/owned');
      expect((query.qs.startkey as unknown[])[0]).toBe('tenant-b');
      expect((query.qs.endkey as unknown[])[0]).toBe('tenant-b');
    }
  });
});

describe('HTTP Basic', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await server({ mode: 'basic', users });
  });
  const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

  it('accepts a configured user and refuses a wrong password with a Basic challenge', async () => {
    expect((await call(s.url, 'GET', '/-/', { headers: basic('alice', 'alice-pw') })).status).toBe(200);
    const wrong = await call(s.url, 'GET', '/-/', { headers: basic('alice', 'nope') });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Basic realm="ocni", charset="UTF-8"');
    expect((await call(s.url, 'GET', '/-/')).status).toBe(401);
  });

  it('throttles wrong passwords per user with 429 and Retry-After; other users go on', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await call(s.url, 'GET', '/-/', { headers: basic('dave', `guess${i}`) })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    // Until the window ends, even the right password is refused...
    const throttled = await call(s.url, 'GET', '/-/', { headers: basic('dave', 'dave-pw') });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((throttled.json as Json).detail).toMatch(/too many failed logins/);
    // ...while other users, and a client whose login was verified before, go on.
    expect((await call(s.url, 'GET', '/-/', { headers: basic('bob', 'bob-pw') })).status).toBe(200);
    expect((await call(s.url, 'GET', '/-/', { headers: basic('alice', 'alice-pw') })).status).toBe(200);
  });

  it('hashes off the event loop: a burst of wrong passwords does not hold up another client', async () => {
    // A realistic cost (N = 16384, ~70 ms a hash here) and no throttling, so that every attempt hashes.
    const slow = await server({
      mode: 'basic',
      users: [{ name: 'carol', password: hashSecret('carol-pw') }, ...users],
      throttle: { failuresPerUser: 1000, failuresPerAddress: 1000, hashQueue: 1000 },
    });
    expect((await call(slow.url, 'GET', '/-/', { headers: basic('bob', 'bob-pw') })).status).toBe(200);
    const burst = Array.from({ length: 40 }, (_, i) => call(slow.url, 'GET', '/-/', { headers: basic('carol', `wrong${i}`) }));
    const latencies: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const started = performance.now();
      expect((await call(slow.url, 'GET', '/-/', { headers: basic('bob', 'bob-pw') })).status).toBe(200);
      latencies.push(performance.now() - started);
    }
    expect((await Promise.all(burst)).map((r) => r.status)).toEqual(Array(40).fill(401));
    // On the event loop the 40 hashes held every request up for about 3 s; generous bound.
    expect(Math.max(...latencies)).toBeLessThan(1500);
  });
});

describe('Keystone / Astakos tokens', () => {
  const sim = createCycladesSimulator({ mode: 'manual' });
  let identity: ListeningSimulator;
  let s: RunningServer;
  beforeAll(async () => {
    identity = await sim.listen(0);
    s = await server({ mode: 'keystone', users: [], keystone: { url: identity.identityUrl, cacheTtlMs: 60_000, operatorRoles: ['admin'] } });
  });
  afterAll(async () => {
    await identity.close();
  });

  it('validates tokens with the identity service, caches them, and names it in the challenge', async () => {
    await fetch(`${identity.url}/_sim/requests`, { method: 'DELETE' });
    expect((await call(s.url, 'POST', '/compute/', { body: { kind: COMPUTE, id: 'ks1' }, headers: as(DEMO_TOKEN) })).status).toBe(201);
    expect((await call(s.url, 'GET', '/compute/ks1', { headers: as(DEMO_TOKEN) })).status).toBe(200);
    const log = (await (await fetch(`${identity.url}/_sim/requests?pathRegex=tokens`)).json()) as { requests: unknown[] };
    expect(log.requests).toHaveLength(1);
    const refused = await call(s.url, 'GET', '/compute/ks1', { headers: as('forged') });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe(`Keystone uri='${identity.identityUrl}'`);
    // Another user of the same identity service sees nothing of the first.
    expect((await call(s.url, 'GET', '/compute/ks1', { headers: as('other-token') })).status).toBe(404);
  });

  it('remembers a refused token briefly: 50 requests with one bad token ask the identity service once', async () => {
    await fetch(`${identity.url}/_sim/requests`, { method: 'DELETE' });
    const answers = await Promise.all(Array.from({ length: 25 }, () => call(s.url, 'GET', '/compute/', { headers: as('bad-token-1') })));
    for (let i = 0; i < 25; i += 1) answers.push(await call(s.url, 'GET', '/compute/', { headers: as('bad-token-1') }));
    expect(answers.every((a) => a.status === 401)).toBe(true);
    const log = (await (await fetch(`${identity.url}/_sim/requests?pathRegex=tokens`)).json()) as { requests: unknown[] };
    expect(log.requests).toHaveLength(1);
  });

  it('asks again once the refusal has expired (refusalTtlMs)', async () => {
    const short = await server({ mode: 'keystone', users: [], keystone: { url: identity.identityUrl, refusalTtlMs: 200 } });
    await fetch(`${identity.url}/_sim/requests`, { method: 'DELETE' });
    expect((await call(short.url, 'GET', '/compute/', { headers: as('bad-token-2') })).status).toBe(401);
    expect((await call(short.url, 'GET', '/compute/', { headers: as('bad-token-2') })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect((await call(short.url, 'GET', '/compute/', { headers: as('bad-token-2') })).status).toBe(401);
    const log = (await (await fetch(`${identity.url}/_sim/requests?pathRegex=tokens`)).json()) as { requests: unknown[] };
    expect(log.requests).toHaveLength(2);
  });
});

describe('configuration', () => {
  it('refuses a plain-text password and a keystone mode without a URL', async () => {
    await expect(startTestServer({ prefix: freshPrefix('authbad'), overrides: { auth: { mode: 'basic', users: [{ name: 'x', password: 'plain' }] } } })).rejects.toThrow(
      /password must be stored hashed|auth\.users/,
    );
    await expect(startTestServer({ prefix: freshPrefix('authbad'), overrides: { auth: { mode: 'keystone', users: [] } } })).rejects.toThrow(/auth\.keystone\.url/);
  });
});
