/**
 * The MUSTs and SHOULDs of GFD.221–229 that OCCI clients rely on, each as the request and the
 * answer the specification gives: core attributes inside `attributes` (GFD.226, rOCCI-core), link
 * ends' kinds, the GFD.223 verb rules on mixin collections and the query interface, versions and
 * advertised types, and category names an OCCI 1.1 client can read (GFD.185).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server.ts';
import { parseCategoryLine, splitHeaderValues } from '../../src/render/header-lines.ts';
import { call, dropDatabases, freshPrefix, startTestServer } from '../support/harness.ts';

type Json = Record<string, unknown>;
const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
const OCNI = { accept: 'application/occi+json; profile=ocni' };

const prefix = freshPrefix('conf-rules');
let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await startTestServer({ prefix });
  base = server.url;
  for (const [path, body] of [
    ['/compute/r1', { kind: `${INFRA}compute` }],
    ['/compute/r2', { kind: `${INFRA}compute` }],
    ['/storage/s1', { kind: `${INFRA}storage`, attributes: { 'occi.storage.size': 1 } }],
  ] as const) {
    expect((await call(base, 'PUT', path, { body })).status).toBe(201);
  }
  expect((await call(base, 'POST', '/-/', { body: { term: 'tag', scheme: 'http://example.com/tags#', location: '/tags/tag/' } })).status).toBe(200);
});
afterAll(async () => {
  await server.close();
  await dropDatabases(prefix);
});

function pointers(res: { json: unknown }): string[] {
  return ((res.json as { errors?: { pointer: string }[] }).errors ?? []).map((e) => e.pointer);
}

describe('core attributes inside attributes (GFD.226, rOCCI-core)', () => {
  it('takes occi.core.title and summary there like the members, and reads them back there', async () => {
    const res = await call(base, 'POST', '/compute/', { body: { kind: `${INFRA}compute`, attributes: { 'occi.core.id': 'core1', 'occi.core.title': 'inside', 'occi.core.summary': 'also inside' } } });
    expect(res.status, res.text).toBe(201);
    expect(res.json).toMatchObject({ id: 'core1', title: 'inside', summary: 'also inside', attributes: { 'occi.core.id': 'core1', 'occi.core.title': 'inside', 'occi.core.summary': 'also inside' } });
  });

  it('refuses a member given both ways with different values, naming the attribute', async () => {
    const title = await call(base, 'POST', '/compute/', { body: { kind: `${INFRA}compute`, title: 'outside', attributes: { 'occi.core.title': 'inside' } } });
    expect(title.status).toBe(400);
    expect(pointers(title)).toEqual(['/attributes/occi.core.title']);
    const id = await call(base, 'POST', '/compute/', { body: { kind: `${INFRA}compute`, id: 'a', attributes: { 'occi.core.id': 'b' } } });
    expect(id.status).toBe(400);
    expect(pointers(id)).toEqual(['/attributes/occi.core.id']);
    const source = await call(base, 'POST', '/storagelink/', {
      body: {
        kind: `${INFRA}storagelink`,
        source: { location: '/compute/r1' },
        target: { location: '/storage/s1' },
        attributes: { 'occi.core.source': '/compute/r2', 'occi.storagelink.deviceid': 'vdb' },
      },
    });
    expect(source.status).toBe(400);
    expect(pointers(source)).toEqual(['/attributes/occi.core.source']);
    // The same value both ways is one value; a path and this server's URL for it are the same end.
    const same = await call(base, 'POST', '/storagelink/', {
      body: {
        kind: `${INFRA}storagelink`,
        id: 'same1',
        source: { location: `${base}/compute/r1` },
        target: { location: '/storage/s1' },
        attributes: { 'occi.core.source': `${base}/compute/r1`, 'occi.core.title': 't', 'occi.storagelink.deviceid': 'vdb' },
        title: 't',
      },
    });
    expect(same.status, same.text).toBe(201);
    // An inline link's source is its resource: this server's URL for it inside attributes agrees.
    const inline = await call(base, 'POST', '/compute/', {
      body: {
        kind: `${INFRA}compute`,
        id: 'rt1',
        links: [{ kind: `${INFRA}storagelink`, target: { location: '/storage/s1' }, attributes: { 'occi.core.source': `${base}/compute/rt1`, 'occi.storagelink.deviceid': 'vde' } }],
      },
    });
    expect(inline.status, inline.text).toBe(201);
  });

  it('refuses an occi.core name that is no core attribute', async () => {
    const res = await call(base, 'POST', '/compute/', { body: { kind: `${INFRA}compute`, attributes: { 'occi.core.colour': 'red' } } });
    expect(res.status).toBe(400);
    expect(pointers(res)).toEqual(['/attributes/occi.core.colour']);
  });
});

describe("link ends' kinds (GFD.226 kinded_uri)", () => {
  it("takes a local end's kind from the entity, renders source.kind, and refuses a kind the entity does not have", async () => {
    const wrong = await call(base, 'POST', '/storagelink/', {
      body: { kind: `${INFRA}storagelink`, source: { location: '/compute/r1' }, target: { location: '/storage/s1', kind: `${INFRA}compute` }, attributes: { 'occi.storagelink.deviceid': 'vdc' } },
    });
    expect(wrong.status).toBe(400);
    expect(pointers(wrong)).toEqual(['/target/kind']);
    const parent = await call(base, 'POST', '/storagelink/', {
      body: {
        kind: `${INFRA}storagelink`,
        id: 'kinds1',
        source: { location: '/compute/r1' },
        target: { location: '/storage/s1', kind: 'http://schemas.ogf.org/occi/core#resource' },
        attributes: { 'occi.storagelink.deviceid': 'vdc' },
      },
    });
    expect(parent.status, parent.text).toBe(201);
    expect(parent.json).toMatchObject({ source: { kind: `${INFRA}compute` }, target: { kind: `${INFRA}storage` } });
    // An external target keeps the kind the client gives.
    const external = await call(base, 'POST', '/storagelink/', {
      body: {
        kind: `${INFRA}storagelink`,
        source: { location: '/compute/r1' },
        target: { location: 'http://elsewhere.example/storage/9', kind: `${INFRA}storage` },
        attributes: { 'occi.storagelink.deviceid': 'vdd' },
      },
    });
    expect(external.status).toBe(201);
    expect(external.json).toMatchObject({ target: { location: 'http://elsewhere.example/storage/9', kind: `${INFRA}storage` } });
    // Moving a link's target to a local entity takes that entity's kind; to an external one without a kind, none.
    const moved = await call(base, 'POST', '/storagelink/kinds1', { body: { target: { location: `${base}/compute/r2` } } });
    expect(moved.status, moved.text).toBe(200);
    expect((moved.json as Json).target).toEqual({ location: `${base}/compute/r2`, kind: `${INFRA}compute` });
    const away = await call(base, 'PUT', '/storagelink/kinds1', {
      body: { kind: `${INFRA}storagelink`, target: { location: 'http://elsewhere.example/x' }, attributes: { 'occi.storagelink.deviceid': 'vdc' } },
    });
    expect(away.status, away.text).toBe(200);
    expect((away.json as Json).target).toEqual({ location: 'http://elsewhere.example/x' });
    const missing = await call(base, 'POST', '/storagelink/kinds1', { body: { target: { location: '/storage/none' } } });
    expect(missing.status).toBe(400);
  });
});

describe('GFD.223 full update (PUT)', () => {
  it('accepts the rendering it read, links included, and leaves the links intact; a link the entity lacks is refused', async () => {
    expect(
      (
        await call(base, 'PUT', '/compute/put1', {
          body: { kind: `${INFRA}compute`, links: [{ kind: `${INFRA}storagelink`, id: 'put1-sl', target: { location: '/storage/s1' }, attributes: { 'occi.storagelink.deviceid': 'vdf' } }] },
        })
      ).status,
    ).toBe(201);
    const read = (await call(base, 'GET', '/compute/put1')).json as Json;
    const put = await call(base, 'PUT', '/compute/put1', { body: { ...read, title: 'again' } });
    expect(put.status, put.text).toBe(200);
    expect(put.json).toMatchObject({ title: 'again', links: [{ id: 'put1-sl' }] });
    const foreign = await call(base, 'PUT', '/compute/put1', {
      body: { kind: `${INFRA}compute`, links: [{ kind: `${INFRA}storagelink`, id: 'put1-new', target: { location: '/storage/s1' }, attributes: { 'occi.storagelink.deviceid': 'vdg' } }] },
    });
    expect(foreign.status).toBe(400);
    expect(pointers(foreign)).toEqual(['/links/0']);
    expect((await call(base, 'GET', '/storagelink/put1-new')).status).toBe(404);
  });
});

describe("server-managed state (GFD.221: immutable attributes are the server's)", () => {
  it("ignores a client's state at creation: the kind's initial state applies", async () => {
    const res = await call(base, 'POST', '/compute/', { body: { kind: `${INFRA}compute`, attributes: { 'occi.compute.state': 'active', 'occi.compute.state.message': 'trust me' } } });
    expect(res.status).toBe(201);
    expect((res.json as Json).attributes).toMatchObject({ 'occi.compute.state': 'inactive' });
    expect((res.json as { attributes: Json }).attributes).not.toHaveProperty('occi.compute.state.message');
  });
});

describe('GFD.223 on mixin collections', () => {
  it('associates and replaces from an entity collection rendering, and answers a dissociation with 200 and the collection', async () => {
    const assoc = await call(base, 'POST', '/tags/tag/', {
      body: {
        resources: [
          { kind: `${INFRA}compute`, id: 'r1' },
          { kind: `${INFRA}compute`, id: 'r2', location: `${base}/compute/r2` },
        ],
      },
      headers: OCNI,
    });
    expect(assoc.status, assoc.text).toBe(200);
    expect((assoc.json as { resources: Json[] }).resources.map((r) => r.id).sort()).toEqual(['r1', 'r2']);
    const replace = await call(base, 'PUT', '/tags/tag/', { body: { resources: [{ kind: `${INFRA}compute`, id: 'r1' }] } });
    expect(replace.status, replace.text).toBe(200);
    expect((replace.json as { resources: Json[] }).resources.map((r) => r.id)).toEqual(['r1']);
    // An association answers with the whole collection, not only what it added.
    const more = await call(base, 'POST', '/tags/tag/', { body: ['/compute/r2'] });
    expect((more.json as { resources: Json[] }).resources.map((r) => r.id).sort()).toEqual(['r1', 'r2']);
    const dissociate = await call(base, 'DELETE', '/tags/tag/', { body: { 'X-OCCI-Location': ['/compute/r1'] } });
    expect(dissociate.status).toBe(200);
    expect((dissociate.json as { resources: Json[] }).resources.map((r) => r.id)).toEqual(['r2']);
    const all = await call(base, 'DELETE', '/tags/tag/');
    expect(all.status).toBe(200);
    expect(all.json).toEqual({ resources: [] });
  });
});

describe('GFD.223 on the query interface', () => {
  it('adds and removes one bare mixin rendering (no envelope)', async () => {
    const mixin = { term: 'bare', scheme: 'http://example.com/bare#', depends: [`${INFRA}os_tpl`], location: '/bare/' };
    const added = await call(base, 'POST', '/-/', { body: mixin });
    expect(added.status, added.text).toBe(200);
    expect((added.json as { mixins: Json[] }).mixins[0]).toMatchObject({ term: 'bare' });
    const removed = await call(base, 'DELETE', '/-/', { body: { term: 'bare', scheme: 'http://example.com/bare#', location: '/bare/' } });
    expect(removed.status, removed.text).toBe(200);
    // The answer lists what was removed. (A GET right after can still show it for a moment: the
    // registry may re-apply the add from the changes feed after the delete; see the report.)
    expect((removed.json as { mixins: Json[] }).mixins.map((m) => m.term)).toEqual(['bare']);
    // A bare action and a bare kind are read as such.
    const kind = await call(base, 'POST', '/-/', { body: { term: 'box', scheme: 'http://example.com/bare#', parent: 'http://schemas.ogf.org/occi/core#resource', location: '/box/' } });
    expect((kind.json as { kinds: Json[] }).kinds[0]).toMatchObject({ term: 'box' });
    const action = await call(base, 'POST', '/-/', { body: { term: 'kick', scheme: 'http://example.com/bare/action#' } });
    expect((action.json as { actions: Json[] }).actions[0]).toMatchObject({ term: 'kick' });
  });
});

describe('GFD.223 protocol rules', () => {
  it('gives every new location when several entities are created', async () => {
    const res = await call(base, 'POST', '/compute/', {
      body: {
        resources: [
          { kind: `${INFRA}compute`, id: 'many1' },
          { kind: `${INFRA}compute`, id: 'many2' },
          { kind: `${INFRA}compute`, id: 'many3' },
        ],
      },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`${base}/compute/many1`);
    expect(splitHeaderValues(res.headers.get('x-occi-location')!)).toEqual([`${base}/compute/many1`, `${base}/compute/many2`, `${base}/compute/many3`]);
  });

  it('leaves the list out of the head when it would not fit 8 KiB (the body names them all)', async () => {
    const resources = Array.from({ length: 250 }, (_v, i) => ({ kind: `${INFRA}compute`, id: `bulk-${String(i).padStart(4, '0')}` }));
    const res = await call(base, 'POST', '/compute/', { body: { resources }, headers: OCNI });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-occi-location')).toBeNull();
    expect((res.json as { resources: Json[] }).resources.map((r) => r.location)).toHaveLength(250);
  });

  it('answers 501 to a client announcing an OCCI version it does not speak, and serves 1.1 and 1.2 clients', async () => {
    const future = await call(base, 'GET', '/-/', { headers: { 'user-agent': 'someclient/1.0 OCCI/2.0' } });
    expect(future.status).toBe(501);
    expect((future.json as Json).detail).toContain('OCCI 1.1 and 1.2');
    expect((await call(base, 'GET', '/-/', { headers: { 'user-agent': 'rOCCI-cli/4.3 OCCI/1.1' } })).status).toBe(200);
    expect((await call(base, 'GET', '/-/', { headers: { 'user-agent': 'rOCCI-core/5 OCCI/1.2' } })).status).toBe(200);
  });

  it('advertises the request types it reads in Accept, on answers and refusals alike', async () => {
    for (const res of [await call(base, 'GET', '/-/'), await call(base, 'POST', '/compute/', { raw: '<x/>', headers: { 'content-type': 'application/xml' } })]) {
      expect(res.headers.get('accept')).toContain('application/occi+json');
      expect(res.headers.get('accept')).toContain('text/plain');
      expect(res.headers.get('accept')).toContain('text/occi');
    }
  });
});

describe('categories an OCCI 1.1 client can read (GFD.185)', () => {
  const TERM_1_1 = /^[a-z][a-z0-9_-]*$/;

  it('every category has a 1.1 term, and no title has a comma that breaks text/occi', async () => {
    const res = await call(base, 'GET', '/-/', { headers: { accept: 'text/occi' } });
    const categories = splitHeaderValues(res.headers.get('category')!).map((v) => parseCategoryLine(v));
    // Built-ins, the CRTP templates and the example OS templates (the user categories of this file are excluded).
    const shipped = categories.filter((c) => !c.scheme.startsWith('http://example.com/'));
    expect(shipped.length).toBeGreaterThan(30);
    expect(shipped.filter((c) => !TERM_1_1.test(c.term)).map((c) => c.term)).toEqual([]);
    expect(shipped.filter((c) => c.title?.includes(',')).map((c) => c.title)).toEqual([]);
  });

  it('reads a Category filter on /-/ without class leniently', async () => {
    const res = await call(base, 'GET', '/-/', { headers: { accept: 'text/plain', 'content-type': 'text/occi', category: `storage; scheme="${INFRA}"` } });
    expect(res.status, res.text).toBe(200);
    expect(
      res.text
        .trim()
        .split('\n')
        .map((l) => parseCategoryLine(l.replace(/^Category:\s*/, '')).term),
    ).toEqual(['storage']);
  });
});
