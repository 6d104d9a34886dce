import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { call, dropDatabases, fixture, freshPrefix, startTestServer } from './support/harness.ts';

type Json = Record<string, unknown>;
interface Collection {
  kinds: Json[];
  mixins: Json[];
  actions: Json[];
}

const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
const prefix = freshPrefix('qi');
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

/** Categories as an operator sees them in the ocni profile (GFD.226 plus kinds' providers). */
const OCNI = { accept: 'application/occi+json; profile=ocni' };

async function categories(query = ''): Promise<Collection> {
  const res = await call(base, 'GET', `/-/${query}`, { headers: OCNI });
  expect(res.status).toBe(200);
  return res.json as Collection;
}

function find(list: Json[], id: string): Json | undefined {
  return list.find((c) => `${String(c.scheme)}${String(c.term)}` === id);
}

describe('GET /-/ (built-in categories)', () => {
  it('lists OCCI core kinds with their attribute definitions', async () => {
    const all = await categories();
    const resource = find(all.kinds, 'http://schemas.ogf.org/occi/core#resource')!;
    expect(resource.parent).toBe('http://schemas.ogf.org/occi/core#entity');
    expect(resource.location).toBe('/resource/');
    const entity = find(all.kinds, 'http://schemas.ogf.org/occi/core#entity')!;
    expect(entity.location).toBeUndefined();
    expect((entity.attributes as Json)['occi.core.id']).toMatchObject({ type: 'string', mutable: false, required: true });
  });

  it('lists every infrastructure kind with location, parent, actions and attributes', async () => {
    const all = await categories();
    const compute = find(all.kinds, `${INFRA}compute`)!;
    expect(compute).toMatchObject({ location: '/compute/', parent: 'http://schemas.ogf.org/occi/core#resource' });
    expect(compute.actions).toEqual(expect.arrayContaining(['start', 'stop', 'restart', 'suspend', 'save'].map((t) => `${INFRA.slice(0, -1)}/compute/action#${t}`)));
    expect((compute.attributes as Json)['occi.compute.state']).toMatchObject({ mutable: false, required: true, default: 'inactive' });
    for (const term of ['storage', 'network', 'storagelink', 'networkinterface']) expect(find(all.kinds, `${INFRA}${term}`)?.location).toBe(`/${term}/`);
    expect(find(all.kinds, `${INFRA}networkinterface`)?.parent).toBe('http://schemas.ogf.org/occi/core#link');
  });

  it('lists infrastructure actions with their parameters', async () => {
    const all = await categories();
    const stop = find(all.actions, 'http://schemas.ogf.org/occi/infrastructure/compute/action#stop')!;
    expect((stop.attributes as Json).method).toMatchObject({ type: 'string', default: 'poweroff', pattern: { enum: ['graceful', 'acpioff', 'poweroff'] } });
    expect(find(all.actions, 'http://schemas.ogf.org/occi/infrastructure/network/action#up')).toBeDefined();
    expect(find(all.actions, 'http://schemas.ogf.org/occi/infrastructure/storage/action#online')).toBeDefined();
  });

  it('lists the infrastructure mixins and the CRTP resource templates', async () => {
    const all = await categories();
    expect(find(all.mixins, 'http://schemas.ogf.org/occi/infrastructure/network#ipnetwork')?.applies).toEqual([`${INFRA}network`]);
    expect(find(all.mixins, `${INFRA}os_tpl`)).toBeDefined();
    expect(find(all.mixins, 'http://schemas.ogf.org/occi/infrastructure/credentials#ssh_key')).toBeDefined();
    const medium = find(all.mixins, 'http://schemas.ogf.org/occi/infrastructure/compute/template/1.1#medium')!;
    expect(medium.depends).toEqual([`${INFRA}resource_tpl`]);
    expect((medium.attributes as Json)['occi.compute.cores']).toMatchObject({ default: 2 });
  });

  it('shows kind providers to operators', async () => {
    const all = await categories();
    expect(find(all.kinds, `${INFRA}compute`)?.provider).toEqual({ local: ['local'], remote: [] });
  });

  it('is mirrored at /.well-known/org/ogf/occi/-/', async () => {
    const a = await call(base, 'GET', '/-/');
    const b = await call(base, 'GET', '/.well-known/org/ogf/occi/-/');
    expect(b.status).toBe(200);
    expect(b.json).toEqual(a.json);
  });

  it('marks every response with Server and Vary', async () => {
    const res = await call(base, 'GET', '/-/');
    expect(res.headers.get('server')).toMatch(/^ocni\/\d+\.\d+\.\d+ OCCI\/1\.2$/);
    expect(res.headers.get('vary')).toContain('Accept');
    expect(res.headers.get('content-type')).toContain('application/occi+json');
  });
});

