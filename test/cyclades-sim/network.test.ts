import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_PROJECT_B, OTHER_TOKEN, PUBLIC_NETWORK_ID } from './simulator.ts';
import { activeServer, getServer, startHarness, type FaultBody, type Harness } from './test-support.ts';

interface NetworkBody {
  id: string;
  name: string;
  type: string;
  status: string;
  public: boolean;
  subnets: string[];
  'SNF:floating_ip_pool': boolean;
  'router:external': boolean;
}

interface SubnetBody {
  id: string;
  network_id: string;
  cidr: string;
  gateway_ip: string | null;
  ip_version: number;
  allocation_pools: Array<{ start: string; end: string }>;
}

interface PortBody {
  id: string;
  status: string;
  network_id: string;
  device_id: string | null;
  device_owner: string | null;
  mac_address: string;
  fixed_ips: Array<{ ip_address: string; subnet: string }>;
}

interface FloatingIpBody {
  id: string;
  floating_ip_address: string;
  floating_network_id: string;
  port_id: string | null;
  instance_id: string | null;
  tenant_id: string;
}

async function privateNetwork(h: Harness, cidr = '192.168.10.0/24'): Promise<{ network: NetworkBody; subnet: SubnetBody }> {
  const network = await h.call<{ network: NetworkBody }>('POST', '/network/v2.0/networks', { network: { type: 'MAC_FILTERED', name: 'lan' } });
  if (network.status !== 201) throw new Error(`create network: ${network.text}`);
  const subnet = await h.call<{ subnet: SubnetBody }>('POST', '/network/v2.0/subnets', { subnet: { network_id: network.body.network.id, cidr } });
  if (subnet.status !== 201) throw new Error(`create subnet: ${subnet.text}`);
  return { network: network.body.network, subnet: subnet.body.subnet };
}

