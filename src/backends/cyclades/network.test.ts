import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEBIAN_IMAGE_ID, DEMO_PROJECT_A } from '../../../test/cyclades-sim/simulator.ts';
import type { Entity } from '../../model/entity.ts';
import { IPNETWORK_MIXIN, IPNETWORKINTERFACE_MIXIN, NETWORK_KIND, NETWORKINTERFACE_KIND } from './ids.ts';
import { at, computeEntity, osTpl, resourceTpl, startHarness, type Harness, matching } from './test-harness.ts';

function networkEntity(attributes: Record<string, string> = {}, title = 'backend-net'): Entity {
  return { location: '/network/new-net', kind: NETWORK_KIND, mixins: [IPNETWORK_MIXIN], attributes: { 'occi.network.state': 'inactive', 'occi.network.allocation': 'static', ...attributes }, title };
}

function linkEntity(source: string, target: string, mixins: string[] = [], attributes: Record<string, string> = {}): Entity {
  return {
    location: '/networkinterface/new-link',
    kind: NETWORKINTERFACE_KIND,
    mixins,
    attributes: { 'occi.networkinterface.state': 'inactive', 'occi.networkinterface.interface': 'eth0', 'occi.networkinterface.mac': '00:00:00:00:00:00', ...attributes },
    source,
    target,
  };
}