describe('GET /-/ filtering', () => {
  it('filters by ?category, ?class and ?scheme with conjunctive semantics', async () => {
    const one = await categories(`?category=${encodeURIComponent(`${INFRA}compute`)}`);
    expect(one.kinds.map((k) => k.term)).toEqual(['compute']);
    expect(one.mixins).toEqual([]);
    expect(one.actions).toEqual([]);
    const actions = await categories(`?class=action&scheme=${encodeURIComponent('http://schemas.ogf.org/occi/infrastructure/compute/action#')}`);
    expect(actions.actions.map((a) => a.term).sort()).toEqual(['restart', 'save', 'start', 'stop', 'suspend']);
    expect(actions.kinds).toEqual([]);
  });

  it('refuses an unknown ?class', async () => {
    const res = await call(base, 'GET', '/-/?class=thing');
    expect(res.status).toBe(400);
    expect((res.json as Json).errors).toEqual([{ pointer: '?class', detail: 'must be kind, mixin or action' }]);
  });

  it('filters with a JSON body: every given field must match (subset semantics)', async () => {
    const hit = await call(base, 'GET', '/-/', { body: { kinds: [{ term: 'compute', scheme: INFRA }] } });
    expect((hit.json as Collection).kinds.map((k) => k.term)).toEqual(['compute']);
    const miss = await call(base, 'GET', '/-/', { body: { kinds: [{ term: 'compute', title: 'WRONG' }] } });
    expect((miss.json as Collection).kinds).toEqual([]);
    const byAttribute = await call(base, 'GET', '/-/', { body: { kinds: [{ attributes: { 'occi.storage.size': { required: true } } }] } });
    expect((byAttribute.json as Collection).kinds.map((k) => k.term)).toEqual(['storage']);
    const nested = await call(base, 'GET', '/-/', { body: { kinds: [{ attributes: { occi: { network: { vlan: { type: 'number' } } } } }] } });
    expect((nested.json as Collection).kinds.map((k) => k.term)).toEqual(['network']);
  });

  it('refuses a filter with unknown members, naming them', async () => {
    const res = await call(base, 'GET', '/-/', { body: { kinds: [{ colour: 'red' }] } });
    expect(res.status).toBe(400);
    expect((res.json as Json).errors).toEqual([{ pointer: '/kinds/0/colour', detail: 'is not allowed here' }]);
  });
});

