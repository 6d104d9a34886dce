/**
 * @module Ports and IPv4 addresses, shared by server creation, the ports API and floating IPs
 * (`logic/servers.py:_create_port`, `logic/ips.py`).
 */

import type { AuthUser } from './auth.ts';
import { badRequest, conflict } from './faults.ts';
import { cidrContains, firstFree, formatIPv4, inPools, macForPort, parseCidr, parseIPv4, type Range } from './ipam.ts';
import type { IpRecord, NetworkRecord, PortRecord, ServerRecord, SubnetRecord } from './model.ts';
import type { SimState } from './state.ts';

/** The IPv4 subnet of a network, if it has one. */
export function ipv4Subnet(state: SimState, networkId: string): SubnetRecord | undefined {
  return Object.values(state.db.subnets).find((subnet) => subnet.networkId === networkId && subnet.ipVersion === 4);
}

/** Options of {@link allocateIp}. */
export interface AllocateOptions {
  /** A specific address to take. */
  address?: string;
  floating: boolean;
  project: string;
}

/** Takes an address from the network's IPv4 pools (`logic/ips.py:allocate_ip`). */
export function allocateIp(state: SimState, network: NetworkRecord, userId: string, options: AllocateOptions): IpRecord {
  const subnet = ipv4Subnet(state, network.id);
  if (subnet === undefined) throw conflict(`No more IP addresses available on network ${network.id}`);
  const pools = poolRanges(subnet);
  const used = new Set(
    Object.values(state.db.ips)
      .filter((ip) => ip.subnetId === subnet.id)
      .map((ip) => parseIPv4(ip.address) ?? -1),
  );
  let address: number | null;
  if (options.address !== undefined) {
    address = parseIPv4(options.address);
    const cidr = parseCidr(subnet.cidr);
    if (address === null || cidr === null || !cidrContains(cidr, address) || !inPools(pools, address)) {
      throw badRequest(`Address ${options.address} does not belong to network ${network.id}`);
    }
    if (used.has(address)) throw conflict(`IP address ${options.address} is already used.`);
  } else {
    address = firstFree(pools, used);
    if (address === null) throw conflict(`No more IP addresses available on network ${network.id}`);
  }
  const now = state.now();
  const ip: IpRecord = {
    id: state.nextId('ip'),
    address: formatIPv4(address),
    networkId: network.id,
    subnetId: subnet.id,
    userId,
    project: options.project,
    floating: options.floating,
    portId: null,
    sharedToProject: false,
    created: now,
    updated: now,
  };
  state.db.ips[String(ip.id)] = ip;
  return ip;
}

function poolRanges(subnet: SubnetRecord): Range[] {
  const ranges: Range[] = [];
  for (const pool of subnet.pools) {
    const start = parseIPv4(pool.start);
    const end = parseIPv4(pool.end);
    if (start !== null && end !== null) ranges.push({ start, end });
  }
  return ranges;
}

/** Options of {@link createPort}. */
export interface CreatePortOptions {
  /** An existing address (a floating IP) the port takes. */
  ip?: IpRecord;
  /** A specific address to allocate on a private network. */
  address?: string;
  name?: string;
  securityGroups?: string[];
}

/** Creates a `DOWN` port on `network` with an IPv4 address when the network has a subnet. */
export function createPort(state: SimState, user: AuthUser, network: NetworkRecord, options: CreatePortOptions = {}): PortRecord {
  if (network.status !== 'ACTIVE') throw conflict(`Cannot create port while network '${network.id}' is in '${network.status}' status`);
  let ip: IpRecord | undefined = options.ip;
  if (ip !== undefined) {
    if (ip.networkId !== network.id) throw conflict(`IP Address ${ip.address} does not belong to network ${network.id}`);
    if (ip.portId !== null) throw conflict(`IP address '${ip.address}' is already in use`);
  } else if (ipv4Subnet(state, network.id) !== undefined) {
    ip = allocateIp(state, network, user.uuid, { address: options.address, floating: false, project: user.uuid });
  } else if (options.address !== undefined) {
    throw badRequest(`Address ${options.address} is not a valid IP for the defined network subnets`);
  }
  const now = state.now();
  const id = state.nextId('port');
  const port: PortRecord = {
    id,
    name: options.name ?? '',
    networkId: network.id,
    userId: user.uuid,
    machineId: null,
    status: 'DOWN',
    deviceOwner: null,
    mac: macForPort(id),
    firewallProfile: null,
    securityGroups: options.securityGroups ?? [],
    created: now,
    updated: now,
  };
  state.db.ports[String(id)] = port;
  if (ip !== undefined) {
    ip.portId = port.id;
    ip.updated = now;
  }
  return port;
}

/** Plugs a port into a server: `BUILD` until the server's job finishes (`associate_port_with_machine`). */
export function associatePort(state: SimState, port: PortRecord, server: ServerRecord): void {
  if (port.machineId !== null) throw conflict(`Port ${port.id} is already in use.`);
  port.machineId = server.id;
  port.status = 'BUILD';
  port.deviceOwner = 'vm';
  port.updated = state.now();
}

/** Releases a port's addresses: private ones go back to the pool, floating ones stay with the user (`backend.remove_nic_ips`). */
export function removeNicIps(state: SimState, port: PortRecord): void {
  for (const ip of Object.values(state.db.ips)) {
    if (ip.portId !== port.id) continue;
    if (ip.floating) {
      ip.portId = null;
      ip.updated = state.now();
    } else {
      delete state.db.ips[String(ip.id)];
    }
  }
}

/** Removes a port and releases its addresses. */
export function deletePortNow(state: SimState, port: PortRecord): void {
  removeNicIps(state, port);
  delete state.db.ports[String(port.id)];
}

/** One of the user's floating IPs that no port holds (`logic/ips.py:get_free_floating_ip`). */
export function freeFloatingIp(state: SimState, user: AuthUser, network?: NetworkRecord): IpRecord {
  const ip = Object.values(state.db.ips)
    .filter((candidate) => candidate.floating && candidate.userId === user.uuid && candidate.portId === null)
    .filter((candidate) => network === undefined || candidate.networkId === network.id)
    .sort((a, b) => a.id - b.id)[0];
  if (ip !== undefined) return ip;
  const target = network === undefined ? ' a public network.' : ` network '${network.id}'.`;
  throw conflict(`Cannot find an unused floating IP to connect server to${target} Please create a floating IP.`);
}
