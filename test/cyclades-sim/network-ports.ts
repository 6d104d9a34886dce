/**
 * @module Ports and floating IPs of the network API (§1.7 of `cyclades-api.md`,
 * `synnefo/api/ports.py`, `synnefo/api/floating_ips.py`, `synnefo/logic/ips.py`).
 */

import type { AuthUser } from './auth.ts';
import { badRequest, conflict, forbidden } from './faults.ts';
import { authed, empty, isRecord, links, ok, optionalId, optionalString, requireDict, requireId, requireString, type AuthedRequest, type Route, type SimResponse } from './http.ts';
import type { IpRecord, NetworkRecord, PortRecord } from './model.ts';
import { getFloatingIp, getFloatingIpByAddress, getNetwork, getPort, getServer, portIps, serverPorts } from './lookups.ts';
import { allocateIp, associatePort, createPort, deletePortNow, ipv4Subnet } from './nics.ts';
import { commission } from './quotas.ts';
import { connectPort, disconnectPort, validateServerAction } from './server-tasks.ts';
import type { SimState } from './state.ts';

const N = '/network/v2\\.0';

/** `port_to_dict`. */
export function portView(state: SimState, port: PortRecord): Record<string, unknown> {
  return {
    id: String(port.id),
    name: port.name,
    status: port.status,
    admin_state_up: true,
    network_id: port.networkId,
    device_id: port.machineId === null ? null : String(port.machineId),
    device_owner: port.deviceOwner,
    mac_address: port.mac,
    fixed_ips: portIps(state, port.id).map((ip) => ({ ip_address: ip.address, subnet: ip.subnetId })),
    security_groups: [...port.securityGroups],
    user_id: port.userId,
    tenant_id: port.userId,
    created: state.iso(port.created),
    updated: state.iso(port.updated),
    links: links(state, `/network/v2.0/ports/${port.id}`),
  };
}

/** `ip_to_dict` for a floating IP. */
export function floatingIpView(state: SimState, ip: IpRecord): Record<string, unknown> {
  const port = ip.portId === null ? undefined : state.db.ports[String(ip.portId)];
  return {
    id: String(ip.id),
    floating_ip_address: ip.address,
    floating_network_id: ip.networkId,
    fixed_ip_address: null,
    port_id: ip.portId === null ? null : String(ip.portId),
    instance_id: port === undefined || port.machineId === null ? null : String(port.machineId),
    user_id: ip.userId,
    tenant_id: ip.project,
    shared_to_project: ip.sharedToProject,
    deleted: false,
    created: state.iso(ip.created),
    updated: state.iso(ip.updated),
    links: links(state, `/network/v2.0/floatingips/${ip.id}`),
  };
}

function listPorts(req: AuthedRequest, state: SimState): SimResponse {
  const deviceId = req.query.get('device_id');
  const networkId = req.query.get('network_id');
  const ports = Object.values(state.db.ports)
    .filter((port) => port.userId === req.user.uuid)
    .filter((port) => deviceId === null || String(port.machineId) === deviceId)
    .filter((port) => networkId === null || port.networkId === networkId)
    .sort((a, b) => a.id - b.id);
  return ok(200, { ports: ports.map((port) => portView(state, port)) });
}

function requestedAddress(body: Record<string, unknown>): string | undefined {
  const fixedIps = body['fixed_ips'];
  if (fixedIps === undefined || fixedIps === null) return undefined;
  if (!Array.isArray(fixedIps)) throw badRequest("Malformed request. Invalid 'fixed_ips' field");
  if (fixedIps.length === 0) return undefined;
  if (fixedIps.length > 1) throw badRequest("'fixed_ips' attribute must contain only one fixed IP.");
  const entry: unknown = fixedIps[0];
  const address = isRecord(entry) ? entry['ip_address'] : undefined;
  if (typeof address !== 'string' || address.includes(':')) throw badRequest('Invalid fixed IP address. Only IPv4 addresses are supported.');
  return address;
}

function createPortHandler(req: AuthedRequest, state: SimState): SimResponse {
  const body = requireDict(req.json(), 'port');
  const network = getNetwork(state, req.user, requireId(body, 'network_id'));
  const deviceId = optionalId(body, 'device_id');
  const server = deviceId === undefined || deviceId === '' ? null : getServer(state, req.user, deviceId, { nonDeleted: true, nonSuspended: true });
  const name = optionalString(body, 'name') ?? '';
  const groups = body['security_groups'] ?? [];
  if (!Array.isArray(groups)) throw badRequest("Malformed request. Invalid 'security_groups' field");
  const address = requestedAddress(body);
  if (server !== null && serverPorts(state, server.id).length >= state.db.config.maxNicsPerServer) throw badRequest('Maximum ports per server limit reached');
  let port: PortRecord;
  if (network.public) {
    if (address === undefined) {
      throw badRequest("'fixed_ips' attribute must contain a floating IP address in order to connect to a public network.");
    }
    port = createPort(state, req.user, network, { ip: getFloatingIpByAddress(state, req.user, address), name, securityGroups: groups.map(String) });
  } else {
    port = createPort(state, req.user, network, address === undefined ? { name, securityGroups: groups.map(String) } : { address, name, securityGroups: groups.map(String) });
  }
  if (server !== null) {
    validateServerAction(state, server, 'CONNECT');
    associatePort(state, port, server);
    connectPort(state, server, port.id);
  }
  return ok(201, { port: portView(state, port) });
}