describe('the pyOCNI HowTo §4.1, from fixture files', () => {
  it('adds, filters, updates, re-routes and deletes categories', async () => {
    const post = await call(base, 'POST', '/-/', { raw: fixture('pyocni/post_categories.json') });
    expect(post.status).toBe(200);
    const added = post.json as Collection;
    expect(added.kinds.map((k) => k.term)).toEqual(['vm']);
    const vm = added.kinds[0]!;
    expect(vm.parent).toBe('http://schemas.ogf.org/occi/core#resource');
    // pyOCNI's nested definitions are flattened; pyOCNI's regex and bounds become a JSON Schema.
    expect((vm.attributes as Json)['com.example.vm.hostname']).toMatchObject({
      type: 'string',
      mutable: true,
      pattern: { type: 'string', minLength: 1, maxLength: 255 },
    });
    expect((vm.attributes as Json)['com.example.vm.state']).toMatchObject({ mutable: false, default: 'inactive' });

    const filtered = await call(base, 'GET', '/-/', { raw: fixture('pyocni/filter_categories.json') });
    expect(filtered.status).toBe(200);
    const hits = filtered.json as Collection;
    expect(hits.actions.map((a) => `${String(a.scheme)}${String(a.term)}`)).toEqual(['http://example.com/occi/ocni/vm/action#stop']);
    expect(hits.kinds).toEqual([]);
    expect(hits.mixins).toEqual([]);

    const put = await call(base, 'PUT', '/-/', { raw: fixture('pyocni/put_categories.json') });
    expect(put.status).toBe(200);
    const medium = find((await categories()).mixins, 'http://example.com/template/resource#medium')!;
    expect(medium.title).toBe('MediumVM');
    expect(Object.keys(medium.attributes as Json).sort()).toEqual(['occi.compute.cores', 'occi.compute.memory', 'occi.compute.speed']);

    const provider = await call(base, 'PUT', '/-/', { raw: fixture('pyocni/update_provider.json'), headers: OCNI });
    expect(provider.status).toBe(200);
    expect(find((provider.json as Collection).kinds, `${INFRA}compute`)?.provider).toEqual({ local: ['local'], remote: [] });

    const del = await call(base, 'DELETE', '/-/', { raw: fixture('pyocni/delete_categories.json') });
    expect(del.status).toBe(200);
    expect(find((await categories()).kinds, 'http://example.com/occi/ocni#vm')).toBeUndefined();
    // The actions it used are still there, and can go now that nothing refers to them.
    const actions = await call(base, 'DELETE', '/-/', { body: { actions: ['http://example.com/occi/ocni/vm/action#start', 'http://example.com/occi/ocni/vm/action#stop'] } });
    expect(actions.status).toBe(200);
    const mixin = await call(base, 'DELETE', '/-/', { body: { mixins: [{ term: 'medium', scheme: 'http://example.com/template/resource#' }] } });
    expect(mixin.status).toBe(200);
  });
});

