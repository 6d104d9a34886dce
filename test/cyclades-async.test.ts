/**
 * The Cyclades bridge under asynchrony and partial failure (issue 15), over HTTP against the
 * simulator running its jobs in real time (short timings): ordered teardown, creates whose
 * read-back fails, lost answers, floating IPs, link state, dynamic allocation, offered actions,
 * snf-occi's own example, and at the end: the simulator holds nothing ocni does not know of.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCycladesSimulator, DEMO_TOKEN, DEMO_USER_UUID, type ListeningSimulator } from './cyclades-sim/simulator.ts';
import { osTplScheme, resourceTplScheme } from '../src/backends/cyclades/templates.ts';
import type { RunningServer } from '../src/server.ts';
import { call, dropDatabases, freshPrefix, startTestServer, type TestResponse } from './support/harness.ts';
import { hashSecret } from '../src/auth/secrets.ts';

type Json = Record<string, unknown>;
const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
const KINDS = ['compute', 'network', 'storage', 'networkinterface', 'storagelink'];
const IPNETWORK = 'http://schemas.ogf.org/occi/infrastructure/network#ipnetwork';
const IPNI = 'http://schemas.ogf.org/occi/infrastructure/networkinterface#ipnetworkinterface';
const DEBIAN_BY_NAME = 'c0ffee00-0000-4000-8000-0000000000d1';
const OS = `${osTplScheme('okeanos')}${DEBIAN_BY_NAME}`;
const SMALL = `${resourceTplScheme('okeanos')}1`;
const TIMEOUT_MS = 1500;

const prefix = freshPrefix('cyca');
const sim = createCycladesSimulator({
  mode: 'realtime',
  timings: { build: 120, start: 40, stop: 40, reboot: 40, resize: 40, destroy: 40, connect: 60, disconnect: 60, volumeAttach: 60, volumeDetach: 60, volumeDelete: 40 },
});
let listening: ListeningSimulator;
let server: RunningServer;
const token = { 'x-auth-token': DEMO_TOKEN };

async function control(method: string, path: string, body?: unknown): Promise<Json> {
  const res = await fetch(listening.url + path, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  return (await res.json()) as Json;
}
async function simRequests(method: string, pathRegex: string): Promise<{ path: string; body: Json; status: number }[]> {
  return ((await control('GET', `/_sim/requests?method=${method}&pathRegex=${encodeURIComponent(pathRegex)}`)) as { requests: { path: string; body: Json; status: number }[] }).requests;
}
const attrs = (res: TestResponse) => (res.json as { attributes: Json }).attributes;
const pathOf = (res: TestResponse) => new URL(res.headers.get('location')!).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads `path` until `done` holds (bounded: 5 s). */
async function until(path: string, done: (res: TestResponse) => boolean): Promise<TestResponse> {
  for (let i = 0; ; i += 1) {
    const res = await call(server.url, 'GET', path, { headers: token });
    if (done(res) || i >= 100) return res;
    await sleep(50);
  }
}
/** Waits until the simulator has no job pending (bounded: 5 s). */
async function quiet(): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    if (((await control('GET', '/_sim/state')) as { jobs: unknown[] }).jobs.length === 0) return;
    await sleep(50);
  }
}