describe('cyclades simulator: network', () => {
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

  describe('networks and subnets', () => {
    it('lists the public floating-IP network with its subnet', async () => {
      const res = await h.call<{ networks: NetworkBody[] }>('GET', '/network/v2.0/networks');
      expect(res.status).toBe(200);
      expect(res.body.networks).toHaveLength(1);
      const [net] = res.body.networks;
      expect(net).toMatchObject({ id: PUBLIC_NETWORK_ID, public: true, 'router:external': true, 'SNF:floating_ip_pool': true, status: 'ACTIVE', type: 'IP_LESS_ROUTED' });
      const subnet = await h.call<{ subnet: SubnetBody }>('GET', `/network/v2.0/subnets/${net?.subnets[0] ?? ''}`);
      expect(subnet.body.subnet).toMatchObject({ cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', ip_version: 4 });
    });

    it.each([
      [{ network: { name: 'n' } }, 400, 'badRequest', "Malformed request. Missing attribute 'type'."],
      [{ network: { type: 'BOGUS' } }, 400, 'badRequest', 'Invalid network type'],
      [{ network: { type: 'IP_LESS_ROUTED' } }, 403, 'forbidden', "Can not create network of type 'IP_LESS_ROUTED'."],
    ])('refuses network body %j with %i', async (body, status, fault, message) => {
      const res = await h.call<FaultBody>('POST', '/network/v2.0/networks', body);
      expect(res.status).toBe(status);
      expect(res.body[fault]?.message).toBe(message);
    });

    it('creates a private network (201, ACTIVE, string id) and a subnet with default gateway and pool', async () => {
      const { network, subnet } = await privateNetwork(h);
      expect(network).toMatchObject({ status: 'ACTIVE', public: false, type: 'MAC_FILTERED', subnets: [] });
      expect(network.id).toMatch(/^\d+$/);
      expect(subnet).toMatchObject({ network_id: network.id, gateway_ip: '192.168.10.1', allocation_pools: [{ start: '192.168.10.2', end: '192.168.10.254' }] });
      const shown = await h.call<{ network: NetworkBody }>('GET', `/network/v2.0/networks/${network.id}`);
      expect(shown.body.network.subnets).toEqual([subnet.id]);
      const second = await h.call<FaultBody>('POST', '/network/v2.0/subnets', { subnet: { network_id: network.id, cidr: '10.0.0.0/24' } });
      expect(second.status).toBe(400);
      expect(second.body['badRequest']?.message).toBe('Only one subnet of IPv4/IPv6 per network is allowed');
    });

    it('refuses oversized (413) and malformed (400) subnets', async () => {
      const net = await h.call<{ network: NetworkBody }>('POST', '/network/v2.0/networks', { network: { type: 'MAC_FILTERED', name: 'n' } });
      const id = net.body.network.id;
      const wide = await h.call<FaultBody>('POST', '/network/v2.0/subnets', { subnet: { network_id: id, cidr: '10.0.0.0/16' } });
      expect(wide.status).toBe(413);
      expect(wide.body['overLimit']?.message).toBe('Unsupported network size');
      const bad = await h.call<FaultBody>('POST', '/network/v2.0/subnets', { subnet: { network_id: id, cidr: 'not-a-cidr' } });
      expect(bad.status).toBe(400);
      const hostBits = await h.call<FaultBody>('POST', '/network/v2.0/subnets', { subnet: { network_id: id, cidr: '10.0.0.5/24' } });
      expect(hostBits.status).toBe(400);
      const outside = await h.call<FaultBody>('POST', '/network/v2.0/subnets', { subnet: { network_id: id, cidr: '10.0.0.0/24', gateway_ip: '10.9.9.9' } });
      expect(outside.body['badRequest']?.message).toBe('Invalid network IPv4 gateway');
      const publicNet = await h.call<FaultBody>('POST', '/network/v2.0/subnets', { subnet: { network_id: PUBLIC_NETWORK_ID, cidr: '10.1.0.0/24' } });
      expect(publicNet.status).toBe(403);
      expect((await h.call('DELETE', '/network/v2.0/subnets/1')).status).toBe(400);
    });

    it('validates network ids and hides other users’ networks', async () => {
      const invalid = await h.call<FaultBody>('GET', '/network/v2.0/networks/abc');
      expect(invalid.status).toBe(400);
      expect(invalid.body['badRequest']?.message).toBe("Invalid network ID 'abc'");
      const { network } = await privateNetwork(h);
      const foreign = await h.call<FaultBody>('GET', `/network/v2.0/networks/${network.id}`, undefined, { token: OTHER_TOKEN });
      expect(foreign.status).toBe(404);
      expect(foreign.body['itemNotFound']?.message).toBe(`Network ${network.id} not found.`);
    });

    it('charges the private-network quota (413 when exhausted)', async () => {
      expect((await h.call('POST', '/network/v2.0/networks', { network: { type: 'MAC_FILTERED', project: DEMO_PROJECT_B } })).status).toBe(201);
      const second = await h.call<FaultBody>('POST', '/network/v2.0/networks', { network: { type: 'MAC_FILTERED', project: DEMO_PROJECT_B } });
      expect(second.status).toBe(413);
      expect(second.body['overLimit']?.details).toContain("'Private Network'");
    });
  });

  describe('ports', () => {
    it('runs the port lifecycle: BUILD/CONNECTING → ACTIVE in attachments, delete → DISCONNECTING → gone, then the network can go', async () => {
      const server = await activeServer(h);
      const { network, subnet } = await privateNetwork(h);

      const created = await h.call<{ port: PortBody }>('POST', '/network/v2.0/ports', { port: { network_id: network.id, device_id: String(server.id) } });
      expect(created.status).toBe(201);
      const port = created.body.port;
      expect(port).toMatchObject({ status: 'BUILD', network_id: network.id, device_id: String(server.id), device_owner: 'vm' });
      expect(port.fixed_ips).toEqual([{ ip_address: '192.168.10.2', subnet: subnet.id }]);
      expect((await getServer(h, server.id))['SNF:task_state']).toBe('CONNECTING');

      await h.control('POST', '/_sim/advance', { ms: 1000 });
      const connected = await h.call<{ port: PortBody }>('GET', `/network/v2.0/ports/${port.id}`);
      expect(connected.body.port.status).toBe('ACTIVE');
      const withNic = await getServer(h, server.id);
      expect(withNic.attachments).toEqual([{ id: Number(port.id), network_id: network.id, mac_address: port.mac_address, ipv4: '192.168.10.2', ipv6: '', 'OS-EXT-IPS:type': 'fixed' }]);

      const busy = await h.call<FaultBody>('DELETE', `/network/v2.0/networks/${network.id}`);
      expect(busy.status).toBe(409);
      expect(busy.body['conflict']?.message).toBe(`Cannot delete network. There are ports still configured on network network ${network.id}`);

      expect((await h.call('DELETE', `/network/v2.0/ports/${port.id}`)).status).toBe(204);
      expect((await getServer(h, server.id))['SNF:task_state']).toBe('DISCONNECTING');
      expect((await h.call('GET', `/network/v2.0/ports/${port.id}`)).status).toBe(200);
      await h.control('POST', '/_sim/settle');
      expect((await h.call('GET', `/network/v2.0/ports/${port.id}`)).status).toBe(404);
      expect((await getServer(h, server.id)).attachments).toEqual([]);

      expect((await h.call('DELETE', `/network/v2.0/networks/${network.id}`)).status).toBe(204);
      expect((await h.call('GET', `/network/v2.0/networks/${network.id}`)).status).toBe(404);
    });

    it('creates device-less ports DOWN and refuses public ports without a floating IP', async () => {
      const { network } = await privateNetwork(h);
      const down = await h.call<{ port: PortBody }>('POST', '/network/v2.0/ports', { port: { network_id: network.id, fixed_ips: [{ ip_address: '192.168.10.50' }] } });
      expect(down.status).toBe(201);
      expect(down.body.port).toMatchObject({ status: 'DOWN', device_id: null });
      expect(down.body.port.fixed_ips[0]?.ip_address).toBe('192.168.10.50');
      const taken = await h.call<FaultBody>('POST', '/network/v2.0/ports', { port: { network_id: network.id, fixed_ips: [{ ip_address: '192.168.10.50' }] } });
      expect(taken.status).toBe(409);

      const pub = await h.call<FaultBody>('POST', '/network/v2.0/ports', { port: { network_id: PUBLIC_NETWORK_ID } });
      expect(pub.status).toBe(400);
      expect(pub.body['badRequest']?.message).toBe("'fixed_ips' attribute must contain a floating IP address in order to connect to a public network.");
      const badId = await h.call<FaultBody>('GET', '/network/v2.0/ports/xyz');
      expect(badId.body['badRequest']?.message).toBe("Invalid port ID 'xyz'");
    });

    it('needs a STOPPED server to plug a NIC when hotplug is off', async () => {
      await h.control('POST', '/_sim/config', { hotplug: false });
      const server = await activeServer(h);
      const { network } = await privateNetwork(h);
      const res = await h.call<FaultBody>('POST', '/network/v2.0/ports', { port: { network_id: network.id, device_id: String(server.id) } });
      expect(res.status).toBe(400);
      expect(res.body['badRequest']?.message).toBe("Cannot perform 'CONNECT' action while server is in 'STARTED' state.");
    });

    it('refuses a port on a server that is still building (409)', async () => {
      const { network } = await privateNetwork(h);
      const created = await h.call<{ server: { id: number } }>('POST', '/compute/v2.0/servers', {
        server: { name: 'b', imageRef: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0', flavorRef: 1, networks: [] },
      });
      const res = await h.call<FaultBody>('POST', '/network/v2.0/ports', { port: { network_id: network.id, device_id: created.body.server.id } });
      expect(res.status).toBe(409);
      expect(res.body['buildInProgress']).toBeDefined();
      const ports = await h.call<{ ports: unknown[] }>('GET', '/network/v2.0/ports');
      expect(ports.body.ports).toEqual([]);
    });
  });

  describe('floating IPs', () => {
    it('allocates with 200, attaches through a public port, refuses deletion in use, releases after detach', async () => {
      const server = await activeServer(h);
      const fip = await h.call<{ floatingip: FloatingIpBody }>('POST', '/network/v2.0/floatingips', { floatingip: { floating_network_id: PUBLIC_NETWORK_ID } });
      expect(fip.status).toBe(200);
      const ip = fip.body.floatingip;
      expect(ip).toMatchObject({ floating_network_id: PUBLIC_NETWORK_ID, port_id: null, instance_id: null, floating_ip_address: '203.0.113.2' });

      const port = await h.call<{ port: PortBody }>('POST', '/network/v2.0/ports', {
        port: { network_id: PUBLIC_NETWORK_ID, device_id: String(server.id), fixed_ips: [{ ip_address: ip.floating_ip_address }] },
      });
      expect(port.status).toBe(201);
      await h.control('POST', '/_sim/settle');
      const attached = await h.call<{ floatingip: FloatingIpBody }>('GET', `/network/v2.0/floatingips/${ip.id}`);
      expect(attached.body.floatingip).toMatchObject({ port_id: port.body.port.id, instance_id: String(server.id) });

      const inUse = await h.call<FaultBody>('DELETE', `/network/v2.0/floatingips/${ip.id}`);
      expect(inUse.status).toBe(409);
      expect(inUse.body['conflict']?.message).toBe(`IP '${ip.id}' is used by server '${server.id}'`);

      await h.call('DELETE', `/network/v2.0/ports/${port.body.port.id}`);
      await h.control('POST', '/_sim/settle');
      expect((await h.call('DELETE', `/network/v2.0/floatingips/${ip.id}`)).status).toBe(204);
      const list = await h.call<{ floatingips: unknown[] }>('GET', '/network/v2.0/floatingips');
      expect(list.body.floatingips).toEqual([]);
    });

    it('answers 413 when the floating-IP quota is used up', async () => {
      expect((await h.call('POST', '/network/v2.0/floatingips', { floatingip: { project: DEMO_PROJECT_B } })).status).toBe(200);
      const res = await h.call<FaultBody>('POST', '/network/v2.0/floatingips', { floatingip: { project: DEMO_PROJECT_B } });
      expect(res.status).toBe(413);
      expect(res.body['overLimit']?.details).toBe("Limit for resource 'Floating IP address' exceeded for your account. Available: 0, Requested: 1");
    });
  });
});

describe('cyclades simulator: floating IP pool exhaustion', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      seed: { publicNetworks: [{ id: '1', name: 'Tiny public', cidr: '198.51.100.0/29', gateway: '198.51.100.1', type: 'IP_LESS_ROUTED', floatingIpPool: true, poolSize: 1 }] },
    });
  });

  afterAll(async () => {
    await h.close();
  });

  it('answers 409 when the public pool has no address left', async () => {
    const first = await h.call<{ floatingip: FloatingIpBody }>('POST', '/network/v2.0/floatingips', { floatingip: {} });
    expect(first.status).toBe(200);
    expect(first.body.floatingip.floating_ip_address).toBe('198.51.100.2');
    const anyPool = await h.call<FaultBody>('POST', '/network/v2.0/floatingips', { floatingip: {} });
    expect(anyPool.status).toBe(409);
    expect(anyPool.body['conflict']?.message).toBe('Cannot allocate a floating IP address.');
    const onNet = await h.call<FaultBody>('POST', '/network/v2.0/floatingips', { floatingip: { floating_network_id: '1' } });
    expect(onNet.status).toBe(409);
    expect(onNet.body['conflict']?.message).toBe('No more IP addresses available on network 1');
  });
});
