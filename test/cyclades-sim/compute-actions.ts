/**
 * @module `POST /compute/v2.0/servers/<id>/action` (§1.5 of `cyclades-api.md`,
 * `synnefo/api/servers.py:demux_server_action`): one key per body, each action with its own
 * preconditions and response code.
 */

import { randomBytes } from 'node:crypto';
import { badRequest, featureNotEnabled, forbidden, itemNotFound, notImplemented } from './faults.ts';
import { authed, jsonText, empty, isRecord, ok, requireDict, type AuthedRequest, type Route, type SimResponse } from './http.ts';
import type { ServerRecord } from './model.ts';
import { getFlavor, getFloatingIpByAddress, getServer, serverPorts } from './lookups.ts';
import { associatePort, createPort } from './nics.ts';
import { commission, negate, vmCharges, GIB } from './quotas.ts';
import { connectPort, disconnectPort, flavorOf, rebootServer, resizeServer, startServer, stopServer, validateServerAction } from './server-tasks.ts';
import type { SimState } from './state.ts';

type ActionHandler = (req: AuthedRequest, state: SimState, server: ServerRecord, args: Record<string, unknown>) => SimResponse;

const FIREWALL_PROFILES = new Set(['ENABLED', 'DISABLED', 'PROTECTED']);

const start: ActionHandler = (_req, state, server) => {
  validateServerAction(state, server, 'START');
  startServer(state, server);
  return empty(202);
};

const shutdown: ActionHandler = (_req, state, server) => {
  validateServerAction(state, server, 'STOP');
  stopServer(state, server);
  return empty(202);
};

const reboot: ActionHandler = (_req, state, server, args) => {
  const type = args['type'] ?? 'SOFT';
  if (type !== 'SOFT' && type !== 'HARD') throw badRequest("Invalid 'type' attribute.");
  validateServerAction(state, server, 'REBOOT');
  rebootServer(state, server);
  return empty(202);
};

const resize: ActionHandler = (req, state, server, args) => {
  const flavorRef = args['flavorRef'];
  if (flavorRef === undefined || flavorRef === null) throw badRequest("Missing 'flavorRef' attribute.");
  if ((typeof flavorRef !== 'number' && typeof flavorRef !== 'string') || !/^\d+$/.test(String(flavorRef))) throw badRequest('Invalid flavor ID');
  const flavor = getFlavor(state, req.user, String(flavorRef));
  validateServerAction(state, server, 'RESIZE');
  const current = flavorOf(state, server);
  if (current.id === flavor.id) throw badRequest(`Server '${server.id}' flavor is already '${flavor.name}'.`);
  if (current.disk !== flavor.disk) throw badRequest("Cannot change instance's disk size.");
  if (current.volumeTypeId !== flavor.volumeTypeId) throw badRequest("Cannot change instance's volume type.");
  resizeServer(state, server, flavor.id);
  return empty(202);
};

const getConsole: ActionHandler = (_req, _state, server, args) => {
  const type = args['type'];
  if (type === undefined || type === null) throw badRequest("No console 'type' specified.");
  const supported = ['vnc', 'vnc-ws', 'vnc-wss'];
  if (typeof type !== 'string' || !supported.includes(type)) throw badRequest(`Supported types: ${supported.join(', ')}`);
  requireRunning(server);
  return ok(200, { console: { type, host: `vnc-${server.id}.example.org`, port: 5900 + (server.id % 1000), password: randomBytes(6).toString('hex') } });
};

const vncConsole: ActionHandler = (_req, state, server, args) => {
  const type = args['type'];
  if (type === undefined || type === null) throw badRequest("No console 'type' specified.");
  if (type !== 'novnc' && type !== 'xvpvnc') throw badRequest('Supported types: novnc, xvpvnc');
  requireRunning(server);
  const password = randomBytes(6).toString('hex');
  const host = `vnc-${server.id}.example.org`;
  const port = 5900 + (server.id % 1000);
  const url = type === 'novnc' ? `${state.baseUrl}/ui/machines/console?host=${host}&port=${port}&password=${password}` : `${host}:${port}?password=${password}`;
  return ok(200, { console: { type, url } });
};

const firewallProfile: ActionHandler = (_req, state, server, args) => {
  const profile = args['profile'];
  if (profile === undefined || profile === null) throw badRequest("Missing 'profile' attribute");
  const nicId = args['nic'];
  if (nicId === undefined || nicId === null) throw badRequest("Missing 'nic' attribute");
  const nic = serverPorts(state, server.id).find((port) => String(port.id) === jsonText(nicId));
  if (nic === undefined) throw itemNotFound(`NIC ${jsonText(nicId)} not found on server ${server.id}`);
  validateServerAction(state, server, 'SET_FIREWALL_PROFILE');
  if (typeof profile !== 'string' || !FIREWALL_PROFILES.has(profile)) throw badRequest('Unsupported firewall profile');
  nic.firewallProfile = profile;
  nic.updated = state.now();
  server.updated = state.now();
  return empty(202);
};