async function compute(title: string): Promise<string> {
  const res = await call(server.url, 'POST', '/compute/', { body: { kind: `${INFRA}compute`, title, mixins: [OS, SMALL] }, headers: token });
  expect(res.status, res.text).toBe(201);
  const location = pathOf(res);
  await until(location, (r) => attrs(r)['occi.compute.state'] === 'active');
  return location;
}
async function network(title: string): Promise<string> {
  const res = await call(server.url, 'POST', '/network/', { body: { kind: `${INFRA}network`, title, mixins: [IPNETWORK], attributes: { 'occi.network.address': '192.168.60.0/24' } }, headers: token });
  expect(res.status, res.text).toBe(201);
  return pathOf(res);
}
async function storage(title: string): Promise<string> {
  const res = await call(server.url, 'POST', '/storage/', { body: { kind: `${INFRA}storage`, title, attributes: { 'occi.storage.size': 1 } }, headers: token });
  expect(res.status, res.text).toBe(201);
  const location = pathOf(res);
  await until(location, (r) => attrs(r)['occi.storage.state.message'] === 'available');
  return location;
}
async function link(kind: 'networkinterface' | 'storagelink', source: string, target: string, extra: Json = {}): Promise<TestResponse> {
  const attributes = kind === 'networkinterface' ? { 'occi.networkinterface.interface': 'eth1', 'occi.networkinterface.mac': '00:00:00:00:00:00' } : { 'occi.storagelink.deviceid': 'vdb' };
  return call(server.url, 'POST', `/${kind}/`, {
    body: { kind: `${INFRA}${kind}`, source: { location: source }, target: { location: target }, ...extra, attributes: { ...attributes, ...(extra.attributes as Json | undefined) } },
    headers: token,
  });
}

beforeAll(async () => {
  listening = await sim.listen(0);
  await control('POST', '/_sim/config', { defaultServerNetworks: [] });
  await control('POST', '/_sim/image', { id: DEBIAN_BY_NAME, name: 'Debian' });
  server = await startTestServer({
    prefix,
    overrides: {
      backends: [
        { name: 'local', type: 'store' },
        { name: 'okeanos', type: 'cyclades', identityUrl: listening.identityUrl, timeoutMs: TIMEOUT_MS, jobPollMs: 20 },
      ],
    },
  });
  const route = await call(server.url, 'PUT', '/-/', { body: { providers: KINDS.map((kind) => ({ kind: `${INFRA}${kind}`, provider: { local: ['okeanos'], remote: [] } })) } });
  expect(route.status, route.text).toBe(200);
});
afterAll(async () => {
  await server.close();
  await listening.close();
  await dropDatabases(prefix);
});

