/**
 * @module Networks and subnets of the network API (§1.7 of `cyclades-api.md`,
 * `synnefo/api/networks.py`, `synnefo/api/subnets.py`, `synnefo/logic/subnets.py`).
 */

import type { AuthUser } from './auth.ts';
import { badRequest, conflict, forbidden, overLimit } from './faults.ts';
import { authed, empty, isRecord, links, ok, optionalBoolean, optionalString, requireDict, requireId, requireString, type AuthedRequest, type Route, type SimResponse } from './http.ts';
import { cidrContains, defaultPools, formatIPv4, looksLikeIPv6Cidr, parseCidr, parseIPv4, type Range } from './ipam.ts';
import type { NetworkRecord, SubnetRecord } from './model.ts';
import { getNetwork, getSubnet } from './lookups.ts';
import { commission } from './quotas.ts';
import type { SimState } from './state.ts';

const N = '/network/v2\\.0';
const NETWORK_TYPES = ['MAC_FILTERED', 'IP_LESS_ROUTED', 'PHYSICAL_VLAN', 'CUSTOM'];
/** `MAX_CIDR_BLOCK`: the widest private IPv4 subnet. */
const MAX_CIDR_BLOCK = 22;
const MAX_SUBNET_NAME = 128;

/** `network_to_dict`. */
export function networkView(state: SimState, network: NetworkRecord): Record<string, unknown> {
  const subnets = Object.values(state.db.subnets)
    .filter((subnet) => subnet.networkId === network.id)
    .sort((a, b) => Number(a.id) - Number(b.id))
    .map((subnet) => subnet.id);
  return {
    id: network.id,
    name: network.name,
    links: links(state, `/network/v2.0/networks/${network.id}`),
    user_id: network.userId,
    tenant_id: network.project,
    shared_to_project: network.sharedToProject,
    type: network.type,
    status: network.status,
    public: network.public,
    shared: network.public,
    'router:external': network.public,
    admin_state_up: true,
    subnets,
    'SNF:floating_ip_pool': network.floatingIpPool,
    created: state.iso(network.created),
    updated: state.iso(network.updated),
    deleted: network.deleted,
  };
}

/** `subnet_to_dict`. */
export function subnetView(state: SimState, subnet: SubnetRecord): Record<string, unknown> {
  return {
    id: subnet.id,
    name: subnet.name,
    network_id: subnet.networkId,
    ip_version: subnet.ipVersion,
    cidr: subnet.cidr,
    gateway_ip: subnet.gateway,
    enable_dhcp: subnet.dhcp,
    enable_slaac: subnet.slaac,
    allocation_pools: subnet.pools.map((pool) => ({ ...pool })),
    dns_nameservers: [...subnet.dns],
    host_routes: [...subnet.hostRoutes],
    user_id: subnet.userId,
    tenant_id: subnet.userId,
    public: subnet.public,
    links: links(state, `/network/v2.0/subnets/${subnet.id}`),
  };
}

function visibleNetworks(state: SimState, user: AuthUser): NetworkRecord[] {
  return Object.values(state.db.networks)
    .filter((network) => !network.deleted && (network.public || network.userId === user.uuid))
    .sort((a, b) => Number(a.id) - Number(b.id));
}

function createNetwork(req: AuthedRequest, state: SimState): SimResponse {
  const body = requireDict(req.json(), 'network');
  const type = requireString(body, 'type');
  if (!NETWORK_TYPES.includes(type)) throw badRequest('Invalid network type');
  if (!state.db.config.apiEnabledNetworkTypes.includes(type)) throw forbidden(`Can not create network of type '${type}'.`);
  const name = optionalString(body, 'name') ?? '';
  const project = optionalString(body, 'project') ?? req.user.uuid;
  const shared = optionalBoolean(body, 'shared_to_project') ?? false;
  commission(state, project, { 'cyclades.network.private': 1 }, { user: req.user });
  const now = state.now();
  const network: NetworkRecord = {
    id: String(state.nextId('network')),
    name,
    userId: req.user.uuid,
    project,
    type,
    public: false,
    floatingIpPool: false,
    status: 'ACTIVE',
    sharedToProject: shared,
    deleted: false,
    created: now,
    updated: now,
  };
  state.db.networks[network.id] = network;
  return ok(201, { network: networkView(state, network) });
}

function renameNetwork(req: AuthedRequest, state: SimState): SimResponse {
  const body = requireDict(req.json(), 'network');
  const network = getNetwork(state, req.user, req.params[0] ?? '');
  if (network.public) throw forbidden('Cannot rename the public network.');
  const name = requireString(body, 'name');
  network.name = name;
  network.updated = state.now();
  return ok(200, { network: networkView(state, network) });
}