function updatePort(req: AuthedRequest, state: SimState): SimResponse {
  const port = getPort(state, req.user, req.params[0] ?? '');
  const body = requireDict(req.json(), 'port');
  const name = optionalString(body, 'name');
  if (name !== undefined) port.name = name;
  const groups = body['security_groups'];
  if (Array.isArray(groups)) port.securityGroups = groups.map(String);
  port.updated = state.now();
  return ok(200, { port: portView(state, port) });
}

function deletePort(req: AuthedRequest, state: SimState): SimResponse {
  const port = getPort(state, req.user, req.params[0] ?? '');
  const server = port.machineId === null ? undefined : state.db.servers[String(port.machineId)];
  if (server === undefined || server.deleted) {
    deletePortNow(state, port);
    return empty(204);
  }
  const network = state.db.networks[port.networkId];
  if (network !== undefined && network.public && !portIps(state, port.id).some((ip) => ip.floating)) {
    throw forbidden('Cannot disconnect from public network.');
  }
  validateServerAction(state, server, 'DISCONNECT');
  disconnectPort(state, server, port.id);
  return empty(204);
}

function floatingPools(state: SimState): NetworkRecord[] {
  return Object.values(state.db.networks)
    .filter((network) => network.public && network.floatingIpPool && !network.deleted && ipv4Subnet(state, network.id) !== undefined)
    .sort((a, b) => Number(a.id) - Number(b.id));
}

function allocateFloating(state: SimState, user: AuthUser, network: NetworkRecord | undefined, address: string | undefined, project: string): IpRecord {
  if (network !== undefined) {
    if (!network.floatingIpPool) throw conflict(`Cannot allocate floating IP. Network ${network.id} is not a floating IP pool.`);
    return allocateIp(state, network, user.uuid, address === undefined ? { floating: true, project } : { address, floating: true, project });
  }
  for (const pool of floatingPools(state)) {
    try {
      return allocateIp(state, pool, user.uuid, { floating: true, project });
    } catch {
      // An exhausted pool; try the next one, as `allocate_public_ip` walks every pool row.
    }
  }
  throw conflict('Cannot allocate a floating IP address.');
}

function createFloatingIp(req: AuthedRequest, state: SimState): SimResponse {
  const body = requireDict(req.json(), 'floatingip');
  // Clients such as snf-occi send `null`/`""` to mean "any pool, any address".
  const networkId = optionalId(body, 'floating_network_id');
  const addressRaw = optionalString(body, 'floating_ip_address');
  const address = addressRaw === undefined || addressRaw === '' ? undefined : addressRaw;
  const project = optionalString(body, 'project') ?? req.user.uuid;
  const network = networkId === undefined || networkId === '' ? undefined : getNetwork(state, req.user, networkId);
  if (network === undefined && address !== undefined) throw badRequest("Cannot specify 'floating_ip_address' without 'floating_network_id'");
  const ip = allocateFloating(state, req.user, network, address, project);
  commission(state, project, { 'cyclades.floating_ip': 1 }, { user: req.user });
  return ok(200, { floatingip: floatingIpView(state, ip) });
}

function deleteFloatingIp(req: AuthedRequest, state: SimState): SimResponse {
  const ip = getFloatingIp(state, req.user, req.params[0] ?? '');
  if (ip.portId !== null) {
    const port = state.db.ports[String(ip.portId)];
    if (port !== undefined && port.machineId !== null) throw conflict(`IP '${ip.id}' is used by server '${port.machineId}'`);
    throw conflict(`IP '${ip.id}' is used by port '${ip.portId}'`);
  }
  delete state.db.ips[String(ip.id)];
  commission(state, ip.project, { 'cyclades.floating_ip': -1 });
  return empty(204);
}

function floatingIpAction(req: AuthedRequest, state: SimState): SimResponse {
  const body = req.json();
  const ip = getFloatingIp(state, req.user, req.params[0] ?? '');
  if (!isRecord(body) || Object.keys(body).length !== 1) throw badRequest('Malformed request');
  const action = Object.keys(body)[0] ?? '';
  if (action !== 'reassign') throw badRequest(`Action ${action} not supported`);
  const project = requireString(requireDict(body, 'reassign'), 'project');
  if (project !== ip.project) {
    commission(state, project, { 'cyclades.floating_ip': 1 }, { user: req.user });
    commission(state, ip.project, { 'cyclades.floating_ip': -1 });
    ip.project = project;
    ip.updated = state.now();
  }
  return empty(200);
}

/** Port and floating IP routes. */
export function portRoutes(): Route[] {
  return [
    authed('GET', `${N}/ports`, listPorts),
    authed('POST', `${N}/ports`, createPortHandler),
    authed('GET', `${N}/ports/(\\w+)`, (req, state) => ok(200, { port: portView(state, getPort(state, req.user, req.params[0] ?? '')) })),
    authed('PUT', `${N}/ports/(\\w+)`, updatePort),
    authed('DELETE', `${N}/ports/(\\w+)`, deletePort),
    authed('GET', `${N}/floatingips`, (req, state) => {
      const mine = Object.values(state.db.ips)
        .filter((ip) => ip.floating && ip.userId === req.user.uuid)
        .sort((a, b) => a.id - b.id);
      return ok(200, { floatingips: mine.map((ip) => floatingIpView(state, ip)) });
    }),
    authed('POST', `${N}/floatingips`, createFloatingIp),
    authed('GET', `${N}/floatingips/(\\w+)`, (req, state) => ok(200, { floatingip: floatingIpView(state, getFloatingIp(state, req.user, req.params[0] ?? '')) })),
    authed('DELETE', `${N}/floatingips/(\\w+)`, deleteFloatingIp),
    authed('POST', `${N}/floatingips/(\\w+)/action`, floatingIpAction),
  ];
}
