import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEBIAN_IMAGE_ID, DEMO_PROJECT_A, DEMO_PROJECT_B, OTHER_TOKEN, PUBLIC_NETWORK_ID, UBUNTU_IMAGE_ID } from './simulator.ts';
import { activeServer, createServer, getServer, startHarness, type FaultBody, type Harness, type ServerBody } from './test-support.ts';

interface FlavorBody {
  id: number;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
  'SNF:allow_create': boolean;
  'os-flavor-access:is_public': boolean;
  'SNF:volume_type': number;
  links: Array<{ rel: string; href: string }>;
}

describe('cyclades simulator: compute', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(async () => {
    await h.close();
  });

  beforeEach(async () => {
    await h.control('POST', '/_sim/reset');
  });

  describe('flavors and images', () => {
    it('lists flavors briefly and in detail, hiding private ones from non-members', async () => {
      const brief = await h.call<{ flavors: Array<Record<string, unknown>> }>('GET', '/compute/v2.0/flavors');
      expect(brief.status).toBe(200);
      expect(Object.keys(brief.body.flavors[0] ?? {}).sort()).toEqual(['id', 'links', 'name']);

      const detail = await h.call<{ flavors: FlavorBody[] }>('GET', '/compute/v2.0/flavors/detail');
      const byId = new Map(detail.body.flavors.map((flavor) => [flavor.id, flavor]));
      expect(byId.get(2)).toMatchObject({ name: 'C2R2048D20', vcpus: 2, ram: 2048, disk: 20, 'SNF:allow_create': true, 'SNF:volume_type': 1 });
      expect(byId.get(5)?.['SNF:allow_create']).toBe(false);
      expect(byId.get(6)?.['os-flavor-access:is_public']).toBe(false);

      const other = await h.call<{ flavors: FlavorBody[] }>('GET', '/compute/v2.0/flavors', undefined, { token: OTHER_TOKEN });
      expect(other.body.flavors.map((flavor) => flavor.id)).toEqual([1, 2, 3, 4, 5]);
    });

    it('shows one flavor and answers 404 / 400 for unknown and non-numeric ids', async () => {
      const one = await h.call<{ flavor: FlavorBody }>('GET', '/compute/v2.0/flavors/3');
      expect(one.status).toBe(200);
      expect(one.body.flavor).toMatchObject({ id: 3, vcpus: 4, ram: 4096, disk: 40 });
      const missing = await h.call<FaultBody>('GET', '/compute/v2.0/flavors/999');
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ itemNotFound: { code: 404, message: 'Flavor not found.', details: '' } });
      const bad = await h.call<FaultBody>('GET', '/compute/v2.0/flavors/abc');
      expect(bad.status).toBe(400);
      expect(bad.body['badRequest']?.message).toBe('API endpoint not found');
    });

    it('lists images with metadata (os, users) and shows one by uuid', async () => {
      const list = await h.call<{ images: Array<{ id: string; status: string; progress: number; metadata: Record<string, string> }> }>('GET', '/compute/v2.0/images/detail');
      expect(list.status).toBe(200);
      expect(list.body.images.map((image) => image.id)).toEqual([DEBIAN_IMAGE_ID, UBUNTU_IMAGE_ID]);
      expect(list.body.images[1]).toMatchObject({ status: 'ACTIVE', progress: 100, metadata: { os: 'ubuntu', users: 'user' } });
      const one = await h.call<{ image: { name: string } }>('GET', `/compute/v2.0/images/${DEBIAN_IMAGE_ID}`);
      expect(one.body.image.name).toBe('Debian Base 12');
      expect((await h.call('GET', '/compute/v2.0/images/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    });
  });

  describe('server lifecycle', () => {
    it('creates a server in BUILD, reports build progress, and turns ACTIVE after the build time', async () => {
      const created = await createServer(h, { name: 'web', metadata: { role: 'web' } });
      expect(created.status).toBe(202);
      const server = created.body.server;
      expect(server).toMatchObject({ name: 'web', status: 'BUILD', progress: 0, 'SNF:task_state': 'BUILDING', flavor: { id: 1 }, image: { id: DEBIAN_IMAGE_ID } });
      expect(typeof server.id).toBe('number');
      expect(server.adminPass).toMatch(/^(?=.*[a-z])(?=.*[A-Z])(?=.*\d).{10,}$/);
      expect(server.volumes).toHaveLength(1);

      await h.control('POST', '/_sim/advance', { ms: 1500 });
      const half = await getServer(h, server.id);
      expect(half.status).toBe('BUILD');
      expect(half.progress).toBe(50);

      await h.control('POST', '/_sim/advance', { ms: 1500 });
      const done = await getServer(h, server.id);
      expect(done).toMatchObject({ status: 'ACTIVE', progress: 100, 'SNF:task_state': '', 'SNF:fqdn': `snf-${server.id}.vm.example.org` });
      expect(done.adminPass).toBeUndefined();

      const password = await h.call<{ password: string }>('GET', `/compute/v2.0/servers/${server.id}/password`);
      expect(password.body.password).toBe(server.adminPass);
    });

    it('lists servers briefly and in detail, and renames them', async () => {
      const server = await activeServer(h, { name: 'one' });
      const brief = await h.call<{ servers: Array<Record<string, unknown>> }>('GET', '/compute/v2.0/servers');
      expect(brief.body.servers).toHaveLength(1);
      expect(Object.keys(brief.body.servers[0] ?? {}).sort()).toEqual(['id', 'links', 'name']);
      const rename = await h.call('PUT', `/compute/v2.0/servers/${server.id}`, { server: { name: 'renamed' } });
      expect(rename.status).toBe(204);
      const detail = await h.call<{ servers: ServerBody[] }>('GET', '/compute/v2.0/servers/detail');
      expect(detail.body.servers[0]).toMatchObject({ id: server.id, name: 'renamed', status: 'ACTIVE' });
    });

    it('deletes asynchronously: 204, DESTROYING, then DELETED and gone from lists but still readable', async () => {
      const server = await activeServer(h);
      const removed = await h.call('DELETE', `/compute/v2.0/servers/${server.id}`);
      expect(removed.status).toBe(204);
      expect(await getServer(h, server.id)).toMatchObject({ status: 'ACTIVE', 'SNF:task_state': 'DESTROYING' });

      await h.control('POST', '/_sim/advance', { ms: 1000 });
      const gone = await getServer(h, server.id);
      expect(gone).toMatchObject({ status: 'DELETED', deleted: true, volumes: [] });
      const list = await h.call<{ servers: unknown[] }>('GET', '/compute/v2.0/servers');
      expect(list.body.servers).toEqual([]);

      const again = await h.call<FaultBody>('DELETE', `/compute/v2.0/servers/${server.id}`);
      expect(again.status).toBe(400);
      expect(again.body['badRequest']?.message).toBe(`Server '${server.id}' has been deleted.`);

      const quotas = await h.call<Record<string, Record<string, { usage: number }>>>('GET', '/account/v1.0/quotas');
      const usage = Object.values(quotas.body)[0];
      expect(usage?.['cyclades.vm']?.usage).toBe(0);
      expect(usage?.['cyclades.disk']?.usage).toBe(0);
    });

    it("hides other users' servers (404) and their lists", async () => {
      const server = await activeServer(h);
      const peek = await h.call<FaultBody>('GET', `/compute/v2.0/servers/${server.id}`, undefined, { token: OTHER_TOKEN });
      expect(peek.status).toBe(404);
      expect(peek.body).toEqual({ itemNotFound: { code: 404, message: 'Server not found.', details: '' } });
      expect((await h.call('DELETE', `/compute/v2.0/servers/${server.id}`, undefined, { token: OTHER_TOKEN })).status).toBe(404);
      const list = await h.call<{ servers: unknown[] }>('GET', '/compute/v2.0/servers', undefined, { token: OTHER_TOKEN });
      expect(list.body.servers).toEqual([]);
    });

    it('supports changes-since: deleted servers included, 304 when nothing changed, 400 for bad values', async () => {
      const server = await activeServer(h);
      const state = await h.control<{ now: string }>('GET', '/_sim/state');
      await h.control('POST', '/_sim/advance', { ms: 10 });
      const since = encodeURIComponent(new Date(Date.parse(state.body.now) + 5).toISOString());
      const nothing = await h.call('GET', `/compute/v2.0/servers/detail?changes-since=${since}`);
      expect(nothing.status).toBe(304);

      await h.call('DELETE', `/compute/v2.0/servers/${server.id}`);
      await h.control('POST', '/_sim/settle');
      const changed = await h.call<{ servers: ServerBody[] }>('GET', `/compute/v2.0/servers/detail?changes-since=${since}`);
      expect(changed.status).toBe(200);
      expect(changed.body.servers.map((entry) => [entry.id, entry.status])).toEqual([[server.id, 'DELETED']]);

      expect((await h.call('GET', '/compute/v2.0/servers?changes-since=yesterday-ish')).status).toBe(400);
      expect((await h.call('GET', '/compute/v2.0/servers?changes-since=2999-01-01T00:00:00Z')).status).toBe(400);
    });

    it('answers 400 for unknown URLs and 405 with Allow for a wrong method', async () => {
      const unknown = await h.call<FaultBody>('GET', '/compute/v2.0/nothing-here');
      expect(unknown.status).toBe(400);
      expect(unknown.body['badRequest']?.message).toBe('API endpoint not found');
      const wrong = await h.call<FaultBody>('PATCH', '/compute/v2.0/servers/1');
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get('allow')).toBe('GET, PUT, DELETE');
      expect(wrong.body['notAllowed']?.message).toBe('Method not allowed');
    });
  });

  describe('create validation', () => {
    it.each([
      ['no server key', { nope: {} }, 400, 'badRequest', 'Malformed request'],
      ['missing imageRef', { server: { name: 'x', flavorRef: 1 } }, 400, 'badRequest', 'Malformed request'],
      ['non-integer flavor', { server: { name: 'x', imageRef: DEBIAN_IMAGE_ID, flavorRef: 'abc', networks: [] } }, 400, 'badRequest', 'Invalid flavor ID'],
      ['unknown flavor', { server: { name: 'x', imageRef: DEBIAN_IMAGE_ID, flavorRef: 999, networks: [] } }, 404, 'itemNotFound', 'Flavor not found.'],
      ['unknown image', { server: { name: 'x', imageRef: 'no-such-image', flavorRef: 1, networks: [] } }, 404, 'itemNotFound', "Image 'no-such-image' not found"],
      ['private flavor, system project', { server: { name: 'x', imageRef: DEBIAN_IMAGE_ID, flavorRef: 6, networks: [] } }, 403, 'forbidden', 'Insufficient access'],
      [
        'allow_create false',
        { server: { name: 'x', imageRef: DEBIAN_IMAGE_ID, flavorRef: 5, networks: [] } },
        403,
        'forbidden',
        "It is not allowed to create a server from flavor with id '5', see 'allow_create' flavor attribute",
      ],
      [
        'too many personality files',
        { server: { name: 'x', imageRef: DEBIAN_IMAGE_ID, flavorRef: 1, personality: Array.from({ length: 6 }, () => ({ path: '/f', contents: 'YQ==' })) } },
        413,
        'overLimit',
        'Maximum number of personalities exceeded',
      ],
      [
        'oversized personality',
        { server: { name: 'x', imageRef: DEBIAN_IMAGE_ID, flavorRef: 1, personality: [{ path: '/f', contents: Buffer.alloc(10241).toString('base64') }] } },
        413,
        'overLimit',
        'Maximum size of personality exceeded',
      ],
      [
        'unknown personality key',
        { server: { name: 'x', imageRef: DEBIAN_IMAGE_ID, flavorRef: 1, personality: [{ path: '/f', contents: 'YQ==', color: 'red' }] } },
        400,
        'badRequest',
        'Malformed personality in request',
      ],
      ['name too long', { server: { name: 'n'.repeat(256), imageRef: DEBIAN_IMAGE_ID, flavorRef: 1, networks: [] } }, 400, 'badRequest', 'Server name is too long'],
    ])('rejects %s', async (_label, body, status, fault, message) => {
      const res = await h.call<FaultBody>('POST', '/compute/v2.0/servers', body);
      expect(res.status).toBe(status);
      expect(res.body[fault]).toEqual({ code: status, message, details: '' });
      const list = await h.call<{ servers: unknown[] }>('GET', '/compute/v2.0/servers');
      expect(list.body.servers).toEqual([]);
    });

    it('enforces Content-Type and JSON decoding', async () => {
      const noType = await h.call<FaultBody>('POST', '/compute/v2.0/servers', undefined, { rawBody: '{}', headers: {} });
      expect(noType.status).toBe(400);
      expect(noType.body['badRequest']?.message).toBe('Missing Content-Type header field');
      const wrongType = await h.call<FaultBody>('POST', '/compute/v2.0/servers', undefined, { rawBody: '{}', headers: { 'Content-Type': 'text/plain' } });
      expect(wrongType.body['badRequest']?.message).toBe("Unsupported Content-type: 'text/plain'");
      const badJson = await h.call<FaultBody>('POST', '/compute/v2.0/servers', undefined, { rawBody: '{nope', headers: { 'Content-Type': 'application/json' } });
      expect(badJson.body['badRequest']?.message).toBe('Could not decode request body as JSON');
    });

    it('creates from a private flavor when the project has access, charging that project', async () => {
      const res = await createServer(h, { flavorRef: 6, project: DEMO_PROJECT_A });
      expect(res.status).toBe(202);
      expect(res.body.server.tenant_id).toBe(DEMO_PROJECT_A);
    });

    it('refuses a quota-exceeding create with 413 overLimit and leaves nothing behind', async () => {
      expect((await createServer(h, { project: DEMO_PROJECT_B })).status).toBe(202);
      await h.call('POST', '/network/v2.0/floatingips', { floatingip: {} });
      const portsBefore = await h.call<{ ports: unknown[] }>('GET', '/network/v2.0/ports');

      const second = await createServer(h, { project: DEMO_PROJECT_B, networks: [{ uuid: PUBLIC_NETWORK_ID }] });
      expect(second.status).toBe(413);
      expect(second.body).toEqual({
        overLimit: {
          code: 413,
          message: 'Resource Limit Exceeded for your account.',
          details: "Limit for resource 'Virtual Machine' exceeded for your account. Available: 0, Requested: 1",
        },
      });
      const portsAfter = await h.call<{ ports: unknown[] }>('GET', '/network/v2.0/ports');
      expect(portsAfter.body.ports).toEqual(portsBefore.body.ports);
      const fips = await h.call<{ floatingips: Array<{ port_id: string | null }> }>('GET', '/network/v2.0/floatingips');
      expect(fips.body.floatingips.map((ip) => ip.port_id)).toEqual([null]);
    });
  });

  describe('networks on create', () => {
    it('needs a free floating IP under the default SNF:ANY_PUBLIC_IPV4 policy (409), then uses it', async () => {
      const res = await h.call<FaultBody>('POST', '/compute/v2.0/servers', { server: { name: 'x', imageRef: DEBIAN_IMAGE_ID, flavorRef: 1 } });
      expect(res.status).toBe(409);
      expect(res.body['conflict']?.message).toBe('Cannot find an unused floating IP to connect server to a public network. Please create a floating IP.');

      const fip = await h.call<{ floatingip: { id: string; floating_ip_address: string } }>('POST', '/network/v2.0/floatingips', {
        floatingip: { floating_network_id: null, floating_ip_address: '' },
      });
      expect(fip.status).toBe(200);
      const created = await h.call<{ server: ServerBody }>('POST', '/compute/v2.0/servers', { server: { name: 'x', imageRef: DEBIAN_IMAGE_ID, flavorRef: 1 } });
      expect(created.status).toBe(202);
      expect(created.body.server.attachments).toEqual([]);

      await h.control('POST', '/_sim/settle');
      const server = await getServer(h, created.body.server.id);
      const address = fip.body.floatingip.floating_ip_address;
      expect(server.attachments).toEqual([
        expect.objectContaining({ network_id: PUBLIC_NETWORK_ID, ipv4: address, 'OS-EXT-IPS:type': 'floating', mac_address: expect.stringMatching(/^aa:00:00:/) as unknown }),
      ]);
      expect(server.addresses).toEqual({ [PUBLIC_NETWORK_ID]: [{ version: 4, addr: address, 'OS-EXT-IPS:type': 'floating' }] });

      const ips = await h.call<{ addresses: Record<string, unknown>; attachments: unknown[] }>('GET', `/compute/v2.0/servers/${server.id}/ips`);
      expect(ips.body.addresses).toEqual(server.addresses);
      expect(ips.body.attachments).toEqual(server.attachments);
      const byNet = await h.call<{ network: Record<string, unknown> }>('GET', `/compute/v2.0/servers/${server.id}/ips/${PUBLIC_NETWORK_ID}`);
      expect(byNet.body.network).toEqual(server.addresses);

      const ip = await h.call<{ floatingip: { port_id: string; instance_id: string } }>('GET', `/network/v2.0/floatingips/${fip.body.floatingip.id}`);
      expect(ip.body.floatingip.instance_id).toBe(String(server.id));

      await h.call('DELETE', `/compute/v2.0/servers/${server.id}`);
      await h.control('POST', '/_sim/settle');
      const kept = await h.call<{ floatingip: { port_id: string | null; instance_id: string | null } }>('GET', `/network/v2.0/floatingips/${fip.body.floatingip.id}`);
      expect(kept.body.floatingip).toMatchObject({ port_id: null, instance_id: null });
    });

    it('validates network entries', async () => {
      const missing = await createServer(h, { networks: [{}] });
      expect(missing.status).toBe(400);
      expect((missing.body as unknown as FaultBody)['badRequest']?.message).toBe("Network 'uuid' or 'port' attribute is required.");
      const unknown = await createServer(h, { networks: [{ uuid: '9999' }] });
      expect(unknown.status).toBe(404);
      const invalid = await createServer(h, { networks: [{ uuid: 'abc' }] });
      expect((invalid.body as unknown as FaultBody)['badRequest']?.message).toBe("Invalid network ID 'abc'");
    });
  });

  describe('metadata', () => {
    it('reads and writes server metadata items', async () => {
      const server = await activeServer(h, { metadata: { os: 'debian' } });
      const add = await h.call<{ metadata: Record<string, string> }>('POST', `/compute/v2.0/servers/${server.id}/metadata`, { metadata: { role: 'db' } });
      expect(add.status).toBe(201);
      expect(add.body.metadata).toEqual({ os: 'debian', role: 'db' });
      const put = await h.call<{ meta: Record<string, string> }>('PUT', `/compute/v2.0/servers/${server.id}/metadata/tier`, { meta: { tier: 'gold' } });
      expect(put.body.meta).toEqual({ tier: 'gold' });
      expect((await h.call('DELETE', `/compute/v2.0/servers/${server.id}/metadata/os`)).status).toBe(204);
      const all = await h.call<{ metadata: Record<string, string> }>('GET', `/compute/v2.0/servers/${server.id}/metadata`);
      expect(all.body.metadata).toEqual({ role: 'db', tier: 'gold' });
      expect((await h.call('GET', `/compute/v2.0/servers/${server.id}/metadata/os`)).status).toBe(404);
    });
  });
});