const reassign: ActionHandler = (req, state, server, args) => {
  const project = args['project'];
  if (project === undefined || project === null) throw badRequest("Missing 'project' attribute.");
  if (typeof project !== 'string') throw badRequest("Malformed request. Invalid 'project' field");
  validateServerAction(state, server, 'REASSIGN');
  if (project !== server.project) {
    const root = Object.values(state.db.volumes).find((volume) => volume.machineId === server.id && volume.index === 0 && !volume.deleted);
    const moved = vmCharges(flavorOf(state, server), server.cpuCharged);
    if (root !== undefined) moved['cyclades.disk'] = root.size * GIB;
    commission(state, project, moved, { user: req.user });
    commission(state, server.project, negate(moved));
    server.project = project;
    if (root !== undefined) root.project = project;
    server.updated = state.now();
  }
  server.sharedToProject = args['shared_to_project'] === true;
  return empty(200);
};

const addFloatingIp: ActionHandler = (req, state, server, args) => {
  const address = args['address'];
  if (address === undefined || address === null) throw badRequest("Missing 'address' attribute");
  const ip = getFloatingIpByAddress(state, req.user, jsonText(address));
  if (serverPorts(state, server.id).length >= state.db.config.maxNicsPerServer) throw badRequest('Maximum ports per server limit reached');
  const network = state.db.networks[ip.networkId];
  if (network === undefined) throw itemNotFound(`Network ${ip.networkId} not found.`);
  const port = createPort(state, req.user, network, { ip });
  validateServerAction(state, server, 'CONNECT');
  associatePort(state, port, server);
  connectPort(state, server, port.id);
  return empty(202);
};

const removeFloatingIp: ActionHandler = (req, state, server, args) => {
  const address = args['address'];
  if (address === undefined || address === null) throw badRequest("Missing 'address' attribute");
  const ip = getFloatingIpByAddress(state, req.user, jsonText(address));
  const port = ip.portId === null ? undefined : state.db.ports[String(ip.portId)];
  if (port === undefined || port.machineId !== server.id) throw badRequest(`Floating IP ${jsonText(address)} not attached to instance`);
  validateServerAction(state, server, 'DISCONNECT');
  disconnectPort(state, server, port.id);
  return empty(202);
};

function refuse(error: () => Error): ActionHandler {
  return () => {
    throw error();
  };
}

/** Every action key the simulator knows; anything else is `Action <x> not supported`. */
const ACTIONS: Readonly<Record<string, ActionHandler>> = {
  start,
  'os-start': start,
  shutdown,
  'os-stop': shutdown,
  reboot,
  resize,
  console: getConsole,
  'os-getVNCConsole': vncConsole,
  'os-getRDPConsole': refuse(() => notImplemented('RDP console not implemented')),
  'os-getSPICEConsole': refuse(() => notImplemented('Spice console not implemented')),
  firewallProfile,
  reassign,
  addFloatingIp,
  removeFloatingIp,
  rescue: refuse(() => featureNotEnabled('Rescue feature is not enabled')),
  unrescue: refuse(() => featureNotEnabled('Rescue feature is not enabled')),
  suspend: refuse(() => forbidden('User is not allowed to suspend his server')),
  changePassword: refuse(() => notImplemented('Changing password is not supported.')),
  rebuild: refuse(() => notImplemented('Rebuild not supported.')),
  confirmResize: refuse(() => notImplemented('Resize not supported.')),
  revertResize: refuse(() => notImplemented('Resize not supported.')),
};

function requireRunning(server: ServerRecord): void {
  if (server.operstate !== 'STARTED') throw badRequest('Server not in ACTIVE state.');
}

function serverAction(req: AuthedRequest, state: SimState): SimResponse {
  const body = req.json();
  if (!isRecord(body) || Object.keys(body).length !== 1) throw badRequest('Malformed request');
  const server = getServer(state, req.user, req.params[0] ?? '', { nonDeleted: true, nonSuspended: true });
  const action = Object.keys(body)[0] ?? '';
  const handler = Object.hasOwn(ACTIONS, action) ? ACTIONS[action] : undefined;
  if (handler === undefined) throw badRequest(`Action ${action} not supported`);
  const args = requireDict(body, action);
  return handler(req, state, server, args);
}

/** The server action route. */
export function actionRoutes(): Route[] {
  return [authed('POST', '/compute/v2\\.0/servers/(\\d+)/action', serverAction)];
}
