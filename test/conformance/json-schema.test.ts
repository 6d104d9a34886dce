/**
 * Conformance of the default JSON output with GFD.226: every kind of response (query interface,
 * resource, link, collections, creations, action, partial and full update, mixin collections) is
 * validated with ajv against the appendix schema as published (only the README's errata applied).
 * What ocni adds beyond GFD.226 lives in the `ocni` profile, checked here too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValidateFunction } from 'ajv';
import type { RunningServer } from '../../src/server.ts';
import { call, dropDatabases, freshPrefix, startTestServer, type TestResponse } from '../support/harness.ts';
import { appendixValidators, type AppendixDefinition } from '../support/occi-schema.ts';

type Json = Record<string, unknown>;
const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
const OCCI = { accept: 'application/occi+json' };
const OCNI = { accept: 'application/occi+json; profile=ocni' };

const prefix = freshPrefix('conf-schema');
let server: RunningServer;
let base: string;
const validators = appendixValidators();

beforeAll(async () => {
  server = await startTestServer({ prefix });
  base = server.url;
});
afterAll(async () => {
  await server.close();
  await dropDatabases(prefix);
});

/** Asserts a response body is valid against one appendix definition (and the appendix's root). */
function expectValid(res: TestResponse, definition: AppendixDefinition): Json {
  expect(res.headers.get('content-type')).toContain('application/occi+json');
  const validate: ValidateFunction = validators.definition(definition);
  const ok = validate(res.json);
  expect(ok, `${definition}: ${JSON.stringify(validate.errors?.slice(0, 3))}\n${res.text.slice(0, 600)}`).toBe(true);
  return res.json as Json;
}

async function ok(res: Promise<TestResponse>, status = 200): Promise<TestResponse> {
  const r = await res;
  expect(r.status, r.text).toBe(status);
  return r;
}

