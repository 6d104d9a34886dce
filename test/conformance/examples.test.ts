/**
 * Every example document of `../shared/reference/occi-json/examples/` (GFD.226's and rOCCI-core's)
 * fed to the server, accepted or refused as that folder's README says: the rOCCI-core instance
 * and action instances are accepted; the spec's own naming slips (`occi.infrastructure.networkinterface.*`,
 * `#resourcetpl`, the removed `occi.compute.speed` with mixins of example.com) are refused with
 * 400 naming them; categories the server already has are refused (409) or, built in, not changed
 * (403), and nothing is stored by a refused request.
 */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server.ts';
import { call, dropDatabases, freshPrefix, startTestServer, type TestResponse } from '../support/harness.ts';
import { OCCI_JSON_REFERENCE, referenceJson } from '../support/occi-schema.ts';

type Json = Record<string, unknown>;
const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
const OCNI = { accept: 'application/occi+json; profile=ocni' };

const prefix = freshPrefix('conf-examples');
let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await startTestServer({ prefix });
  base = server.url;
});
afterAll(async () => {
  await server.close();
  await dropDatabases(prefix);
});

function example(name: string): Json {
  return referenceJson(`examples/${name}`) as Json;
}

function pointers(res: TestResponse): string[] {
  return ((res.json as { errors?: { pointer: string }[] }).errors ?? []).map((e) => e.pointer);
}

async function expectNothingAt(path: string): Promise<void> {
  expect((await call(base, 'GET', path)).status).toBe(404);
}

