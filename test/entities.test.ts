import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { call as callOcci, dropDatabases, fixture, freshPrefix, startTestServer } from './support/harness.ts';

/**
 * These tests read entities' locations, an ocni extension of GFD.226: they ask for the `ocni`
 * profile unless they name another (the default output is checked in test/conformance/).
 */
const call: typeof callOcci = (b, method, path, options = {}) => callOcci(b, method, path, { ...options, headers: { accept: 'application/occi+json; profile=ocni', ...options.headers } });

type Json = Record<string, unknown>;
const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
const COMPUTE = `${INFRA}compute`;
const ACTION = 'http://schemas.ogf.org/occi/infrastructure/compute/action#';
const MEDIUM = 'http://example.com/template/resource#medium';

const prefix = freshPrefix('ent');
let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await startTestServer({ prefix, overrides: { limits: { pageSizeMax: 50, pageSizeDefault: 20, itemsPerRequest: 100 } } });
  base = server.url;
  expect((await call(base, 'POST', '/-/', { raw: fixture('pyocni/post_categories.json') })).status).toBe(200);
});
afterAll(async () => {
  await server.close();
  await dropDatabases(prefix);
});

function attrs(body: unknown): Json {
  return (body as { attributes: Json }).attributes;
}

function locations(body: unknown): string[] {
  const b = body as { resources?: Json[]; links?: Json[] };
  return [...(b.resources ?? []), ...(b.links ?? [])].map((e) => new URL(String(e.location)).pathname).sort();
}

async function compute(id: string, attributes: Json = {}, extra: Json = {}): Promise<Json> {
  const res = await call(base, 'POST', '/compute/', { body: { kind: COMPUTE, id, attributes, ...extra } });
  expect(res.status, res.text).toBe(201);
  return res.json as Json;
}

