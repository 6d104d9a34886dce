import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCycladesSimulator, DEBIAN_IMAGE_ID, DEMO_PROJECT_B, DEMO_TOKEN, type ListeningSimulator } from './cyclades-sim/simulator.ts';
import { osTplScheme, resourceTplScheme } from '../src/backends/cyclades/templates.ts';
import type { RunningServer } from '../src/server.ts';
import { call, dropDatabases, freshPrefix, startTestServer, type TestResponse } from './support/harness.ts';

type Json = Record<string, unknown>;
const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
const COMPUTE = `${INFRA}compute`;
const prefix = freshPrefix('cyc');
const sim = createCycladesSimulator({ mode: 'manual' });
let listening: ListeningSimulator;
let server: RunningServer;

const token = { 'x-auth-token': DEMO_TOKEN };
const OS = `${osTplScheme('okeanos')}${DEBIAN_IMAGE_ID}`;
const SMALL = `${resourceTplScheme('okeanos')}1`;

async function control(method: string, path: string, body?: unknown): Promise<Json> {
  const res = await fetch(listening.url + path, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  return (await res.json()) as Json;
}
async function simRequests(method: string, pathRegex: string): Promise<{ path: string; headers: Record<string, string>; body: Json }[]> {
  return ((await control('GET', `/_sim/requests?method=${method}&pathRegex=${encodeURIComponent(pathRegex)}`)) as { requests: { path: string; headers: Record<string, string>; body: Json }[] })
    .requests;
}
const attrs = (res: TestResponse) => (res.json as { attributes: Json }).attributes;

beforeAll(async () => {
  listening = await sim.listen(0);
  // A deployment whose servers get no network by default: creation is exactly one POST /servers.
  // (With the public-network default, the bridge allocates a floating IP and retries once; the
  // backend's own tests cover that path.)
  await control('POST', '/_sim/config', { defaultServerNetworks: [] });
  server = await startTestServer({
    prefix,
    overrides: {
      backends: [
        { name: 'local', type: 'store' },
        { name: 'okeanos', type: 'cyclades', identityUrl: listening.identityUrl, timeoutMs: 1500 },
      ],
    },
  });
  const route = await call(server.url, 'PUT', '/-/', { body: { providers: [{ kind: COMPUTE, provider: { local: ['okeanos'], remote: [] } }] } });
  expect(route.status).toBe(200);
});
afterAll(async () => {
  await server.close();
  await listening.close();
  await dropDatabases(prefix);
});

describe('the Cyclades bridge over HTTP', () => {
  it("lists the caller's images and flavors as os_tpl and resource_tpl mixins", async () => {
    const mine = await call(server.url, 'GET', '/-/?class=mixin', { headers: token });
    const mixins = (mine.json as { mixins: Json[] }).mixins;
    const os = mixins.find((m) => `${String(m.scheme)}${String(m.term)}` === OS)!;
    expect(os).toMatchObject({ depends: [`${INFRA}os_tpl`], applies: [COMPUTE] });
    const small = mixins.find((m) => `${String(m.scheme)}${String(m.term)}` === SMALL)!;
    expect((small.attributes as Json)['occi.compute.cores']).toMatchObject({ default: 1 });
    // Without a token there is nobody to list templates for.
    const anonymous = ((await call(server.url, 'GET', '/-/?class=mixin')).json as { mixins: Json[] }).mixins;
    expect(anonymous.some((m) => String(m.scheme).startsWith(osTplScheme('okeanos')))).toBe(false);
  });

  it('creates a compute from templates with one POST /servers, follows its states, acts and deletes', async () => {
    await control('DELETE', '/_sim/requests');
    // snf-occi's clients send the token as Auth-Token.
    const created = await call(server.url, 'POST', '/compute/', { body: { kind: COMPUTE, title: 'bridge-vm', mixins: [OS, SMALL] }, headers: { 'auth-token': DEMO_TOKEN } });
    expect(created.status, created.text).toBe(201);
    const location = new URL(created.headers.get('location')!).pathname;
    expect(location).toMatch(/^\/compute\/\d+$/);
    const posts = await simRequests('POST', '^/compute/v2.0/servers$');
    expect(posts).toHaveLength(1);
    expect(posts[0]!.headers['x-auth-token']).toBe(DEMO_TOKEN);
    expect(posts[0]!.body).toMatchObject({ server: { name: 'bridge-vm', imageRef: DEBIAN_IMAGE_ID, flavorRef: 1 } });

    const building = await call(server.url, 'GET', location, { headers: token });
    expect(attrs(building)['occi.compute.state']).toBe('inactive');
    await control('POST', '/_sim/settle');
    const active = await call(server.url, 'GET', location, { headers: token });
    expect(attrs(active)['occi.compute.state']).toBe('active');

    const stop = await call(server.url, 'POST', `${location}?action=stop`, { headers: token });
    expect(stop.status, stop.text).toBe(200);
    expect((await simRequests('POST', '/action$')).map((r) => r.body)).toContainEqual({ shutdown: {} });
    await control('POST', '/_sim/settle');
    expect(attrs(await call(server.url, 'GET', location, { headers: token }))['occi.compute.state']).toBe('inactive');
    // Cyclades decides what applies: stopping a stopped server is its 400, with its message.
    const again = await call(server.url, 'POST', `${location}?action=stop`, { headers: token });
    expect(again.status).toBe(400);
    expect((again.json as Json).detail).toContain('STOP');

    expect((await call(server.url, 'DELETE', location, { headers: token })).status).toBe(204);
    await control('POST', '/_sim/settle');
    expect((await call(server.url, 'GET', location, { headers: token })).status).toBe(404);
  });

  it('refuses a compute without templates before calling Cyclades', async () => {
    await control('DELETE', '/_sim/requests');
    const res = await call(server.url, 'POST', '/compute/', { body: { kind: COMPUTE, mixins: [OS] }, headers: token });
    expect(res.status).toBe(400);
    expect(await simRequests('POST', '^/compute/v2.0/servers$')).toHaveLength(0);
  });

  it('maps Cyclades faults to OCCI statuses with their message, and stores nothing', async () => {
    await control('POST', '/_sim/fault', {
      method: 'POST',
      pathRegex: '^/compute/v2.0/servers$',
      status: 503,
      body: { serviceUnavailable: { code: 503, message: 'No available backends', details: '' } },
      count: 1,
    });
    const unavailable = await call(server.url, 'POST', '/compute/', { body: { kind: COMPUTE, id: 'never', mixins: [OS, SMALL] }, headers: token });
    expect(unavailable.status).toBe(503);
    expect((unavailable.json as Json).detail).toContain('No available backends');
    expect(unavailable.headers.get('retry-after')).not.toBeNull();

    await control('POST', '/_sim/latency', { ms: 3000, pathRegex: '^/compute/v2.0/servers$' });
    const slow = await call(server.url, 'POST', '/compute/', { body: { kind: COMPUTE, mixins: [OS, SMALL] }, headers: token });
    expect(slow.status).toBe(504);
    await control('POST', '/_sim/latency', { ms: 0 });

    const listing = (await call(server.url, 'GET', '/compute/', { headers: token })).json as { resources: Json[] };
    expect(listing.resources.map((r) => r.id)).not.toContain('never');
  });

  it('answers 401 when Cyclades refuses the token, with nothing created', async () => {
    // The caller's identity is checked first: a bad or missing token is 401 (not a 400 about the
    // templates it cannot see), as the README's table says.
    const compute = await call(server.url, 'POST', '/compute/', { body: { kind: COMPUTE, mixins: [OS, SMALL] }, headers: { 'x-auth-token': 'not-a-token' } });
    expect(compute.status, compute.text).toBe(401);
    expect((compute.json as Json).detail).toContain('Invalid token');
    const missing = await call(server.url, 'POST', '/compute/', { body: { kind: COMPUTE, mixins: [OS, SMALL] } });
    expect(missing.status, missing.text).toBe(401);
    // The refused token's look-ups are remembered briefly: a retry costs Cyclades no call.
    await control('DELETE', '/_sim/requests');
    const again = await call(server.url, 'POST', '/compute/', { body: { kind: COMPUTE, mixins: [OS, SMALL] }, headers: { 'x-auth-token': 'not-a-token' } });
    expect(again.status).toBe(401);
    expect(((await control('GET', '/_sim/requests')) as { requests: unknown[] }).requests).toHaveLength(0);
    // A storage routed to Cyclades goes to Cyclades, whose 401 comes back as 401.
    expect((await call(server.url, 'PUT', '/-/', { body: { providers: [{ kind: `${INFRA}storage`, provider: { local: ['okeanos'] } }] } })).status).toBe(200);
    try {
      const storage = await call(server.url, 'POST', '/storage/', {
        body: { kind: `${INFRA}storage`, id: 'badtoken', attributes: { 'occi.storage.size': 1 } },
        headers: { 'x-auth-token': 'not-a-token' },
      });
      expect(storage.status).toBe(401);
      expect((storage.json as Json).detail).toContain('Invalid token');
      expect((await call(server.url, 'GET', '/storage/badtoken')).status).toBe(404);
    } finally {
      await call(server.url, 'PUT', '/-/', { body: { providers: [{ kind: `${INFRA}storage`, provider: { local: ['local'] } }] } });
    }
  });

  it("answers 413 with Cyclades' message when the project's quota is used up, and keeps nothing", async () => {
    // Project B has room for exactly one small VM; the project comes from X-Project-Id.
    const headers = { ...token, 'x-project-id': DEMO_PROJECT_B };
    const first = await call(server.url, 'POST', '/compute/', { body: { kind: COMPUTE, title: 'fits', mixins: [OS, SMALL] }, headers });
    expect(first.status, first.text).toBe(201);
    const fits = (await simRequests('POST', '^/compute/v2.0/servers$')).filter((r) => (r.body.server as Json | undefined)?.name === 'fits');
    expect(fits.at(-1)?.body).toMatchObject({ server: { project: DEMO_PROJECT_B } });
    const second = await call(server.url, 'POST', '/compute/', { body: { kind: COMPUTE, id: 'over', title: 'too many', mixins: [OS, SMALL] }, headers });
    expect(second.status).toBe(413);
    expect((second.json as Json).detail).toMatch(/Limit|exceed/i);
    expect((await call(server.url, 'GET', '/compute/over', { headers: token })).status).toBe(404);
  });

  it('keeps other kinds on the local store meanwhile', async () => {
    const storage = await call(server.url, 'POST', '/storage/', { body: { kind: `${INFRA}storage`, attributes: { 'occi.storage.size': 5 } }, headers: token });
    expect(storage.status).toBe(201);
  });

  it('ends with nothing in Cyclades that ocni does not know of: the server made after ocni gave up is found by drift and cleaned up', async () => {
    // The 504 test above: Cyclades made that server after ocni had stopped waiting (and looked).
    type Report = { unknownToOcni: { type: string; name?: string; ocniMade: boolean }[]; unknownToCyclades: unknown[] };
    let report: Report = { unknownToOcni: [], unknownToCyclades: [] };
    // Polled until only that server is left: on a loaded machine a root volume of a server deleted
    // by an earlier test can still be listed while its DESTROY job runs.
    const settled = (r: Report): boolean => r.unknownToOcni.length === 1 && r.unknownToOcni[0]?.type === 'server';
    for (let i = 0; i < 100 && !settled(report); i += 1) {
      report = (await call(server.url, 'GET', '/-/cyclades/okeanos/drift', { headers: token })).json as Report;
      if (!settled(report)) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(report.unknownToOcni, JSON.stringify(report)).toEqual([expect.objectContaining({ type: 'server', ocniMade: true })]);
    expect(report.unknownToCyclades).toEqual([]);
    expect((await call(server.url, 'POST', '/-/cyclades/okeanos/clean-up', { headers: token })).status).toBe(200);
    await control('POST', '/_sim/settle');
    expect((await call(server.url, 'GET', '/-/cyclades/okeanos/drift', { headers: token })).json).toEqual({ unknownToOcni: [], unknownToCyclades: [] });
  });
});