function deleteNetwork(req: AuthedRequest, state: SimState): SimResponse {
  const network = getNetwork(state, req.user, req.params[0] ?? '');
  if (network.public) throw forbidden('Cannot delete the public network.');
  const inUse = Object.values(state.db.ports).some((port) => port.networkId === network.id) || Object.values(state.db.ips).some((ip) => ip.networkId === network.id && ip.floating);
  if (inUse) throw conflict(`Cannot delete network. There are ports still configured on network network ${network.id}`);
  for (const subnet of Object.values(state.db.subnets)) {
    if (subnet.networkId === network.id) delete state.db.subnets[subnet.id];
  }
  network.deleted = true;
  network.status = 'DELETED';
  network.updated = state.now();
  if (network.project !== null) commission(state, network.project, { 'cyclades.network.private': -1 });
  return empty(204);
}

function networkAction(req: AuthedRequest, state: SimState): SimResponse {
  const body = req.json();
  const network = getNetwork(state, req.user, req.params[0] ?? '');
  if (!isRecord(body) || Object.keys(body).length !== 1) throw badRequest('Malformed request');
  const action = Object.keys(body)[0] ?? '';
  if (action !== 'reassign') throw badRequest(`Action ${action} not supported`);
  if (network.public) throw forbidden('Cannot reassign a public network.');
  const args = requireDict(body, 'reassign');
  const project = requireString(args, 'project');
  if (project !== network.project) {
    commission(state, project, { 'cyclades.network.private': 1 }, { user: req.user });
    if (network.project !== null) commission(state, network.project, { 'cyclades.network.private': -1 });
    network.project = project;
  }
  network.sharedToProject = args['shared_to_project'] === true;
  network.updated = state.now();
  return empty(200);
}

/** Parses `allocation_pools` and checks them the way `validate_subpools` does. */
function parsePools(raw: unknown, cidr: { network: number; broadcast: number }, gateway: number | null): Range[] {
  if (!Array.isArray(raw)) throw badRequest("Malformed request. Invalid 'allocation_pools' field");
  const pools: Range[] = raw.map((entry) => {
    const start = isRecord(entry) && typeof entry['start'] === 'string' ? parseIPv4(entry['start']) : null;
    const end = isRecord(entry) && typeof entry['end'] === 'string' ? parseIPv4(entry['end']) : null;
    if (start === null || end === null) throw badRequest('Malformed IP pool');
    return { start, end };
  });
  pools.sort((a, b) => a.start - b.start);
  let previousEnd = cidr.network;
  for (const pool of pools) {
    if (pool.start <= cidr.network || pool.end >= cidr.broadcast) throw conflict('IP Pool out of bounds');
    if (pool.start > pool.end) throw conflict('Invalid IP pool range');
    if (gateway !== null && gateway >= pool.start && gateway <= pool.end) throw conflict('Gateway cannot be in pool range');
    if (previousEnd >= pool.start) throw conflict('IP Pool range conflict');
    previousEnd = pool.end;
  }
  return pools;
}