describe('the pyOCNI HowTo §4.2–4.4, from fixture files', () => {
  it('creates many, filters, acts on a collection, associates, replaces and dissociates mixin members', async () => {
    const created = await call(base, 'POST', '/compute/', { raw: fixture('pyocni/post_resources.json') });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${base}/compute/vm1`);
    expect(locations(created.json)).toEqual(['/compute/vm1', '/compute/vm2', '/compute/vm3']);

    const all = await call(base, 'GET', '/compute/');
    expect(locations(all.json)).toEqual(['/compute/vm1', '/compute/vm2', '/compute/vm3']);
    const vm1 = (all.json as { resources: Json[] }).resources[0]!;
    // Omitted attributes take their declared defaults (pyOCNI stored the string "None").
    expect(attrs(vm1)).toMatchObject({ 'occi.compute.cores': 2, 'occi.compute.speed': 2, 'occi.compute.state': 'inactive', 'occi.compute.architecture': 'x64' });

    const filtered = await call(base, 'GET', '/compute/', { raw: fixture('pyocni/get_resources.json') });
    expect(filtered.status).toBe(200);
    expect(locations(filtered.json)).toEqual(['/compute/vm1', '/compute/vm2']);

    const started = await call(base, 'POST', '/compute/?action=start', { raw: fixture('pyocni/trigger_action.json') });
    expect(started.status).toBe(200);
    for (const id of ['vm1', 'vm2', 'vm3']) expect(attrs((await call(base, 'GET', `/compute/${id}`)).json)['occi.compute.state']).toBe('active');

    const medium = '/template/resource/medium/';
    expect((await call(base, 'POST', medium, { raw: fixture('pyocni/associate_mixins.json') })).status).toBe(200);
    expect(locations((await call(base, 'GET', medium)).json)).toEqual(['/compute/vm1', '/compute/vm2', '/compute/vm3']);
    expect((await call(base, 'PUT', medium, { raw: fixture('pyocni/update_mixins.json') })).status).toBe(200);
    expect(locations((await call(base, 'GET', medium)).json)).toEqual(['/compute/vm1', '/compute/vm2']);
    expect((await call(base, 'DELETE', medium, { raw: fixture('pyocni/dissociate_mixins.json') })).status).toBe(200);
    expect(locations((await call(base, 'GET', medium)).json)).toEqual(['/compute/vm1']);
    expect(((await call(base, 'GET', '/compute/vm2')).json as Json).mixins).toEqual([]);
  });

  it('creates at a custom URL, reads, replaces, updates partially, acts and deletes one resource', async () => {
    const put = await call(base, 'PUT', '/compute/9930', { raw: fixture('pyocni/post_custom_resource.json') });
    expect(put.status).toBe(201);
    expect(put.headers.get('location')).toBe(`${base}/compute/9930`);
    const got = await call(base, 'GET', '/compute/9930');
    expect(got.status).toBe(200);
    expect(got.headers.get('etag')).toMatch(/^"\d+-/);
    expect(got.json).toMatchObject({ kind: COMPUTE, mixins: [MEDIUM], id: '9930', title: 'Compute resource', summary: 'This is a compute resource' });
    // Client-sent actions are ignored; the applicable ones are computed from kind and state.
    expect((got.json as Json).actions).toEqual([`${ACTION}start`]);
    expect(attrs(got.json)['occi.compute.cores']).toBe(12);

    const full = await call(base, 'PUT', '/compute/9930', { raw: fixture('pyocni/full_update_resource.json') });
    expect(full.status).toBe(200);
    expect(attrs(full.json)['occi.compute.cores']).toBe(8);
    expect((full.json as Json).title).toBe('Compute resource, replaced');

    const partial = await call(base, 'POST', '/compute/9930', { raw: fixture('pyocni/partial_update_resource.json') });
    expect(partial.status).toBe(200);
    expect(attrs(partial.json)).toMatchObject({ 'occi.compute.speed': 5, 'occi.compute.cores': 2, 'occi.compute.memory': 4 });

    const acted = await call(base, 'POST', '/compute/9930?action=start', { raw: fixture('pyocni/action_on_resource.json') });
    expect(acted.status).toBe(200);
    expect(attrs(acted.json)['occi.compute.state']).toBe('active');

    expect((await call(base, 'DELETE', '/compute/9930')).status).toBe(204);
    expect((await call(base, 'GET', '/compute/9930')).status).toBe(404);
  });

  it('lists and deletes everything below a path', async () => {
    for (const id of ['a', 'b']) expect((await call(base, 'PUT', `/users/alice/${id}`, { raw: fixture('pyocni/post_custom_resource.json') })).status).toBe(201);
    expect((await call(base, 'PUT', '/users/bob/c', { raw: fixture('pyocni/post_custom_resource.json') })).status).toBe(201);
    expect(locations((await call(base, 'GET', '/users/alice/')).json)).toEqual(['/users/alice/a', '/users/alice/b']);
    expect(locations((await call(base, 'GET', '/users/')).json)).toEqual(['/users/alice/a', '/users/alice/b', '/users/bob/c']);
    // They are computes: the kind collection holds them too, wherever they live.
    expect(locations((await call(base, 'GET', '/compute/')).json)).toEqual(expect.arrayContaining(['/users/alice/a', '/users/bob/c']));
    expect((await call(base, 'DELETE', '/users/alice/')).status).toBe(204);
    expect(locations((await call(base, 'GET', '/users/')).json)).toEqual(['/users/bob/c']);
    expect((await call(base, 'POST', '/users/', { body: { kind: COMPUTE } })).status).toBe(405);
  });
});

describe('OCCI 1.2 JSON renderings', () => {
  it('creates a resource with an inline link, renders the link inside, and deletes links with their resource', async () => {
    const storage = await call(base, 'POST', '/storage/', { body: { kind: `${INFRA}storage`, id: 'disk1', attributes: { 'occi.storage.size': 10 } } });
    expect(storage.status).toBe(201);
    const res = await call(base, 'POST', '/compute/', {
      body: {
        kind: COMPUTE,
        id: 'linked',
        title: 'with a disk',
        links: [{ kind: `${INFRA}storagelink`, id: 'sl1', target: { location: '/storage/disk1', kind: `${INFRA}storage` }, attributes: { 'occi.storagelink.deviceid': 'ide:0:1' } }],
      },
    });
    expect(res.status, res.text).toBe(201);
    const got = await call(base, 'GET', '/compute/linked');
    const links = (got.json as { links: Json[] }).links;
    expect(links).toHaveLength(1);
    expect(links[0]).toMatchObject({
      kind: `${INFRA}storagelink`,
      id: 'sl1',
      source: { location: `${base}/compute/linked` },
      target: { location: `${base}/storage/disk1`, kind: `${INFRA}storage` },
      attributes: { 'occi.storagelink.deviceid': 'ide:0:1', 'occi.storagelink.state': 'inactive' },
    });
    expect((await call(base, 'GET', '/storagelink/sl1')).status).toBe(200);
    expect((await call(base, 'DELETE', '/compute/linked')).status).toBe(204);
    expect((await call(base, 'GET', '/storagelink/sl1')).status).toBe(404);
    expect((await call(base, 'GET', '/storage/disk1')).status).toBe(200);
  });

  it('creates a standalone link whose source must exist and whose target may be external', async () => {
    await compute('src1');
    const ok = await call(base, 'POST', '/networkinterface/', {
      body: {
        kind: `${INFRA}networkinterface`,
        id: 'ni1',
        source: { location: '/compute/src1' },
        target: { location: 'http://elsewhere.example/network/n1' },
        attributes: { 'occi.networkinterface.interface': 'eth0', 'occi.networkinterface.mac': '00:11:22:33:44:55' },
      },
    });
    expect(ok.status, ok.text).toBe(201);
    expect((ok.json as Json).target).toEqual({ location: 'http://elsewhere.example/network/n1' });
    const noSource = await call(base, 'POST', '/networkinterface/', {
      body: {
        kind: `${INFRA}networkinterface`,
        source: '/compute/none',
        target: '/compute/src1',
        attributes: { 'occi.networkinterface.interface': 'eth1', 'occi.networkinterface.mac': '00:11:22:33:44:56' },
      },
    });
    expect(noSource.status).toBe(400);
    expect((noSource.json as Json).detail).toContain('/compute/none does not exist');
    // A link's interface is immutable: it can be set at creation, not changed.
    const change = await call(base, 'POST', '/networkinterface/ni1', { body: { attributes: { 'occi.networkinterface.interface': 'eth9' } } });
    expect(change.status).toBe(403);
  });

  it('generates time-ordered ids when none is given', async () => {
    const a = await call(base, 'POST', '/compute/', { body: { kind: COMPUTE } });
    const b = await call(base, 'POST', '/compute/', { body: { kind: COMPUTE } });
    const ida = String((a.json as Json).id);
    const idb = String((b.json as Json).id);
    expect(ida).toMatch(/^[0-9a-f]{12}-/);
    expect(ida < idb).toBe(true);
  });

  it('renders the pyOCNI profile on request', async () => {
    await compute('py1', { 'occi.compute.cores': 3 });
    const one = await call(base, 'GET', '/compute/py1', { headers: { accept: 'application/occi+json; profile=pyocni' } });
    const resource = (one.json as { resources: Json[] }).resources[0]!;
    expect((resource.attributes as { occi: { compute: Json } }).occi.compute.cores).toBe(3);
    expect(resource.actions).toEqual([{ title: 'Start the system', href: '/compute/py1?action=start', category: `${ACTION}start` }]);
    const list = await call(base, 'GET', '/compute/?attribute=occi.compute.cores&value=3', { headers: { accept: 'application/occi+json;profile=pyocni' } });
    expect(list.json).toEqual({ 'X-OCCI-Location': [`${base}/compute/py1`] });
  });
});

describe('validation', () => {
  it.each([
    ['an unknown attribute', { kind: COMPUTE, attributes: { 'occi.compute.colour': 'red' } }, '/attributes/occi.compute.colour'],
    ['a value of the wrong type', { kind: COMPUTE, attributes: { 'occi.compute.cores': 'two' } }, '/attributes/occi.compute.cores'],
    ['a value outside its pattern', { kind: COMPUTE, attributes: { 'occi.compute.architecture': 'arm' } }, '/attributes/occi.compute.architecture'],
    ['a nested value of the wrong type', { kind: COMPUTE, attributes: { occi: { compute: { memory: true } } } }, '/attributes/occi/compute/memory'],
    ['an unknown mixin', { kind: COMPUTE, mixins: ['http://example.com/none#x'] }, '/mixins/0'],
    ['a mixin that does not apply', { kind: COMPUTE, mixins: ['http://schemas.ogf.org/occi/infrastructure/network#ipnetwork'] }, '/mixins/0'],
    ['an id with a slash', { kind: COMPUTE, id: 'a/b' }, '/id'],
    ['an unknown kind', { kind: 'http://example.com/none#thing' }, '/kind'],
  ])('refuses %s with 400 and a pointer', async (_label, body, pointer) => {
    const res = await call(base, 'POST', '/compute/', { body });
    expect(res.status, res.text).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect((res.json as { errors: { pointer: string }[] }).errors.map((e) => e.pointer)).toContain(pointer);
  });

  it('refuses a resource missing a required attribute', async () => {
    const res = await call(base, 'POST', '/storage/', { body: { kind: `${INFRA}storage` } });
    expect(res.status).toBe(400);
    expect((res.json as Json).detail).toContain('"occi.storage.size" is required');
  });

  it("refuses a kind posted to another kind's collection", async () => {
    const res = await call(base, 'POST', '/compute/', { body: { kind: `${INFRA}network` } });
    expect(res.status).toBe(400);
    expect((res.json as { errors: { pointer: string }[] }).errors[0]!.pointer).toBe('/kind');
  });

  it('creates many all or nothing: one bad item names itself and nothing is stored', async () => {
    const res = await call(base, 'POST', '/compute/', {
      body: {
        resources: [
          { kind: COMPUTE, id: 'many1' },
          { kind: COMPUTE, id: 'many2', attributes: { 'occi.compute.cores': -1 } },
          { kind: COMPUTE, id: 'many3' },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect((res.json as { errors: { pointer: string }[] }).errors[0]!.pointer).toBe('/resources/1/attributes/occi.compute.cores');
    for (const id of ['many1', 'many2', 'many3']) expect((await call(base, 'GET', `/compute/${id}`)).status).toBe(404);
  });

  it('gives every item of one creation the defaults of its nearest mixin, whatever other mixins the items carry', async () => {
    const scheme = 'http://example.com/nearest#';
    const defined = await call(base, 'POST', '/-/', {
      body: {
        mixins: [
          { term: 'base', scheme, location: '/nearest/base/', attributes: { 'com.example.size': { type: 'number', default: 1 } } },
          { term: 'child', scheme, depends: [`${scheme}base`], location: '/nearest/child/', attributes: { 'com.example.size': { type: 'number', default: 2 } } },
          { term: 'other', scheme, location: '/nearest/other/' },
        ],
      },
    });
    expect(defined.status).toBe(200);
    // Two combinations sharing the mixin with a dependency, in one request (one category lookup).
    const res = await call(base, 'POST', '/compute/', {
      body: {
        resources: [
          { kind: COMPUTE, id: 'nearest1', mixins: [`${scheme}child`] },
          { kind: COMPUTE, id: 'nearest2', mixins: [`${scheme}child`, `${scheme}other`] },
          { kind: COMPUTE, id: 'nearest3', mixins: [`${scheme}other`, `${scheme}child`] },
        ],
      },
    });
    expect(res.status).toBe(201);
    for (const id of ['nearest1', 'nearest2', 'nearest3']) {
      expect(((await call(base, 'GET', `/compute/${id}`)).json as { attributes: Json }).attributes['com.example.size']).toBe(2);
    }
  });

  it('answers 409 for an id that exists, and stores none of the batch', async () => {
    await compute('taken');
    const res = await call(base, 'POST', '/compute/', {
      body: {
        resources: [
          { kind: COMPUTE, id: 'fresh1' },
          { kind: COMPUTE, id: 'taken' },
        ],
      },
    });
    expect(res.status).toBe(409);
    expect((await call(base, 'GET', '/compute/fresh1')).status).toBe(404);
  });

  it('refuses an action that does not apply, an unknown parameter and a bad parameter value', async () => {
    await compute('act1');
    const stop = await call(base, 'POST', '/compute/act1?action=stop');
    expect(stop.status).toBe(400);
    expect((stop.json as Json).detail).toContain('does not apply');
    await call(base, 'POST', '/compute/act1?action=start');
    const unknown = await call(base, 'POST', '/compute/act1?action=stop', { body: { action: `${ACTION}stop`, attributes: { force: true } } });
    expect(unknown.status).toBe(400);
    const bad = await call(base, 'POST', '/compute/act1?action=stop', { body: { action: `${ACTION}stop`, attributes: { method: 'yank' } } });
    expect(bad.status).toBe(400);
    expect((bad.json as { errors: { pointer: string }[] }).errors[0]!.pointer).toBe('/attributes/method');
    const noSuch = await call(base, 'POST', '/compute/act1?action=fly');
    expect(noSuch.status).toBe(400);
    const ok = await call(base, 'POST', '/compute/act1?action=stop', { body: { action: `${ACTION}stop`, attributes: { method: 'graceful' } } });
    expect(ok.status).toBe(200);
    expect(attrs(ok.json)['occi.compute.state']).toBe('inactive');
  });

  it('keeps immutable attributes on update and refuses a kind change', async () => {
    await compute('imm');
    expect((await call(base, 'POST', '/compute/imm', { body: { attributes: { 'occi.compute.state': 'active' } } })).status).toBe(403);
    expect((await call(base, 'PUT', '/compute/imm', { body: { kind: `${INFRA}network` } })).status).toBe(400);
  });

  it('answers 404 for a missing entity on every verb', async () => {
    expect((await call(base, 'GET', '/compute/ghost')).status).toBe(404);
    expect((await call(base, 'POST', '/compute/ghost', { body: { title: 'x' } })).status).toBe(404);
    expect((await call(base, 'POST', '/compute/ghost?action=start')).status).toBe(404);
    expect((await call(base, 'DELETE', '/compute/ghost')).status).toBe(404);
  });
});

describe('mixins and kinds on delete', () => {
  it('deleting a mixin cleans every entity that carried it', async () => {
    expect((await call(base, 'POST', '/-/', { body: { mixins: [{ term: 'tag', scheme: 'http://example.com/clean#', location: '/clean/tag/' }] } })).status).toBe(200);
    for (const id of ['c1', 'c2', 'c3']) await compute(id, {}, { mixins: ['http://example.com/clean#tag'] });
    expect(locations((await call(base, 'GET', '/clean/tag/')).json)).toHaveLength(3);
    expect((await call(base, 'DELETE', '/-/', { body: { mixins: ['http://example.com/clean#tag'] } })).status).toBe(200);
    for (const id of ['c1', 'c2', 'c3']) expect(((await call(base, 'GET', `/compute/${id}`)).json as Json).mixins).toEqual([]);
  });

  it('refuses to delete a kind with entities unless asked to cascade', async () => {
    expect((await call(base, 'POST', '/-/', { body: { kinds: [{ term: 'box', scheme: 'http://example.com/k#', location: '/box/' }] } })).status).toBe(200);
    expect((await call(base, 'POST', '/box/', { body: { kind: 'http://example.com/k#box', id: 'b1' } })).status).toBe(201);
    expect((await call(base, 'DELETE', '/-/', { body: { kinds: ['http://example.com/k#box'] } })).status).toBe(409);
    expect((await call(base, 'DELETE', '/-/?cascade=true', { body: { kinds: ['http://example.com/k#box'] } })).status).toBe(200);
    expect((await call(base, 'GET', '/box/b1')).status).toBe(404);
  });
});

describe('filtering and paging', () => {
  beforeAll(async () => {
    for (let i = 0; i < 7; i += 1) await compute(`page${i}`, { 'occi.compute.cores': 16, 'occi.compute.hostname': `h${i}` });
  });

  it('filters by ?attribute&value and ?category', async () => {
    const res = await call(base, 'GET', '/compute/?attribute=occi.compute.cores&value=16&attribute=occi.compute.hostname&value=h3');
    expect(locations(res.json)).toEqual(['/compute/page3']);
    const byMixin = await call(base, 'GET', `/compute/?category=${encodeURIComponent(MEDIUM)}`);
    // vm1 kept the mixin through the HowTo; /users/bob/c was created from post_custom_resource.json with it.
    expect(locations(byMixin.json)).toEqual(['/compute/vm1', '/users/bob/c']);
  });

  it('pages with page/number and a next link, 413 above the maximum, empty past the end', async () => {
    const first = await call(base, 'GET', '/compute/?attribute=occi.compute.cores&value=16&number=3');
    expect(locations(first.json)).toEqual(['/compute/page0', '/compute/page1', '/compute/page2']);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')?.[1];
    expect(next).toBeDefined();
    const second = await call(base, 'GET', new URL(next!).pathname + new URL(next!).search);
    expect(locations(second.json)).toEqual(['/compute/page3', '/compute/page4', '/compute/page5']);
    const last = await call(base, 'GET', '/compute/?attribute=occi.compute.cores&value=16&number=3&page=3');
    expect(locations(last.json)).toEqual(['/compute/page6']);
    expect(last.headers.get('link')).toBeNull();
    expect(locations((await call(base, 'GET', '/compute/?number=3&page=99')).json)).toEqual([]);
    expect((await call(base, 'GET', '/compute/?number=51')).status).toBe(413);
    expect((await call(base, 'GET', '/compute/?number=zero')).status).toBe(400);
  });

  it('answers collection and filter queries from key ranges of the generic view, never Mango', async () => {
    const seen: { path: string; qs: Json }[] = [];
    const stop = server.couch.observe((r) => {
      if (r.path !== '_changes') seen.push({ path: r.path, qs: r.qs });
    });
    try {
      await call(base, 'GET', '/compute/?attribute=occi.compute.cores&value=16');
      await call(base, 'GET', '/compute/', { raw: fixture('pyocni/get_resources.json') });
    } finally {
      stop();
    }
    const listings = seen.filter((r) => r.path.endsWith('/_view/entities'));
    expect(seen.filter((r) => r.path === '_find')).toEqual([]);
    // The attribute rows of each kind the collection covers (compute, and no runtime sub-kind here);
    // of several conditions, the rows of one, the others checked on the documents read.
    expect(listings.map((r) => (r.qs.startkey as unknown[]).slice(0, 3))).toEqual([
      [COMPUTE, 'a:occi.compute.cores', 16],
      [COMPUTE, 'a:occi.compute.speed', 2],
    ]);
  });
});

describe('concurrency', () => {
  it('answers with an ETag and honours If-Match (412)', async () => {
    await compute('etag1');
    const got = await call(base, 'GET', '/compute/etag1');
    const etag = got.headers.get('etag')!;
    const stale = await call(base, 'POST', '/compute/etag1', { body: { title: 'one' }, headers: { 'if-match': etag } });
    expect(stale.status).toBe(200);
    const again = await call(base, 'POST', '/compute/etag1', { body: { title: 'two' }, headers: { 'if-match': etag } });
    expect(again.status).toBe(412);
    expect(((await call(base, 'GET', '/compute/etag1')).json as Json).title).toBe('one');
    expect((await call(base, 'GET', '/compute/etag1', { headers: { 'if-none-match': stale.headers.get('etag')! } })).status).toBe(304);
  });

  it('loses no partial update when N writers change one entity at once', async () => {
    await compute('busy');
    const writers = [
      { 'occi.compute.hostname': 'busy.example.org' },
      { 'occi.compute.cores': 4 },
      { 'occi.compute.memory': 8 },
      { 'occi.compute.speed': 3.2 },
      { 'occi.compute.share': 7 },
      { 'occi.compute.architecture': 'x86' },
    ];
    const results = await Promise.all(writers.map((attributes) => call(base, 'POST', '/compute/busy', { body: { attributes } })));
    expect(results.map((r) => r.status)).toEqual(writers.map(() => 200));
    const final = attrs((await call(base, 'GET', '/compute/busy')).json);
    for (const w of writers) expect(final).toMatchObject(w);
  });
});