describe('the published OCCI 1.2 JSON examples', () => {
  it('covers every example file of the reference folder', () => {
    const tested = [
      'gfd226-action.json',
      'gfd226-action_invocation.json',
      'gfd226-kind.json',
      'gfd226-link.json',
      'gfd226-mixin.json',
      'gfd226-resource.json',
      'rocci-core-action_instance.json',
      'rocci-core-categories.json',
      'rocci-core-instance.json',
      'rocci-core-model.alt.json',
      'rocci-core-model.json',
    ];
    expect(readdirSync(new URL('examples/', OCCI_JSON_REFERENCE)).sort()).toEqual(tested);
  });

  it("accepts rOCCI-core's resource instance, with occi.core.* inside attributes and its two links", async () => {
    // The instance links to a storage and a network that must exist here.
    expect((await call(base, 'PUT', '/storage/5401', { body: { kind: `${INFRA}storage`, attributes: { 'occi.storage.size': 1 } } })).status).toBe(201);
    expect((await call(base, 'PUT', '/network/24', { body: { kind: `${INFRA}network` } })).status).toBe(201);
    const res = await call(base, 'POST', '/compute/', { body: example('rocci-core-instance.json'), headers: OCNI });
    expect(res.status, res.text).toBe(201);
    expect(res.headers.get('location')).toBe(`${base}/compute/89878`);
    const read = (await call(base, 'GET', '/compute/89878')).json as Json;
    expect(read).toMatchObject({ id: '89878', title: 'my_compute', summary: 'Instantiated with rOCCI-server on Tue, 18 Apr 2017 16:55:12 +0200.' });
    // What the client wrote inside attributes reads back there.
    expect(read.attributes).toMatchObject({ 'occi.core.id': '89878', 'occi.core.title': 'my_compute', 'occi.compute.cores': 1 });
    const links = (read.links as Json[]).sort((a, b) => String(a.id).localeCompare(String(b.id)));
    expect(links.map((l) => l.id)).toEqual(['compute_89878_disk_0', 'compute_89878_nic_0']);
    expect(links[0]!.source).toEqual({ location: `${base}/compute/89878`, kind: `${INFRA}compute` });
    expect(links[0]!.target).toEqual({ location: `${base}/storage/5401`, kind: `${INFRA}storage` });
    expect(links[1]!.attributes).toMatchObject({ 'occi.core.title': 'public', 'occi.networkinterface.interface': 'eth0', 'occi.networkinterface.mac': '02:00:93:e4:f2:a3' });
  });

  it("accepts rOCCI-core's and GFD.226's action invocations", async () => {
    expect((await call(base, 'PUT', '/compute/act1', { body: { kind: `${INFRA}compute` } })).status).toBe(201);
    const start = await call(base, 'POST', '/compute/act1?action=start', { body: { action: 'http://schemas.ogf.org/occi/infrastructure/compute/action#start' } });
    expect(start.status, start.text).toBe(200);
    const suspend = await call(base, 'POST', '/compute/act1?action=suspend', { body: example('rocci-core-action_instance.json') });
    expect(suspend.status, suspend.text).toBe(200);
    expect((suspend.json as Json).attributes).toMatchObject({ 'occi.compute.state': 'suspended' });
    expect((await call(base, 'POST', '/compute/act1?action=start', { body: {} })).status).toBe(200);
    const stop = await call(base, 'POST', '/compute/act1?action=stop', { body: example('gfd226-action_invocation.json') });
    expect(stop.status, stop.text).toBe(200);
    expect((stop.json as Json).attributes).toMatchObject({ 'occi.compute.state': 'inactive' });
  });

  it("refuses GFD.226's resource example: its mixins are example.com's and occi.compute.speed needs no such mixin, but the mixins do not exist here", async () => {
    const res = await call(base, 'POST', '/compute/', { body: example('gfd226-resource.json') });
    expect(res.status).toBe(400);
    expect(pointers(res)).toEqual(expect.arrayContaining(['/mixins/0', '/mixins/1']));
    await expectNothingAt('/compute/urn:uuid:996ad860-2a9a-504f-8861-aeafd0b2ae29');
  });

  it("refuses GFD.226's link example for its naming slip occi.infrastructure.networkinterface.*", async () => {
    // The ends exist, so only the attribute names are wrong.
    expect((await call(base, 'PUT', '/compute/996ad860-2a9a-504f-8861-aeafd0b2ae29', { body: { kind: `${INFRA}compute` } })).status).toBe(201);
    expect((await call(base, 'PUT', '/network/b7d55bf4-7057-5113-85c8-141871bf7635', { body: { kind: `${INFRA}network` } })).status).toBe(201);
    const res = await call(base, 'POST', '/networkinterface/', { body: example('gfd226-link.json') });
    expect(res.status).toBe(400);
    expect(pointers(res)).toContain('/attributes/occi.infrastructure.networkinterface.interface');
    await expectNothingAt('/networkinterface/urn:uuid:22fe83ae-a20f-54fc-b436-cec85c94c5e8');
  });

  it("refuses GFD.226's mixin example for its naming slip #resourcetpl", async () => {
    const res = await call(base, 'POST', '/-/', { body: { mixins: [example('gfd226-mixin.json')] } });
    expect(res.status).toBe(400);
    expect(res.text).toContain('resourcetpl');
    expect(((await call(base, 'GET', `/-/?category=${encodeURIComponent('http://example.com/template/resource#medium')}`)).json as Json).mixins).toEqual([]);
  });

  it("refuses GFD.226's kind and action examples as one bare category each: they are built in (409)", async () => {
    for (const name of ['gfd226-kind.json', 'gfd226-action.json']) {
      const res = await call(base, 'POST', '/-/', { body: example(name) });
      expect(res.status, `${name}: ${res.text}`).toBe(409);
    }
    // The built-in stop action keeps its own default.
    const stop = (await call(base, 'GET', `/-/?category=${encodeURIComponent('http://schemas.ogf.org/occi/infrastructure/compute/action#stop')}`)).json as { actions: Json[] };
    expect((stop.actions[0]!.attributes as Record<string, Json>).method!.default).toBe('poweroff');
  });

  it("refuses rOCCI-core's whole models: their categories are built in here (409), and nothing changes", async () => {
    const before = (await call(base, 'GET', '/-/')).text;
    for (const name of ['rocci-core-model.json', 'rocci-core-model.alt.json']) {
      const res = await call(base, 'POST', '/-/', { body: example(name) });
      expect([400, 409], `${name}: ${res.status} ${res.text.slice(0, 300)}`).toContain(res.status);
    }
    expect((await call(base, 'GET', '/-/')).text).toBe(before);
  });

  it("reads rOCCI-core's category identifiers as the mixins of a partial update, refusing one that does not apply", async () => {
    const res = await call(base, 'POST', '/compute/act1', { body: example('rocci-core-categories.json') });
    expect(res.status).toBe(400);
    // ipnetwork applies to networks, ipnetworkinterface to networkinterfaces.
    expect(pointers(res)).toEqual(expect.arrayContaining(['/mixins/0', '/mixins/1']));
    expect(((await call(base, 'GET', '/compute/act1')).json as Json).mixins).toEqual([]);
  });
});