function createSubnet(req: AuthedRequest, state: SimState): SimResponse {
  const body = requireDict(req.json(), 'subnet');
  const networkId = requireId(body, 'network_id');
  const cidrText = requireString(body, 'cidr');
  const version = body['ip_version'] ?? 4;
  if (version !== 4 && version !== 6) throw badRequest('Malformed IP version type');
  const network = getNetwork(state, req.user, networkId);
  if (network.public) throw forbidden('Can not create subnet in a public network.');
  if (Object.values(state.db.subnets).some((subnet) => subnet.networkId === network.id && subnet.ipVersion === version)) {
    throw badRequest('Only one subnet of IPv4/IPv6 per network is allowed');
  }
  if (Object.values(state.db.ports).some((port) => port.networkId === network.id && port.machineId !== null)) {
    throw badRequest('Cannot create subnet in network with active ports');
  }
  const name = optionalString(body, 'name') ?? '';
  if (name.length > MAX_SUBNET_NAME) throw badRequest('Subnet name too long');
  const dhcp = body['enable_dhcp'] ?? true;
  if (typeof dhcp !== 'boolean') throw badRequest('Malformed request, enable_dhcp must be True or False');
  const dns = body['dns_nameservers'] ?? [];
  const hostRoutes = body['host_routes'] ?? [];
  if (!Array.isArray(dns) || !dns.every((entry) => typeof entry === 'string')) throw badRequest("Malformed request. Invalid 'dns_nameservers' field");
  if (!Array.isArray(hostRoutes)) throw badRequest("Malformed request. Invalid 'host_routes' field");
  const gatewayRaw = 'gateway_ip' in body ? body['gateway_ip'] : undefined;
  if (gatewayRaw !== undefined && gatewayRaw !== null && typeof gatewayRaw !== 'string') throw badRequest("Malformed request. Invalid 'gateway_ip' field");

  let gateway: string | null;
  let pools: Range[] = [];
  let slaac = false;
  if (version === 4) {
    if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidrText)) throw badRequest('Malformed CIDR');
    const cidr = parseCidr(cidrText);
    if (cidr === null) throw badRequest('Invalid network IPv4 subnet');
    if (cidr.prefix < MAX_CIDR_BLOCK || cidr.prefix > 29) {
      throw overLimit('Unsupported network size', `Netmask must be in range: [${MAX_CIDR_BLOCK}, 29]`);
    }
    let gatewayValue: number | null;
    if (gatewayRaw === undefined) {
      gatewayValue = cidr.network + 1;
    } else if (gatewayRaw === null) {
      gatewayValue = null;
    } else {
      gatewayValue = parseIPv4(gatewayRaw);
      if (gatewayValue === null || !cidrContains(cidr, gatewayValue) || gatewayValue === cidr.network || gatewayValue === cidr.broadcast) {
        throw badRequest('Invalid network IPv4 gateway');
      }
    }
    gateway = gatewayValue === null ? null : formatIPv4(gatewayValue);
    pools = body['allocation_pools'] === undefined || body['allocation_pools'] === null ? defaultPools(cidr, gatewayValue) : parsePools(body['allocation_pools'], cidr, gatewayValue);
  } else {
    if (!looksLikeIPv6Cidr(cidrText)) throw badRequest('Malformed CIDR');
    if (body['allocation_pools'] !== undefined && body['allocation_pools'] !== null) throw conflict("Can't allocate an IP Pool in IPv6");
    gateway = gatewayRaw ?? null;
    const slaacRaw = body['enable_slaac'] ?? true;
    if (typeof slaacRaw !== 'boolean') throw badRequest('Malformed request, enable_slaac must be True or False');
    slaac = slaacRaw;
  }
  const now = state.now();
  const subnet: SubnetRecord = {
    id: String(state.nextId('subnet')),
    networkId: network.id,
    name,
    ipVersion: version,
    cidr: cidrText,
    gateway,
    dhcp,
    slaac,
    pools: pools.map((pool) => ({ start: formatIPv4(pool.start), end: formatIPv4(pool.end) })),
    dns: dns.filter((entry): entry is string => typeof entry === 'string'),
    hostRoutes,
    userId: req.user.uuid,
    public: false,
    created: now,
    updated: now,
  };
  state.db.subnets[subnet.id] = subnet;
  network.updated = now;
  return ok(201, { subnet: subnetView(state, subnet) });
}

function updateSubnet(req: AuthedRequest, state: SimState): SimResponse {
  const body = requireDict(req.json(), 'subnet');
  const subnet = getSubnet(state, req.user, req.params[0] ?? '');
  if (subnet.public) throw forbidden('Cannot update a public subnet.');
  if (Object.keys(body).some((key) => key !== 'name')) throw badRequest('Only the name of a subnet can be updated');
  const name = requireString(body, 'name');
  if (name.length > MAX_SUBNET_NAME) throw badRequest('Subnet name too long');
  subnet.name = name;
  subnet.updated = state.now();
  return ok(200, { subnet: subnetView(state, subnet) });
}

/** Network and subnet routes. */
export function networkRoutes(): Route[] {
  return [
    authed('GET', `${N}/networks`, (req, state) => ok(200, { networks: visibleNetworks(state, req.user).map((network) => networkView(state, network)) })),
    authed('POST', `${N}/networks`, createNetwork),
    authed('GET', `${N}/networks/(\\w+)`, (req, state) => ok(200, { network: networkView(state, getNetwork(state, req.user, req.params[0] ?? '')) })),
    authed('PUT', `${N}/networks/(\\w+)`, renameNetwork),
    authed('DELETE', `${N}/networks/(\\w+)`, deleteNetwork),
    authed('POST', `${N}/networks/(\\w+)/action`, networkAction),
    authed('GET', `${N}/subnets`, (req, state) => {
      const mine = Object.values(state.db.subnets)
        .filter((subnet) => subnet.userId === req.user.uuid)
        .sort((a, b) => Number(a.id) - Number(b.id));
      return ok(200, { subnets: mine.map((subnet) => subnetView(state, subnet)) });
    }),
    authed('POST', `${N}/subnets`, createSubnet),
    authed('GET', `${N}/subnets/(\\w+)`, (req, state) => ok(200, { subnet: subnetView(state, getSubnet(state, req.user, req.params[0] ?? '')) })),
    authed('PUT', `${N}/subnets/(\\w+)`, updateSubnet),
    authed('DELETE', `${N}/subnets/(\\w+)`, () => {
      throw badRequest('Deletion of a subnet is not supported');
    }),
  ];
}
