import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { parseAttributeLine, parseCategoryLine, parseLinkLine, parseTextBody, splitHeaderValues, type HeaderLine } from '../src/render/header-lines.ts';
import { call, dropDatabases, freshPrefix, startTestServer, type TestResponse } from './support/harness.ts';

const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
const OCCI_HEADERS = ['category', 'link', 'x-occi-attribute', 'x-occi-location'];
const CANONICAL: Record<string, string> = { category: 'Category', link: 'Link', 'x-occi-attribute': 'X-OCCI-Attribute', 'x-occi-location': 'X-OCCI-Location' };

type Mode = 'text/plain' | 'text/occi';

const prefix = freshPrefix('text');
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

/** Sends OCCI text structures the way a text client does: in the body (text/plain) or in headers (text/occi). */
function send(mode: Mode, method: string, path: string, lines: HeaderLine[] = []): Promise<TestResponse> {
  if (mode === 'text/plain') {
    const raw = lines.map((l) => `${l.name}: ${l.value}`).join('\r\n');
    return call(base, method, path, { headers: { accept: mode, ...(lines.length > 0 ? { 'content-type': mode } : {}) }, ...(lines.length > 0 ? { raw } : {}) });
  }
  const headers: Record<string, string> = { accept: mode, 'content-type': mode };
  for (const line of lines) headers[line.name] = headers[line.name] ? `${headers[line.name]}, ${line.value}` : line.value;
  return call(base, method, path, { headers });
}

/** The OCCI structures of a response, from its body or its headers. */
function structures(mode: Mode, res: TestResponse): HeaderLine[] {
  if (mode === 'text/plain') return parseTextBody(res.text).map(({ name, value }) => ({ name, value }));
  expect(res.text.trim()).toBe('OK');
  const out: HeaderLine[] = [];
  for (const name of OCCI_HEADERS) {
    const value = res.headers.get(name);
    if (value) for (const v of splitHeaderValues(value)) out.push({ name: CANONICAL[name]!, value: v });
  }
  return out;
}

function attributes(lines: HeaderLine[]): Record<string, unknown> {
  return Object.fromEntries(
    lines
      .filter((l) => l.name === 'X-OCCI-Attribute')
      .map((l) => {
        const { name, value } = parseAttributeLine(l.value);
        return [name, value];
      }),
  );
}

const line = (name: string, value: string): HeaderLine => ({ name, value });
const kind = (term: string) => line('Category', `${term}; scheme="${INFRA}"; class="kind"`);
const attr = (text: string) => line('X-OCCI-Attribute', text);