describe('the default JSON output validates against the GFD.226 appendix schema', () => {
  it('the query interface, with every built-in category and a user mixin whose default is an array', async () => {
    const added = await ok(
      call(base, 'POST', '/-/', {
        headers: OCCI,
        body: {
          mixins: [{ term: 'labels', scheme: 'http://example.com/tags#', location: '/tags/labels/', attributes: { 'com.example.labels': { type: 'array', mutable: true, default: ['a', 'b'] } } }],
        },
      }),
    );
    expectValid(added, 'model');
    const all = expectValid(await ok(call(base, 'GET', '/-/', { headers: OCCI })), 'model');
    expect((all.kinds as Json[]).length).toBeGreaterThan(5);
    // GFD.226 has no member for a kind's provider: it is shown in the ocni profile only.
    expect((all.kinds as Json[]).some((k) => 'provider' in k)).toBe(false);
    const labels = (all.mixins as Json[]).find((m) => m.term === 'labels')!;
    expect((labels.attributes as Record<string, Json>)['com.example.labels']).not.toHaveProperty('default');
    const extended = (await ok(call(base, 'GET', '/-/', { headers: OCNI }))).json as Json;
    expect((extended.kinds as Json[]).find((k) => k.term === 'compute')).toHaveProperty('provider');
    const extendedLabels = (extended.mixins as Json[]).find((m) => m.term === 'labels')!;
    expect((extendedLabels.attributes as Record<string, Json>)['com.example.labels']!.default).toEqual(['a', 'b']);
    // The mirror and a filtered listing too.
    expectValid(await ok(call(base, 'GET', '/.well-known/org/ogf/occi/-/?class=kind', { headers: OCCI })), 'model');
    // A runtime kind changed (its generation moves) and removed: the answers and the model stay GFD.226.
    const router = {
      term: 'router',
      scheme: 'http://example.com/net#',
      title: 'Router',
      parent: 'http://schemas.ogf.org/occi/core#resource',
      location: '/router/',
      attributes: { 'com.example.asn': { type: 'number', mutable: true } },
    };
    expectValid(await ok(call(base, 'POST', '/-/', { headers: OCCI, body: { kinds: [router] } })), 'model');
    expectValid(await ok(call(base, 'PUT', '/-/', { headers: OCCI, body: { kinds: [{ ...router, title: 'Edge router' }] } })), 'model');
    const changed = expectValid(await ok(call(base, 'GET', '/-/?class=kind', { headers: OCCI })), 'model');
    expect((changed.kinds as Json[]).find((k) => k.term === 'router')?.title).toBe('Edge router');
    expectValid(await ok(call(base, 'DELETE', '/-/', { headers: OCCI, body: { kinds: [{ term: 'router', scheme: 'http://example.com/net#' }] } })), 'model');
  });

  it('resources, links, their collections, creations, actions and updates', async () => {
    // Creation of one resource: the answer is its rendering.
    const vm = expectValid(
      await ok(call(base, 'POST', '/compute/', { headers: OCCI, body: { kind: `${INFRA}compute`, id: 'vm1', title: 'web', summary: 'serves', attributes: { 'occi.compute.cores': 2 } } }), 201),
      'resource',
    );
    expect(vm).not.toHaveProperty('location');
    expect(vm.attributes).toMatchObject({ 'occi.core.id': 'vm1', 'occi.core.title': 'web', 'occi.core.summary': 'serves' });
    expectValid(await ok(call(base, 'PUT', '/storage/disk1', { headers: OCCI, body: { kind: `${INFRA}storage`, attributes: { 'occi.storage.size': 10 } } }), 201), 'resource');
    expectValid(await ok(call(base, 'PUT', '/network/net1', { headers: OCCI, body: { kind: `${INFRA}network` } }), 201), 'resource');
    // Creation of a link: its rendering, with both ends' kinds.
    const link = expectValid(
      await ok(
        call(base, 'POST', '/storagelink/', {
          headers: OCCI,
          body: { kind: `${INFRA}storagelink`, id: 'sl1', source: { location: '/compute/vm1' }, target: { location: `${base}/storage/disk1` }, attributes: { 'occi.storagelink.deviceid': 'vdb' } },
        }),
        201,
      ),
      'link',
    );
    expect(link.source).toEqual({ location: `${base}/compute/vm1`, kind: `${INFRA}compute` });
    expect(link.target).toEqual({ location: `${base}/storage/disk1`, kind: `${INFRA}storage` });
    expect(link.attributes).toMatchObject({ 'occi.core.source': `${base}/compute/vm1`, 'occi.core.target': `${base}/storage/disk1` });
    await ok(
      call(base, 'POST', '/networkinterface/', {
        headers: OCCI,
        body: {
          kind: `${INFRA}networkinterface`,
          id: 'ni1',
          source: '/compute/vm1',
          target: '/network/net1',
          attributes: { 'occi.networkinterface.interface': 'eth0', 'occi.networkinterface.mac': '02:00:00:00:00:01' },
        },
      }),
      201,
    );

    const read = expectValid(await ok(call(base, 'GET', '/compute/vm1', { headers: OCCI })), 'resource');
    expect((read.links as Json[]).map((l) => l.id).sort()).toEqual(['ni1', 'sl1']);
    expectValid(await ok(call(base, 'GET', '/storagelink/sl1', { headers: OCCI })), 'link');

    // Collections: a resource collection has no `links`, a link collection no `resources`.
    const computes = expectValid(await ok(call(base, 'GET', '/compute/', { headers: OCCI })), 'resource_collection');
    expect(computes).not.toHaveProperty('links');
    expectValid(await ok(call(base, 'GET', '/storagelink/', { headers: OCCI })), 'link_collection');
    expectValid(await ok(call(base, 'GET', '/ipnetwork-nothing/', { headers: OCCI })), 'resource_collection');
    // An empty link kind's collection is a link collection.
    expect(expectValid(await ok(call(base, 'GET', '/storagelink/?page=99', { headers: OCCI })), 'link_collection')).toEqual({ links: [] });
    // A mixed listing below a path is the schema's `model`.
    await ok(call(base, 'PUT', '/users/u1/vm', { headers: OCCI, body: { kind: `${INFRA}compute` } }), 201);
    await ok(
      call(base, 'PUT', '/users/u1/sl', { headers: OCCI, body: { kind: `${INFRA}storagelink`, source: '/users/u1/vm', target: '/storage/disk1', attributes: { 'occi.storagelink.deviceid': 'vdc' } } }),
      201,
    );
    const mixed = expectValid(await ok(call(base, 'GET', '/users/', { headers: OCCI })), 'model');
    expect(Object.keys(mixed).sort()).toEqual(['links', 'resources']);

    // Several created at once: a collection.
    expectValid(
      await ok(
        call(base, 'POST', '/compute/', {
          headers: OCCI,
          body: {
            resources: [
              { kind: `${INFRA}compute`, id: 'm1' },
              { kind: `${INFRA}compute`, id: 'm2' },
            ],
          },
        }),
        201,
      ),
      'resource_collection',
    );

    // An action's answer and the update answers render the links too (GFD.223).
    const started = expectValid(
      await ok(call(base, 'POST', '/compute/vm1?action=start', { headers: OCCI, body: { action: 'http://schemas.ogf.org/occi/infrastructure/compute/action#start' } })),
      'resource',
    );
    expect((started.links as Json[]).length).toBe(2);
    const partial = expectValid(await ok(call(base, 'POST', '/compute/vm1', { headers: OCCI, body: { attributes: { 'occi.compute.cores': 4 } } })), 'resource');
    expect((partial.links as Json[]).length).toBe(2);
    const replaced = expectValid(await ok(call(base, 'PUT', '/compute/vm1', { headers: OCCI, body: { kind: `${INFRA}compute`, attributes: { 'occi.compute.cores': 1 } } })), 'resource');
    expect((replaced.links as Json[]).length).toBe(2);
    expectValid(await ok(call(base, 'POST', '/storagelink/sl1', { headers: OCCI, body: { attributes: { 'occi.storagelink.mountpoint': '/mnt' } } })), 'link');

    // Mixin collections: association and replacement answer with the collection.
    expectValid(await ok(call(base, 'POST', '/tags/labels/', { headers: OCCI, body: { 'X-OCCI-Location': ['/compute/m1', `${base}/compute/m2`] } })), 'resource_collection');
    expectValid(await ok(call(base, 'PUT', '/tags/labels/', { headers: OCCI, body: ['/compute/m1'] })), 'resource_collection');
    expectValid(await ok(call(base, 'GET', '/tags/labels/', { headers: OCCI })), 'resource_collection');
    // Collection actions answer with the changed members.
    expectValid(await ok(call(base, 'POST', '/tags/labels/?action=start', { headers: OCCI })), 'resource_collection');
  });

  it('the ocni profile adds the entity location (and stays otherwise GFD.226)', async () => {
    const res = await ok(call(base, 'GET', '/compute/vm1', { headers: OCNI }));
    const body = res.json as Json;
    expect(body.location).toBe(`${base}/compute/vm1`);
    expect((body.links as Json[])[0]!.location).toMatch(new RegExp(`^${base}/`));
    const { location: _, links, ...rest } = body;
    expect(validators.definition('resource')({ ...rest, links: (links as Json[]).map(({ location: __, ...l }) => l) })).toBe(true);
  });
});