describe('the Cyclades bridge under asynchrony and partial failure', () => {
  it('deletes a compute with a networkinterface and a storagelink: each job waited for, volume detached first (finding 1)', async () => {
    const vm = await compute('teardown');
    const net = await network('teardown-net');
    const disk = await storage('teardown-disk');
    const ni = await link('networkinterface', vm, net);
    expect(ni.status, ni.text).toBe(201);
    // Attaching right away: Cyclades still runs the CONNECT job; the bridge waits for it.
    const sl = await link('storagelink', vm, disk);
    expect(sl.status, sl.text).toBe(201);
    // The links' state comes from Cyclades (finding 6): active once the jobs are done.
    const shown = await until(vm, (r) =>
      ((r.json as { links?: { attributes: Json }[] }).links ?? []).every((l) => l.attributes['occi.networkinterface.state'] === 'active' || l.attributes['occi.storagelink.state'] === 'active'),
    );
    const links = (shown.json as { links: { attributes: Json }[] }).links;
    expect(links).toHaveLength(2);
    expect(links.map((l) => l.attributes['occi.networkinterface.state'] ?? l.attributes['occi.storagelink.state'])).toEqual(['active', 'active']);

    const deleted = await call(server.url, 'DELETE', vm, { headers: token });
    expect(deleted.status, deleted.text).toBe(204);
    // The port went (DISCONNECT), then the volume was detached (DETACH_VOLUME), then the server.
    const order = (await simRequests('DELETE', '^/(network/v2.0/ports|compute/v2.0/servers)/')).map((r) => [r.path.replace(/\/\d+/g, '/N'), r.status]);
    expect(order.slice(-3)).toEqual([
      ['/network/v2.0/ports/N', 204],
      ['/compute/v2.0/servers/N/os-volume_attachments/N', 202],
      ['/compute/v2.0/servers/N', 204],
    ]);
    await quiet();
    // The storage outlives its compute (Cyclades would have deleted it still attached).
    expect(attrs(await call(server.url, 'GET', disk, { headers: token }))['occi.storage.state.message']).toBe('available');
    expect((await call(server.url, 'DELETE', disk, { headers: token })).status).toBe(204);
    expect((await call(server.url, 'DELETE', net, { headers: token })).status).toBe(204);
  });

  it('keeps what Cyclades made when the read-back fails: network+subnet, volume, attachment (finding 2)', async () => {
    await control('POST', '/_sim/fault', { method: 'GET', pathRegex: '^/network/v2.0/networks/\\d+$', status: 500, count: 1 });
    const net = await network('readback-net');
    expect(attrs(await call(server.url, 'GET', net, { headers: token }))['occi.network.address']).toBe('192.168.60.0/24');
    // A subnet made whose answer was lost: the network says it has one, so both are kept.
    await control('POST', '/_sim/fault', { method: 'POST', pathRegex: '^/network/v2.0/subnets$', status: 500, after: true });
    const lostSubnet = await network('lost-subnet-net');
    expect(attrs(await call(server.url, 'GET', lostSubnet, { headers: token }))['occi.network.address']).toBe('192.168.60.0/24');
    expect((await call(server.url, 'DELETE', lostSubnet, { headers: token })).status).toBe(204);

    await control('POST', '/_sim/fault', { method: 'GET', pathRegex: '^/volume/v2.0/volumes/\\d+$', status: 500, count: 1 });
    const created = await call(server.url, 'POST', '/storage/', { body: { kind: `${INFRA}storage`, title: 'readback-disk', attributes: { 'occi.storage.size': 1 } }, headers: token });
    expect(created.status, created.text).toBe(201);
    const disk = pathOf(created);
    await until(disk, (r) => attrs(r)['occi.storage.state.message'] === 'available');

    const vm = await compute('readback-vm');
    await control('POST', '/_sim/fault', { method: 'GET', pathRegex: '^/volume/v2.0/volumes/\\d+$', status: 500, count: 1 });
    const attached = await link('storagelink', vm, disk);
    expect(attached.status, attached.text).toBe(201);
    expect((await call(server.url, 'DELETE', vm, { headers: token })).status).toBe(204);
    expect((await call(server.url, 'DELETE', disk, { headers: token })).status).toBe(204);
    expect((await call(server.url, 'DELETE', net, { headers: token })).status).toBe(204);
  });

  it('finds and adopts a server whose create answer was lost: create-then-fail and create-then-hang (finding 3)', async () => {
    await control('POST', '/_sim/fault', { method: 'POST', pathRegex: '^/compute/v2.0/servers$', status: 500, after: true });
    const failed = await call(server.url, 'POST', '/compute/', { body: { kind: `${INFRA}compute`, title: 'lost-500', mixins: [OS, SMALL] }, headers: token });
    expect(failed.status, failed.text).toBe(201);
    expect(pathOf(failed)).toMatch(/^\/compute\/\d+$/);

    await control('POST', '/_sim/fault', { method: 'POST', pathRegex: '^/compute/v2.0/servers$', status: 200, hangMs: TIMEOUT_MS + 300 });
    const hung = await call(server.url, 'POST', '/compute/', { body: { kind: `${INFRA}compute`, title: 'lost-hang', mixins: [OS, SMALL] }, headers: token });
    expect(hung.status, hung.text).toBe(201);

    // Exactly one server each: adopted, not made twice.
    const servers = Object.values(((await control('GET', '/_sim/state')) as { db: { servers: Record<string, { name: string; deleted: boolean }> } }).db.servers);
    expect(servers.filter((s) => s.name === 'lost-500' && !s.deleted)).toHaveLength(1);
    expect(servers.filter((s) => s.name === 'lost-hang' && !s.deleted)).toHaveLength(1);
    for (const res of [failed, hung]) {
      await until(pathOf(res), (r) => attrs(r)['occi.compute.state'] === 'active');
      expect((await call(server.url, 'DELETE', pathOf(res), { headers: token })).status).toBe(204);
    }
  });

  it('adopts a network whose create answer was lost, and gives it its title', async () => {
    await control('POST', '/_sim/fault', { method: 'POST', pathRegex: '^/network/v2.0/networks$', status: 500, after: true });
    const res = await call(server.url, 'POST', '/network/', { body: { kind: `${INFRA}network`, title: 'lost-net' }, headers: token });
    expect(res.status, res.text).toBe(201);
    const networks = Object.values(((await control('GET', '/_sim/state')) as { db: { networks: Record<string, { id: string; name: string; deleted: boolean }> } }).db.networks);
    expect(networks.filter((n) => !n.deleted && n.id === pathOf(res).split('/').pop()).map((n) => n.name)).toEqual(['lost-net']);
    expect((await call(server.url, 'DELETE', pathOf(res), { headers: token })).status).toBe(204);
  });

  it('adopts a volume whose create answer was lost', async () => {
    await control('POST', '/_sim/fault', { method: 'POST', pathRegex: '^/volume/v2.0/volumes$', status: 502, after: true });
    const res = await call(server.url, 'POST', '/storage/', { body: { kind: `${INFRA}storage`, title: 'lost-disk', attributes: { 'occi.storage.size': 1 } }, headers: token });
    expect(res.status, res.text).toBe(201);
    await until(pathOf(res), (r) => attrs(r)['occi.storage.state.message'] === 'available');
    expect((await call(server.url, 'DELETE', pathOf(res), { headers: token })).status).toBe(204);
  });

  it('releases the floating IP it allocated when the interface goes (finding 5)', async () => {
    const vm = await compute('public-vm');
    const publicNet = `${listening.url}/network/v2.0/networks/1`;
    const ni = await link('networkinterface', vm, publicNet);
    expect(ni.status, ni.text).toBe(201);
    const ips = async () =>
      Object.values(((await control('GET', '/_sim/state')) as { db: { ips: Record<string, { floating: boolean; userId: string }> } }).db.ips).filter(
        (ip) => ip.floating && ip.userId === DEMO_USER_UUID,
      );
    expect(await ips()).toHaveLength(1);
    await until(pathOf(ni), (r) => attrs(r)['occi.networkinterface.state'] === 'active');
    expect((await call(server.url, 'DELETE', pathOf(ni), { headers: token })).status).toBe(204);
    expect(await ips()).toHaveLength(0);
    expect((await call(server.url, 'DELETE', vm, { headers: token })).status).toBe(204);
  });

  it('sends no fixed IP for allocation dynamic, and offers only the actions Cyclades allows now (finding 6)', async () => {
    const created = await call(server.url, 'POST', '/compute/', { body: { kind: `${INFRA}compute`, title: 'actions', mixins: [OS, SMALL] }, headers: token });
    const vm = pathOf(created);
    // The create's answer shows the server building: inactive, yet no start on offer.
    expect(attrs(created)['occi.compute.state']).toBe('inactive');
    expect(JSON.stringify((created.json as Json).actions ?? [])).not.toContain('#start');
    const active = await until(vm, (r) => attrs(r)['occi.compute.state'] === 'active');
    expect(JSON.stringify((active.json as Json).actions)).toContain('#stop');

    const net = await network('dynamic-net');
    await control('DELETE', '/_sim/requests');
    const ni = await link('networkinterface', vm, net, { mixins: [IPNI], attributes: { 'occi.networkinterface.address': '192.168.60.77', 'occi.networkinterface.allocation': 'dynamic' } });
    expect(ni.status, ni.text).toBe(201);
    const [post] = await simRequests('POST', '^/network/v2.0/ports$');
    expect((post!.body.port as Json)['fixed_ips']).toBeUndefined();
    expect((await call(server.url, 'DELETE', vm, { headers: token })).status).toBe(204);
    await quiet();
    expect((await call(server.url, 'DELETE', net, { headers: token })).status).toBe(204);
  });

  it("runs snf-occi's own example verbatim: create with text/occi, GET, DELETE (finding 8)", async () => {
    // The request of snf-occi's documentation, header for header ($AUTH filled in).
    const lines: [string, string][] = [
      ['Category', 'compute; scheme=http://schemas.ogf.org/occi/infrastructure#;  class="kind";'],
      ['X-OCCI-Attribute', 'occi.core.title = newVM'],
      ['Category', 'C2R2048D20; scheme=http://schemas.ogf.org/occi/infrastructure#; '],
      ['Category', 'Debian; scheme=http://schemas.ogf.org/occi/infrastructure#;'],
      ['Auth-Token', DEMO_TOKEN],
      ['Content-type', 'text/occi'],
    ];
    // "Retrieve all registered Kinds, Actions and Mixins": the snf-occi names are among them.
    const query = await rawRequest('GET', '/-/', [['Auth-Token', DEMO_TOKEN]]);
    const mixins = (JSON.parse(query.body) as { mixins: { scheme: string; term: string }[] }).mixins.filter((m) => m.scheme === INFRA).map((m) => m.term);
    expect(mixins).toEqual(expect.arrayContaining(['C2R2048D20', 'Debian']));
    const created = await rawRequest('POST', '/compute/', lines);
    expect(created.status, JSON.stringify(created)).toBe(201);
    const location = new URL(created.headers['location']!).pathname;
    const [post] = (await simRequests('POST', '^/compute/v2.0/servers$')).slice(-1);
    expect(post!.body).toMatchObject({ server: { name: 'newVM', imageRef: DEBIAN_BY_NAME, flavorRef: 2 } });
    const read = await rawRequest('GET', location, [['Auth-Token', DEMO_TOKEN]]);
    expect(read.status).toBe(200);
    await until(location, (r) => attrs(r)['occi.compute.state'] === 'active');
    expect((await rawRequest('DELETE', location, [['Auth-Token', DEMO_TOKEN]])).status).toBe(204);
  });

  it('shows drift both ways to an operator, and cleans up only what ocni made (finding 7)', async () => {
    // A server the user made elsewhere, one ocni made but lost track of, and an entity whose server went.
    const direct = async (name: string, metadata: Json) =>
      (await (
        await fetch(`${listening.url}/compute/v2.0/servers`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-auth-token': DEMO_TOKEN },
          body: JSON.stringify({ server: { name, imageRef: DEBIAN_BY_NAME, flavorRef: 1, metadata } }),
        })
      ).json()) as { server: { id: number } };
    const foreign = await direct('made-elsewhere', {});
    const stray = await direct('ocni-stray', { ocni_entity: 'gone-entity', ocni_backend: 'okeanos' });
    const vm = await compute('deleted-behind-ocni');
    await fetch(`${listening.url}/compute/v2.0/servers/${vm.split('/').pop()!}`, { method: 'DELETE', headers: { 'x-auth-token': DEMO_TOKEN } });
    await quiet();

    const drift = await call(server.url, 'GET', '/-/cyclades/okeanos/drift', { headers: token });
    expect(drift.status, drift.text).toBe(200);
    const report = drift.json as { unknownToOcni: Json[]; unknownToCyclades: Json[] };
    expect(report.unknownToOcni).toEqual(
      expect.arrayContaining([
        { type: 'server', id: String(foreign.server.id), name: 'made-elsewhere', ocniMade: false },
        { type: 'server', id: String(stray.server.id), name: 'ocni-stray', ocniMade: true },
      ]),
    );
    expect(report.unknownToCyclades).toEqual([{ location: vm, kind: `${INFRA}compute` }]);

    const cleaned = await call(server.url, 'POST', '/-/cyclades/okeanos/clean-up', { headers: token });
    expect(cleaned.status, cleaned.text).toBe(200);
    expect((cleaned.json as { deleted: Json[] }).deleted).toEqual([{ type: 'server', id: String(stray.server.id), name: 'ocni-stray', ocniMade: true }]);
    await quiet();
    // What the user made stays theirs: deleted here only to leave the simulator clean.
    await fetch(`${listening.url}/compute/v2.0/servers/${foreign.server.id}`, { method: 'DELETE', headers: { 'x-auth-token': DEMO_TOKEN } });
    // Reading the entity whose server went makes it gone in ocni too.
    expect((await call(server.url, 'GET', vm, { headers: token })).status).toBe(404);
  });

  it('shows drift to operators only', async () => {
    const guarded = freshPrefix('cyca-auth');
    const users = [
      { name: 'alice', tenant: 'tenant-a', password: hashSecret('alice-pw', 1024) },
      { name: 'olga', operator: true, password: hashSecret('olga-pw', 1024) },
    ];
    const s = await startTestServer({
      prefix: guarded,
      overrides: {
        auth: { mode: 'basic', users },
        backends: [
          { name: 'local', type: 'store' },
          { name: 'okeanos', type: 'cyclades', identityUrl: listening.identityUrl },
        ],
      },
    });
    try {
      const basic = (user: string, pw: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`, ...token });
      expect((await call(s.url, 'GET', '/-/cyclades/okeanos/drift', { headers: basic('alice', 'alice-pw') })).status).toBe(403);
      expect((await call(s.url, 'POST', '/-/cyclades/okeanos/clean-up', { headers: basic('alice', 'alice-pw') })).status).toBe(403);
      expect((await call(s.url, 'GET', '/-/cyclades/okeanos/drift', { headers: basic('olga', 'olga-pw') })).status).toBe(200);
      expect((await call(s.url, 'GET', '/-/cyclades/nowhere/drift', { headers: basic('olga', 'olga-pw') })).status).toBe(404);
    } finally {
      await s.close();
      await dropDatabases(guarded);
    }
  });

  it('leaves the simulator holding nothing ocni does not know of, after every fault mode above', async () => {
    await quiet();
    const drift = await call(server.url, 'GET', '/-/cyclades/okeanos/drift', { headers: token });
    expect(drift.status, drift.text).toBe(200);
    expect(drift.json).toEqual({ unknownToOcni: [], unknownToCyclades: [] });
    // And independently of the bridge's own drift code, from the simulator's database:
    const db = ((await control('GET', '/_sim/state')) as { db: Record<string, Record<string, Json>> }).db;
    const live = (table: string) => Object.values(db[table]!).filter((o) => o.userId === DEMO_USER_UUID && o.deleted !== true && o.status !== 'DELETED');
    const known = async (kind: string) => (await call(server.url, 'GET', `/${kind}/`, { headers: token })).json as { resources?: Json[]; links?: Json[] };
    const computes = (await known('compute')).resources ?? [];
    expect(
      live('servers')
        .map((s) => String(s.id))
        .sort(),
    ).toEqual(computes.map((c) => String(c.id)).sort());
    expect(live('ports')).toHaveLength(0);
    expect(live('networks')).toHaveLength(0);
    expect(live('volumes').filter((v) => v.index !== 0)).toHaveLength(0);
    expect(live('ips').filter((ip) => ip.floating === true)).toHaveLength(0);
  });
});

/** One HTTP request with repeated header lines exactly as given (as curl sends them). */
function rawRequest(method: string, path: string, headers: [string, string][]): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const url = new URL(path, server.url);
  return new Promise((resolve, reject) => {
    // A header given several times goes out as several lines, in order (as curl -H sends them).
    const grouped: Record<string, string[]> = {};
    for (const [name, value] of headers) (grouped[name] ??= []).push(value);
    const req = httpRequest({ method, host: url.hostname, port: url.port, path: url.pathname, headers: grouped }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string>, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