describe.each(['text/plain', 'text/occi'] as const)('an OCCI 1.1 text client in %s', (mode) => {
  const tag = mode === 'text/plain' ? 'p' : 'o';

  it('discovers the categories, with {required} and {immutable} as the specification marks them', async () => {
    const res = await send(mode, 'GET', '/-/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain(mode);
    const categories = structures(mode, res)
      .filter((l) => l.name === 'Category')
      .map((l) => parseCategoryLine(l.value));
    const compute = categories.find((c) => c.term === 'compute' && c.scheme === INFRA)!;
    expect(compute).toMatchObject({ class: 'kind', location: '/compute/', rel: ['http://schemas.ogf.org/occi/core#resource'] });
    expect(compute.attributes).toEqual(
      expect.arrayContaining([
        { name: 'occi.compute.state', required: true, immutable: true },
        { name: 'occi.compute.cores', required: false, immutable: false },
      ]),
    );
    expect(compute.actions).toContain('http://schemas.ogf.org/occi/infrastructure/compute/action#start');
    const filtered = await send(mode, 'GET', '/-/', [kind('storage')]);
    expect(structures(mode, filtered).map((l) => parseCategoryLine(l.value).term)).toEqual(['storage']);
  });

  it('adds and removes a user mixin through /-/', async () => {
    const mixin = line('Category', `debian${tag}; scheme="http://example.com/os#"; class="mixin"; title="Debian 12"; rel="${INFRA}os_tpl"; location="/os/debian${tag}/"`);
    expect((await send(mode, 'POST', '/-/', [mixin])).status).toBe(200);
    const found = await call(base, 'GET', `/-/?category=${encodeURIComponent(`http://example.com/os#debian${tag}`)}`);
    expect((found.json as { mixins: { depends: string[] }[] }).mixins[0]!.depends).toEqual([`${INFRA}os_tpl`]);
    expect((await send(mode, 'DELETE', '/-/', [mixin])).status).toBe(200);
    expect(((await call(base, 'GET', `/-/?category=${encodeURIComponent(`http://example.com/os#debian${tag}`)}`)).json as { mixins: unknown[] }).mixins).toEqual([]);
  });

  it('creates, links, reads, updates, acts on and deletes compute, storage and network', async () => {
    // With templates: a resource template of the CRTP profile gives cores and memory.
    const compute = await send(mode, 'POST', '/compute/', [
      kind('compute'),
      line('Category', `small; scheme="http://schemas.ogf.org/occi/infrastructure/compute/template/1.1#"; class="mixin"`),
      attr(`occi.core.title="vm ${tag}"`),
      attr('occi.compute.hostname="vm.example.org"'),
    ]);
    expect(compute.status, compute.text).toBe(201);
    const vm = new URL(compute.headers.get('location')!).pathname;

    // Without templates.
    const storage = await send(mode, 'POST', '/storage/', [kind('storage'), attr('occi.storage.size=20'), attr(`occi.core.id="disk${tag}"`)]);
    expect(storage.status).toBe(201);
    const network = await send(mode, 'POST', '/network/', [
      kind('network'),
      line('Category', `ipnetwork; scheme="http://schemas.ogf.org/occi/infrastructure/network#"; class="mixin"`),
      attr('occi.network.address="10.0.0.0/24"'),
    ]);
    expect(network.status).toBe(201);
    const net = new URL(network.headers.get('location')!).pathname;

    // Link them: a storagelink added with a partial update (a Link line), a networkinterface on its own.
    const linked = await send(mode, 'POST', vm, [line('Link', `</storage/disk${tag}>; rel="${INFRA}storage"; category="${INFRA}storagelink"; occi.storagelink.deviceid="vdb"`)]);
    expect(linked.status, linked.text).toBe(200);
    const nic = await send(mode, 'POST', '/networkinterface/', [
      kind('networkinterface'),
      attr(`occi.core.source="${vm}"`),
      attr(`occi.core.target="${net}"`),
      attr('occi.networkinterface.interface="eth0"'),
      attr('occi.networkinterface.mac="aa:bb:cc:dd:ee:ff"'),
    ]);
    expect(nic.status, nic.text).toBe(201);

    const read = await send(mode, 'GET', vm);
    expect(read.status).toBe(200);
    const lines = structures(mode, read);
    expect(lines.filter((l) => l.name === 'Category').map((l) => parseCategoryLine(l.value).term)).toEqual(['compute', 'small']);
    const links = lines.filter((l) => l.name === 'Link').map((l) => parseLinkLine(l.value));
    expect(links.find((l) => l.category?.[0] === `${INFRA}storagelink`)).toMatchObject({ target: `/storage/disk${tag}`, attributes: { 'occi.storagelink.deviceid': 'vdb' } });
    expect(links.find((l) => l.category?.[0] === `${INFRA}networkinterface`)).toMatchObject({ target: net, attributes: { 'occi.networkinterface.interface': 'eth0' } });
    expect(links.find((l) => l.rel[0] === 'http://schemas.ogf.org/occi/infrastructure/compute/action#start')?.target).toBe(`${vm}?action=start`);
    expect(attributes(lines)).toMatchObject({ 'occi.core.title': `vm ${tag}`, 'occi.compute.cores': 1, 'occi.compute.memory': 1, 'occi.compute.state': 'inactive' });

    const full = await send(mode, 'PUT', vm, [kind('compute'), attr('occi.compute.cores=2'), attr(`occi.core.title="vm ${tag} replaced"`)]);
    expect(full.status).toBe(200);
    expect(attributes(structures(mode, full))).toMatchObject({ 'occi.compute.cores': 2, 'occi.core.title': `vm ${tag} replaced` });
    // The links survive a full update.
    expect(structures(mode, await send(mode, 'GET', vm)).filter((l) => l.name === 'Link' && l.value.includes('category='))).toHaveLength(2);

    const action = await send(mode, 'POST', `${vm}?action=start`, [line('Category', 'start; scheme="http://schemas.ogf.org/occi/infrastructure/compute/action#"; class="action"')]);
    expect(action.status).toBe(200);
    expect(attributes(structures(mode, action))['occi.compute.state']).toBe('active');
    const stop = await send(mode, 'POST', `${vm}?action=stop`, [
      line('Category', 'stop; scheme="http://schemas.ogf.org/occi/infrastructure/compute/action#"; class="action"'),
      attr('method="graceful"'),
    ]);
    expect(stop.status).toBe(200);

    const listing = await send(mode, 'GET', '/compute/');
    expect(
      structures(mode, listing)
        .filter((l) => l.name === 'X-OCCI-Location')
        .map((l) => l.value),
    ).toContain(`${base}${vm}`);

    expect((await send(mode, 'DELETE', vm)).status).toBe(204);
    const gone = await send(mode, 'GET', vm);
    expect(gone.status).toBe(404);
    expect(gone.text).toContain('404 Not Found');
    expect((await send(mode, 'GET', '/storagelink/')).status).toBe(200);
  });

  it('takes link ends as absolute URLs of this server, assigns a NIC its name and MAC, reads quoted numbers, and accepts a PUT of what it read', async () => {
    // rOCCI quotes numbers: occi.storage.size="1" is a number where the definition says number.
    const storage = await send(mode, 'POST', '/storage/', [kind('storage'), attr('occi.storage.size="1"'), attr(`occi.core.id="abs-disk${tag}"`)]);
    expect(storage.status, storage.text).toBe(201);
    expect((await call(base, 'GET', `/storage/abs-disk${tag}`)).json).toMatchObject({ attributes: { 'occi.storage.size': 1 } });
    const compute = await send(mode, 'POST', '/compute/', [kind('compute'), attr(`occi.core.id="abs-vm${tag}"`), attr('occi.compute.state="active"')]);
    expect(compute.status, compute.text).toBe(201);
    // Server-managed state is the server's: the client's "active" is ignored at creation.
    expect((await call(base, 'GET', `/compute/abs-vm${tag}`)).json).toMatchObject({ attributes: { 'occi.compute.state': 'inactive' } });
    const network = await send(mode, 'POST', '/network/', [kind('network'), attr(`occi.core.id="abs-net${tag}"`)]);
    expect(network.status).toBe(201);

    // The very URLs the server lists, as link ends: recognised as local, checked and typed.
    const link = await send(mode, 'POST', '/storagelink/', [
      kind('storagelink'),
      attr(`occi.core.id="abs-sl${tag}"`),
      attr(`occi.core.source="${base}/compute/abs-vm${tag}"`),
      attr(`occi.core.target="${base}/storage/abs-disk${tag}"`),
      attr('occi.storagelink.deviceid="vdb"'),
    ]);
    expect(link.status, link.text).toBe(201);
    const stored = (await call(base, 'GET', `/storagelink/abs-sl${tag}`)).json as { source: unknown; target: unknown };
    expect(stored.source).toEqual({ location: `${base}/compute/abs-vm${tag}`, kind: `${INFRA}compute` });
    expect(stored.target).toEqual({ location: `${base}/storage/abs-disk${tag}`, kind: `${INFRA}storage` });
    // A local target that does not exist is refused, not stored as an external URL.
    const dangling = await send(mode, 'POST', '/storagelink/', [
      kind('storagelink'),
      attr(`occi.core.source="${base}/compute/abs-vm${tag}"`),
      attr(`occi.core.target="${base}/storage/nothing"`),
      attr('occi.storagelink.deviceid="vdc"'),
    ]);
    expect(dangling.status).toBe(400);
    expect(dangling.text).toContain('/storage/nothing does not exist');

    // A networkinterface without interface or MAC: the server assigns both (pOCCI INFRA/CREATE/007).
    const nic = await send(mode, 'POST', '/networkinterface/', [
      kind('networkinterface'),
      attr(`occi.core.id="abs-nic${tag}"`),
      attr(`occi.core.source="${base}/compute/abs-vm${tag}"`),
      attr(`occi.core.target="/network/abs-net${tag}"`),
    ]);
    expect(nic.status, nic.text).toBe(201);
    const nicAttributes = ((await call(base, 'GET', `/networkinterface/abs-nic${tag}`)).json as { attributes: Record<string, string> }).attributes;
    expect(nicAttributes['occi.networkinterface.interface']).toBe('eth0');
    expect(nicAttributes['occi.networkinterface.mac']).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    const second = await send(mode, 'POST', '/networkinterface/', [
      kind('networkinterface'),
      attr(`occi.core.id="abs-nic2${tag}"`),
      attr(`occi.core.source="/compute/abs-vm${tag}"`),
      attr(`occi.core.target="/network/abs-net${tag}"`),
    ]);
    expect(second.status).toBe(201);
    expect(((await call(base, 'GET', `/networkinterface/abs-nic2${tag}`)).json as { attributes: Record<string, string> }).attributes['occi.networkinterface.interface']).toBe('eth1');

    // The text Link of a resource names the target's kind as rel.
    const read = await send(mode, 'GET', `/compute/abs-vm${tag}`);
    const readLines = structures(mode, read);
    const links = readLines
      .filter((l) => l.name === 'Link')
      .map((l) => parseLinkLine(l.value))
      .filter((l) => l.self !== undefined);
    expect(links.find((l) => l.self === `/storagelink/abs-sl${tag}`)?.rel).toEqual([`${INFRA}storage`]);
    expect(links.find((l) => l.self === `/networkinterface/abs-nic${tag}`)?.rel).toEqual([`${INFRA}network`]);

    // PUT with the read rendering (links, action links and all): accepted, links left intact (pOCCI CORE/UPDATE/001).
    const put = await send(
      mode,
      'PUT',
      `/compute/abs-vm${tag}`,
      readLines.map(({ name, value }) => ({ name, value })),
    );
    expect(put.status, put.text).toBe(200);
    expect(structures(mode, put).filter((l) => l.name === 'Link' && l.value.includes('self='))).toHaveLength(3);
    // Quoted numbers in action parameters too: resize's size="2" is a number.
    const resize = await send(mode, 'POST', `/storage/abs-disk${tag}?action=resize`, [
      line('Category', 'resize; scheme="http://schemas.ogf.org/occi/infrastructure/storage/action#"; class="action"'),
      attr('size="2"'),
    ]);
    expect(resize.status, resize.text).toBe(200);
    expect(attributes(structures(mode, resize))['occi.storage.size']).toBe(2);
    // A Link line that is not one of the entity's links is still refused in a full update.
    const foreign = await send(mode, 'PUT', `/compute/abs-vm${tag}`, [
      kind('compute'),
      line('Link', `</network/abs-net${tag}>; rel="${INFRA}network"; category="${INFRA}storagelink"; occi.storagelink.deviceid="vdz"`),
    ]);
    expect(foreign.status).toBe(400);
    expect(foreign.text).toContain('leaves links as they are');
  });

  it('answers a syntax error with 400 naming the line', async () => {
    const res =
      mode === 'text/plain'
        ? await call(base, 'POST', '/compute/', {
            raw: `Category: compute; scheme="${INFRA}"; class="kind"\nX-OCCI-Attribute occi.compute.cores=2`,
            headers: { 'content-type': 'text/plain', accept: 'text/plain' },
          })
        : await send(mode, 'POST', '/compute/', [kind('compute'), attr('occi.compute.cores=')]);
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/line \d/);
  });
});

describe('content negotiation', () => {
  it('answers JSON without Accept and for */*, and honours q-values across renderings', async () => {
    const none = await call(base, 'GET', '/-/?class=action', { headers: { accept: '' } });
    expect(none.headers.get('content-type')).toContain('application/occi+json');
    const q = await call(base, 'GET', '/-/?class=action', { headers: { accept: 'application/occi+json;q=0.5, text/occi;q=0.9' } });
    expect(q.headers.get('content-type')).toContain('text/occi');
    expect(q.headers.get('category')).toContain('start');
    expect((await call(base, 'GET', '/-/', { headers: { accept: 'image/png' } })).status).toBe(406);
  });

  it('renders text/uri-list for listings only', async () => {
    await call(base, 'POST', '/compute/', { body: { kind: `${INFRA}compute`, id: 'uri1' } });
    const list = await call(base, 'GET', '/compute/', { headers: { accept: 'text/uri-list' } });
    expect(list.status).toBe(200);
    expect(list.text.split('\r\n')).toContain(`${base}/compute/uri1`);
    expect((await call(base, 'GET', '/compute/uri1', { headers: { accept: 'text/uri-list' } })).status).toBe(400);
    // Nothing was carried out: a refused rendering is refused before the request acts.
    expect((await call(base, 'DELETE', '/compute/uri1', { headers: { accept: 'text/uri-list' } })).status).toBe(400);
    expect((await call(base, 'GET', '/compute/uri1')).status).toBe(200);
  });

  it('refuses request bodies it does not read with 415', async () => {
    const res = await call(base, 'POST', '/compute/', { raw: '<compute/>', headers: { 'content-type': 'application/xml' } });
    expect(res.status).toBe(415);
  });

  it('marks every response with Server: ocni/<version> OCCI/1.2 and Vary: Accept', async () => {
    for (const accept of ['text/plain', 'text/occi', 'application/json', 'text/html']) {
      const res = await call(base, 'GET', '/-/?class=kind', { headers: { accept } });
      expect(res.headers.get('server')).toMatch(/^ocni\/\S+ OCCI\/1\.2$/);
      expect(res.headers.get('vary')).toContain('Accept');
    }
  });
});