describe('cyclades networks and networkinterfaces', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ serverNetworks: 'none' });
  });
  afterEach(async () => {
    await h.close();
  });

  async function network(attributes: Record<string, string> = { 'occi.network.address': '192.168.10.0/24', 'occi.network.gateway': '192.168.10.1' }): Promise<Entity> {
    const entity = networkEntity(attributes);
    return at(entity, (await h.backend.create(entity, h.ctx())).id);
  }

  async function server(): Promise<Entity> {
    const entity = computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(1)], { title: 'vm' });
    const created = at(entity, (await h.backend.create(entity, h.ctx())).id);
    h.sim.settle();
    return created;
  }

  it('creates a MAC_FILTERED network and its subnet from the ipnetwork attributes', async () => {
    const outcome = await h.backend.create(networkEntity({ 'occi.network.address': '192.168.10.0/24', 'occi.network.gateway': '192.168.10.1' }), h.ctx());
    expect(outcome).toEqual({
      id: '2001',
      attributes: { 'occi.network.state': 'active', 'occi.network.state.message': null, 'occi.network.address': '192.168.10.0/24', 'occi.network.gateway': '192.168.10.1' },
      // Cyclades has no network actions: none are offered.
      allowedActions: [],
    });
    const posts = await h.requests({ method: 'POST', pathRegex: '^/network/' });
    expect((await h.requests({ method: 'PUT' })).map((r) => [r.path, r.body])).toEqual([['/network/v2.0/networks/2001', { network: { name: 'backend-net' } }]]);
    expect(posts.map((r) => [r.path, r.body, r.status])).toEqual([
      // Created under ocni's mark (found again if the answer is lost), then renamed to its title.
      ['/network/v2.0/networks', { network: { type: 'MAC_FILTERED', name: 'ocni:new-net', project: DEMO_PROJECT_A } }, 201],
      ['/network/v2.0/subnets', { subnet: { network_id: '2001', cidr: '192.168.10.0/24', ip_version: 4, name: 'backend-net subnet', gateway_ip: '192.168.10.1' } }, 201],
    ]);
  });

  it('rolls the network back when the subnet is refused (bad CIDR → validation, too wide → payload-too-large)', async () => {
    await expect(h.backend.create(networkEntity({ 'occi.network.address': '192.168.10.5/24' }), h.ctx())).rejects.toMatchObject({ code: 'validation', message: 'Invalid network IPv4 subnet' });
    await expect(h.backend.create(networkEntity({ 'occi.network.address': '10.0.0.0/16' }), h.ctx())).rejects.toMatchObject({
      code: 'payload-too-large',
      message: 'Unsupported network size (Netmask must be in range: [22, 29])',
    });
    expect((await h.requests({ method: 'DELETE' })).map((r) => [r.path, r.status])).toEqual([
      ['/network/v2.0/networks/2001', 204],
      ['/network/v2.0/networks/2002', 204],
    ]);
    expect(await h.backend.retrieve({ ...networkEntity(), location: '/network/2001' }, h.ctx())).toBe('gone');
    expect(h.warnings).toEqual([]);
  });

  it('reads networks back (public ones flagged), renames, deletes; gone afterwards', async () => {
    const entity = await network();
    expect(await h.backend.retrieve(entity, h.ctx())).toEqual({
      attributes: { 'occi.network.state': 'active', 'occi.network.state.message': null, 'occi.network.address': '192.168.10.0/24', 'occi.network.gateway': '192.168.10.1' },
      allowedActions: [],
    });
    const publicNet = { ...networkEntity(), location: '/network/1', mixins: [IPNETWORK_MIXIN] };
    expect(await h.backend.retrieve(publicNet, h.ctx())).toMatchObject({
      attributes: { 'occi.network.state': 'active', 'occi.network.state.message': 'public network (addresses are floating IPs)', 'occi.network.address': '203.0.113.0/24' },
    });
    await h.backend.update(entity, { ...entity, title: 'renamed' }, h.ctx());
    expect((await h.requests({ method: 'PUT' })).map((r) => r.body).at(-1)).toEqual({ network: { name: 'renamed' } });
    await expect(h.backend.update(entity, { ...entity, attributes: { ...entity.attributes, 'occi.network.address': '192.168.20.0/24' } }, h.ctx())).rejects.toMatchObject({ code: 'not-implemented' });
    await h.backend.delete(entity, h.ctx());
    expect(await h.backend.retrieve(entity, h.ctx())).toBe('gone');
    await expect(h.backend.delete(entity, h.ctx())).resolves.toBeUndefined();
  });

  it('links a compute to a private network with a port; state follows the port, then address and MAC show', async () => {
    const vm = await server();
    const net = await network();
    const link = linkEntity(vm.location, net.location, [IPNETWORKINTERFACE_MIXIN], { 'occi.networkinterface.address': '192.168.10.50', 'occi.networkinterface.allocation': 'static' });
    const outcome = await h.backend.create(link, h.ctx());
    expect(outcome.id).toBe('4001');
    expect(outcome.attributes).toMatchObject({ 'occi.networkinterface.state': 'inactive', 'occi.networkinterface.state.message': 'BUILD', 'occi.networkinterface.address': '192.168.10.50' });
    const [post] = await h.requests({ method: 'POST', pathRegex: '/ports$' });
    expect(post!.body).toEqual({ port: { network_id: '2001', device_id: '1001', name: `ocni:${link.location.split('/').pop()!}`, fixed_ips: [{ ip_address: '192.168.10.50' }] } });
    h.sim.settle();
    const placed = at(link, outcome.id);
    const read = await h.backend.retrieve(placed, h.ctx());
    expect(read).toMatchObject({ attributes: { 'occi.networkinterface.state': 'active', 'occi.networkinterface.state.message': null, 'occi.networkinterface.address': '192.168.10.50' } });
    expect(read !== 'gone' && read.attributes!['occi.networkinterface.mac']).toMatch(/^aa:00:00(:[0-9a-f]{2}){3}$/);
    // Deleting the network while the port exists is refused by Cyclades.
    await expect(h.backend.delete(net, h.ctx())).rejects.toMatchObject({ code: 'conflict', message: matching(/ports still configured/) });
    await h.backend.delete(placed, h.ctx());
    expect((await h.requests({ method: 'DELETE', pathRegex: '/ports/' })).map((r) => [r.path, r.status])).toEqual([['/network/v2.0/ports/4001', 204]]);
    h.sim.settle();
    expect(await h.backend.retrieve(placed, h.ctx())).toBe('gone');
    await h.backend.delete(net, h.ctx());
  });

  it('deletes a network once the port its server is still disconnecting is gone; a port that stays keeps the 409', async () => {
    const vm = await server();
    const net = await network();
    const link = at(linkEntity(vm.location, net.location), (await h.backend.create(linkEntity(vm.location, net.location), h.ctx())).id);
    h.sim.settle();
    await h.backend.delete(link, h.ctx());
    // DISCONNECT is pending: Cyclades answers 409 to the network delete; the bridge waits for the port to go.
    const deleting = h.backend.delete(net, h.ctx());
    await new Promise((resolve) => setTimeout(resolve, 100));
    h.sim.settle();
    await deleting;
    expect((await h.requests({ method: 'DELETE', pathRegex: '^/network/v2\\.0/networks/' })).map((r) => r.status)).toEqual([409, 204]);

    const kept = await network();
    await h.backend.create(linkEntity(vm.location, kept.location), h.ctx());
    h.sim.settle();
    await expect(h.backend.delete(kept, h.ctx())).rejects.toMatchObject({ code: 'conflict' });
  });

  it('tries once more when another client started a job on the server in between', async () => {
    const vm = await server();
    const net = await network();
    await h.control('POST', '/_sim/fault', {
      method: 'POST',
      pathRegex: '^/network/v2\\.0/ports$',
      status: 400,
      body: { badRequest: { code: 400, message: "Cannot perform 'CONNECT' action while there is a pending 'STOP'.", details: '' } },
    });
    const outcome = await h.backend.create(linkEntity(vm.location, net.location), h.ctx());
    expect(outcome.id).toBe('4001');
    expect((await h.requests({ method: 'POST', pathRegex: '/ports$' })).map((r) => r.status)).toEqual([400, 201]);
  });

  it('links to a public network with a floating IP: allocated when none is free, reused when one is', async () => {
    const vm = await server();
    const first = at(linkEntity(vm.location, '/network/1'), (await h.backend.create(linkEntity(vm.location, '/network/1'), h.ctx())).id);
    const [allocation] = await h.requests({ method: 'POST', pathRegex: '/floatingips$' });
    expect(allocation!.body).toEqual({ floatingip: { floating_network_id: '1', project: DEMO_PROJECT_A } });
    const ports = await h.requests({ method: 'POST', pathRegex: '/ports$' });
    expect(ports[0]!.body).toMatchObject({ port: { network_id: '1', device_id: '1001', fixed_ips: [{ ip_address: '203.0.113.2' }] } });
    h.sim.settle();
    await h.backend.delete(first, h.ctx());
    h.sim.settle();
    // The address stayed allocated to the user and is used again.
    await h.clearRequests();
    const second = await h.backend.create(linkEntity(vm.location, 'https://elsewhere.example/occi/network/1'), h.ctx());
    expect(second.id).toBe('4002');
    expect(await h.requests({ method: 'POST', pathRegex: '/floatingips$' })).toEqual([]);
    expect((await h.requests({ method: 'POST', pathRegex: '/ports$' }))[0]!.body).toMatchObject({ port: { fixed_ips: [{ ip_address: '203.0.113.2' }] } });
  });

  it('releases a floating IP it allocated when the port fails, and surfaces pool exhaustion', async () => {
    const vm = await server();
    await h.control('POST', '/_sim/fault', { method: 'POST', pathRegex: '/ports$', status: 409, body: { conflict: { code: 409, message: 'IP address is already in use', details: '' } } });
    await expect(h.backend.create(linkEntity(vm.location, '/network/1'), h.ctx())).rejects.toMatchObject({ code: 'conflict', message: 'IP address is already in use' });
    expect((await h.requests({ method: 'DELETE', pathRegex: '/floatingips/' })).map((r) => r.status)).toEqual([204]);
    await h.control('POST', '/_sim/quota', { project: DEMO_PROJECT_A, resource: 'cyclades.floating_ip', limit: 0 });
    await expect(h.backend.create(linkEntity(vm.location, '/network/1'), h.ctx())).rejects.toMatchObject({ code: 'payload-too-large', message: matching(/Floating IP address/) });
  });

  it('refuses link ends that are not Cyclades objects, and a link to a building server with conflict', async () => {
    await expect(h.backend.create(linkEntity('/compute/abc', '/network/1'), h.ctx())).rejects.toMatchObject({ code: 'validation' });
    await expect(h.backend.create(linkEntity('/compute/1001', '/network/xyz'), h.ctx())).rejects.toMatchObject({ code: 'validation' });
    const vm = computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(1)]);
    const building = at(vm, (await h.backend.create(vm, h.ctx())).id);
    const net = await network();
    await expect(h.backend.create(linkEntity(building.location, net.location), h.ctx())).rejects.toMatchObject({ code: 'conflict', message: "Server '1001' is being built." });
  });
});