describe('POST /-/', () => {
  it('accepts OCCI 1.2 flat definitions and rejects duplicates with 409', async () => {
    const body = {
      mixins: [
        {
          term: 'tag1',
          scheme: 'http://example.com/tags#',
          location: '/tags/tag1/',
          attributes: { 'com.example.note': { type: 'string', mutable: true, required: false, description: 'a note' } },
        },
      ],
    };
    const first = await call(base, 'POST', '/-/', { body });
    expect(first.status).toBe(200);
    expect(((first.json as Collection).mixins[0]!.attributes as Json)['com.example.note']).toEqual({ type: 'string', mutable: true, required: false, description: 'a note' });
    const again = await call(base, 'POST', '/-/', { body });
    expect(again.status).toBe(409);
    expect((again.json as Json).errors).toEqual(expect.arrayContaining([{ pointer: '/mixins/0/term', detail: 'category "http://example.com/tags#tag1" already exists' }]));
    const sameLocation = await call(base, 'POST', '/-/', { body: { mixins: [{ term: 'tag2', scheme: 'http://example.com/tags#', location: '/tags/tag1/' }] } });
    expect(sameLocation.status).toBe(409);
    expect((sameLocation.json as Json).detail).toContain('already used');
  });

  it('answers 409 for the seed payload that re-adds the built-in compute kind', async () => {
    const res = await call(base, 'POST', '/-/', { raw: fixture('bad/post_categories_builtin_compute.json') });
    expect(res.status).toBe(409);
    expect((res.json as Json).detail).toContain('already exists');
  });

  it('rejects the seed typo "http: //" in a scheme with a pointer to it', async () => {
    const res = await call(base, 'PUT', '/-/', { raw: fixture('bad/put_categories_scheme_typo.json') });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const errors = (res.json as { errors: { pointer: string; detail: string }[] }).errors;
    expect(errors[0]!.pointer).toBe('/mixins/0/scheme');
    expect(errors[0]!.detail).toContain("ending in '#'");
  });

  it('rejects an unknown parent with 400 and stores nothing', async () => {
    const res = await call(base, 'POST', '/-/', { raw: fixture('bad/post_categories_unknown_parent.json') });
    expect(res.status).toBe(400);
    expect((res.json as Json).errors).toEqual([{ pointer: '/kinds/0/parent', detail: 'parent kind "http://example.com/occi/net#device" does not exist' }]);
    expect(find((await categories()).kinds, 'http://example.com/occi/net#router')).toBeUndefined();
  });

  it('rejects a default that breaks its own pattern', async () => {
    const res = await call(base, 'POST', '/-/', { raw: fixture('bad/post_categories_bad_default.json') });
    expect(res.status).toBe(400);
    expect((res.json as { errors: { pointer: string }[] }).errors[0]!.pointer).toBe('/mixins/0/attributes/com.example.sla.level/default');
  });

  it('applies a request whole or not at all', async () => {
    const res = await call(base, 'POST', '/-/', {
      body: {
        kinds: [{ term: 'fw', scheme: 'http://example.com/net#', location: '/fw/', actions: ['http://example.com/net/fw/action#reload'] }],
        actions: [{ term: 'reload', scheme: 'http://example.com/net/fw/action#' }],
        mixins: [{ term: 'bad', scheme: 'http://example.com/net#', location: 'no-slash' }],
      },
    });
    expect(res.status).toBe(400);
    expect((res.json as { errors: { pointer: string }[] }).errors[0]!.pointer).toBe('/mixins/0/location');
    const all = await categories();
    expect(find(all.kinds, 'http://example.com/net#fw')).toBeUndefined();
    expect(find(all.actions, 'http://example.com/net/fw/action#reload')).toBeUndefined();
  });

  it('lets a request define a kind, its parent and its actions together', async () => {
    const res = await call(base, 'POST', '/-/', {
      body: {
        kinds: [
          { term: 'device', scheme: 'http://example.com/net#', location: '/device/' },
          { term: 'switch', scheme: 'http://example.com/net#', parent: 'http://example.com/net#device', location: '/switch/', actions: ['http://example.com/net/switch/action#reboot'] },
        ],
        actions: [{ term: 'reboot', scheme: 'http://example.com/net/switch/action#' }],
      },
    });
    expect(res.status).toBe(200);
    expect(find((await categories()).kinds, 'http://example.com/net#switch')?.parent).toBe('http://example.com/net#device');
  });

  it('refuses a kind that does not descend from resource or link', async () => {
    const res = await call(base, 'POST', '/-/', { body: { kinds: [{ term: 'odd', scheme: 'http://example.com/x#', parent: 'http://schemas.ogf.org/occi/core#entity', location: '/odd/' }] } });
    expect(res.status).toBe(400);
    expect((res.json as Json).detail).toContain('must descend from');
  });

  it('refuses reserved and malformed locations', async () => {
    for (const location of ['/-/', '/.well-known/x/', '/a/../b/', 'relative/']) {
      const res = await call(base, 'POST', '/-/', { body: { mixins: [{ term: 'loc', scheme: 'http://example.com/loc#', location }] } });
      expect(res.status, location).toBe(400);
      expect((res.json as { errors: { pointer: string }[] }).errors[0]!.pointer).toBe('/mixins/0/location');
    }
  });

  it('answers 400 with the position for malformed JSON and stores nothing', async () => {
    const res = await call(base, 'POST', '/-/', { raw: fixture('bad/malformed.json') });
    expect(res.status).toBe(400);
    expect((res.json as Json).code).toBe('parse');
    expect((res.json as Json).detail).toMatch(/line 1, column \d+/);
  });

  it('answers 415 for a body that is not application/occi+json (curl -d without -H)', async () => {
    const res = await call(base, 'POST', '/-/', { raw: fixture('pyocni/post_categories.json'), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(415);
    expect((res.json as Json).detail).toContain('application/occi+json');
  });

  it('answers 400 when the body is missing or empty', async () => {
    expect((await call(base, 'POST', '/-/')).status).toBe(400);
    expect((await call(base, 'POST', '/-/', { body: {} })).status).toBe(400);
  });

  it('answers 413 for a body over the configured limit', async () => {
    const huge = { mixins: [{ term: 'big', scheme: 'http://example.com/big#', location: '/big/', title: 'x'.repeat(2_000_000) }] };
    const res = await call(base, 'POST', '/-/', { body: huge });
    expect(res.status).toBe(413);
  });
});

describe('PUT and DELETE /-/', () => {
  it('answers 403 for changes to built-in categories and 404 for unknown ones', async () => {
    const builtin = await call(base, 'PUT', '/-/', { body: { kinds: [{ term: 'compute', scheme: INFRA, title: 'Mine now' }] } });
    expect(builtin.status).toBe(403);
    const unknown = await call(base, 'PUT', '/-/', { body: { kinds: [{ term: 'nope', scheme: 'http://example.com/none#', title: 'x' }] } });
    expect(unknown.status).toBe(404);
    const deleteBuiltin = await call(base, 'DELETE', '/-/', { body: { kinds: [`${INFRA}compute`] } });
    expect(deleteBuiltin.status).toBe(403);
    const deleteUnknown = await call(base, 'DELETE', '/-/', { body: { mixins: ['http://example.com/none#x'] } });
    expect(deleteUnknown.status).toBe(404);
    expect(find((await categories()).kinds, `${INFRA}compute`)?.title).toBe('Compute Resource');
  });

  it('refuses a provider naming a backend that is not configured', async () => {
    const res = await call(base, 'PUT', '/-/', { body: { providers: [{ OCCI_ID: `${INFRA}compute`, Provider: { local: ['dummy'], remote: ['Bilel'] } }] } });
    expect(res.status).toBe(400);
    expect((res.json as { errors: { pointer: string; detail: string }[] }).errors.map((e) => e.pointer)).toEqual(['/providers/0/provider/local/0', '/providers/0/provider/remote/0']);
    expect(find((await categories()).kinds, `${INFRA}compute`)?.provider).toEqual({ local: ['local'], remote: [] });
  });

  it('refuses to change a location, and to delete a category others still use', async () => {
    await call(base, 'POST', '/-/', {
      body: {
        mixins: [
          { term: 'base', scheme: 'http://example.com/dep#', location: '/dep/base/' },
          { term: 'child', scheme: 'http://example.com/dep#', depends: ['http://example.com/dep#base'], location: '/dep/child/' },
        ],
      },
    });
    const move = await call(base, 'PUT', '/-/', { body: { mixins: [{ term: 'base', scheme: 'http://example.com/dep#', location: '/elsewhere/' }] } });
    expect(move.status).toBe(400);
    const used = await call(base, 'DELETE', '/-/', { body: { mixins: ['http://example.com/dep#base'] } });
    expect(used.status).toBe(409);
    expect((used.json as Json).detail).toContain('http://example.com/dep#child');
    const both = await call(base, 'DELETE', '/-/', { body: { mixins: ['http://example.com/dep#child', 'http://example.com/dep#base'] } });
    expect(both.status).toBe(200);
    // The freed location can be used again.
    const reuse = await call(base, 'POST', '/-/', { body: { mixins: [{ term: 'again', scheme: 'http://example.com/dep#', location: '/dep/base/' }] } });
    expect(reuse.status).toBe(200);
  });
});

describe('HTTP errors', () => {
  it('answers 404 for an unknown path and 405 with Allow for a wrong method', async () => {
    const missing = await call(base, 'GET', '/no/such/thing');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    const wrong = await call(base, 'PATCH', '/-/');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toContain('GET');
  });

  it('answers 406 when nothing acceptable is offered and honours q-values', async () => {
    const none = await call(base, 'GET', '/-/', { headers: { accept: 'image/png' } });
    expect(none.status).toBe(406);
    const q = await call(base, 'GET', '/-/', { headers: { accept: 'application/json;q=0.9, image/png;q=1' } });
    expect(q.status).toBe(200);
    expect(q.headers.get('content-type')).toContain('application/json');
    const any = await call(base, 'GET', '/-/', { headers: { accept: '*/*' } });
    expect(any.headers.get('content-type')).toContain('application/occi+json');
  });
});
