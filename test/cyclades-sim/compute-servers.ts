/**
 * @module Servers of the compute API: list, create (with the §1.4 validation order), show,
 * rename, delete, addresses, metadata and the one-time admin password
 * (`synnefo/api/servers.py`, `synnefo/logic/servers.py:create`).
 */

import type { AuthUser } from './auth.ts';
import { badRequest, buildInProgress, conflict, forbidden, itemNotFound, overLimit } from './faults.ts';
import { authed, jsonText, changesSince, empty, isRecord, links, notModified, ok, requireDict, requireString, type AuthedRequest, type Route, type SimResponse } from './http.ts';
import type { PortRecord, ServerRecord, VolumeRecord } from './model.ts';
import { getImage, getNetwork, getPort, getServer, portIps, serverPorts, serverVolumes } from './lookups.ts';
import { associatePort, createPort, freeFloatingIp, ipv4Subnet } from './nics.ts';
import { commission, vmCharges, GIB } from './quotas.ts';
import type { SeedFlavor } from './seed.ts';
import { TASK_STATES, completeBuild, destroyServer, rsapiStatus, serverProgress, startTask, validateServerAction } from './server-tasks.ts';
import type { SimState } from './state.ts';

const C = '/compute/v2\\.0';
const MAX_NAME = 255;
const MAX_METADATA = 10;
const MAX_TAGS = 50;
const MAX_PERSONALITY = 5;
const MAX_PERSONALITY_SIZE = 10240;
const PERSONALITY_KEYS = new Set(['contents', 'group', 'mode', 'owner', 'path']);

/** Server CRUD, addresses, metadata and password routes. */
export function serverRoutes(): Route[] {
  return [
    authed('GET', `${C}/servers`, (req, state) => listServers(req, state, false)),
    authed('POST', `${C}/servers`, createServer),
    authed('GET', `${C}/servers/detail`, (req, state) => listServers(req, state, true)),
    authed('GET', `${C}/servers/(\\d+)`, (req, state) => ok(200, { server: serverView(state, getServer(state, req.user, param(req)), true) })),
    authed('PUT', `${C}/servers/(\\d+)`, renameServer),
    authed('DELETE', `${C}/servers/(\\d+)`, deleteServer),
    authed('GET', `${C}/servers/(\\d+)/ips`, (req, state) => {
      const server = getServer(state, req.user, param(req));
      const attachments = serverAttachments(state, server);
      return ok(200, { addresses: addressesOf(attachments), attachments });
    }),
    authed('GET', `${C}/servers/(\\d+)/ips/([^/]+)`, (req, state) => {
      const server = getServer(state, req.user, param(req));
      const network = getNetwork(state, req.user, req.params[1] ?? '');
      const attachments = serverAttachments(state, server).filter((attachment) => attachment['network_id'] === network.id);
      return ok(200, { network: addressesOf(attachments) });
    }),
    authed('GET', `${C}/servers/(\\d+)/metadata`, (req, state) => ok(200, { metadata: { ...getServer(state, req.user, param(req)).metadata } })),
    authed('POST', `${C}/servers/(\\d+)/metadata`, updateMetadata),
    authed('GET', `${C}/servers/(\\d+)/metadata/([^/]+)`, (req, state) => {
      const server = getServer(state, req.user, param(req));
      const key = decodeURIComponent(req.params[1] ?? '');
      const value = server.metadata[key];
      if (value === undefined) throw itemNotFound('Metadata key not found.');
      return ok(200, { meta: { [key]: value } });
    }),
    authed('PUT', `${C}/servers/(\\d+)/metadata/([^/]+)`, putMetadataItem),
    authed('DELETE', `${C}/servers/(\\d+)/metadata/([^/]+)`, (req, state) => {
      const server = getServer(state, req.user, param(req), { nonSuspended: true, nonDeleted: true });
      const key = decodeURIComponent(req.params[1] ?? '');
      if (server.metadata[key] === undefined) throw itemNotFound('Metadata key not found.');
      delete server.metadata[key];
      server.updated = state.now();
      return empty(204);
    }),
    authed('GET', `${C}/servers/(\\d+)/password`, (req, state) => {
      const server = getServer(state, req.user, param(req));
      const password = state.db.passwords[String(server.id)];
      if (password === undefined) throw itemNotFound('Password not found.');
      return ok(200, { password });
    }),
    authed('DELETE', `${C}/servers/(\\d+)/password`, (req, state) => {
      const server = getServer(state, req.user, param(req));
      delete state.db.passwords[String(server.id)];
      return empty(204);
    }),
  ];
}

function param(req: AuthedRequest): string {
  return req.params[0] ?? '';
}

function listServers(req: AuthedRequest, state: SimState, detail: boolean): SimResponse {
  const since = changesSince(req, state);
  let servers = Object.values(state.db.servers).filter((server) => server.userId === req.user.uuid);
  if (since === null) {
    servers = servers.filter((server) => !server.deleted);
  } else {
    // With changes-since, deleted servers are reported too, so clients learn about deletions.
    servers = servers.filter((server) => server.updated >= since);
    if (servers.length === 0) return notModified();
  }
  servers.sort((a, b) => a.id - b.id);
  return ok(200, { servers: servers.map((server) => serverView(state, server, detail)) });
}

/** `nic_to_attachments` for the server's ACTIVE ports. */
export function serverAttachments(state: SimState, server: ServerRecord): Array<Record<string, unknown>> {
  return serverPorts(state, server.id)
    .filter((port) => port.status === 'ACTIVE')
    .map((port) => attachmentOf(state, port));
}

function attachmentOf(state: SimState, port: PortRecord): Record<string, unknown> {
  const attachment: Record<string, unknown> = {
    id: port.id,
    network_id: port.networkId,
    mac_address: port.mac,
    ipv4: '',
    ipv6: '',
  };
  if (port.firewallProfile !== null) attachment['firewallProfile'] = port.firewallProfile;
  for (const ip of portIps(state, port.id)) {
    attachment['ipv4'] = ip.address;
    attachment['OS-EXT-IPS:type'] = ip.floating ? 'floating' : 'fixed';
  }
  return attachment;
}

/** `attachments_to_addresses`. */
export function addressesOf(attachments: ReadonlyArray<Record<string, unknown>>): Record<string, unknown[]> {
  const addresses: Record<string, unknown[]> = {};
  for (const nic of attachments) {
    const entries: unknown[] = [];
    if (nic['ipv4'] !== '') entries.push({ version: 4, addr: nic['ipv4'], 'OS-EXT-IPS:type': nic['OS-EXT-IPS:type'] });
    if (nic['ipv6'] !== '') entries.push({ version: 6, addr: nic['ipv6'], 'OS-EXT-IPS:type': nic['OS-EXT-IPS:type'] });
    addresses[String(nic['network_id'])] = entries;
  }
  return addresses;
}

/** `vm_to_dict`. */
export function serverView(state: SimState, server: ServerRecord, detail: boolean): Record<string, unknown> {
  const view: Record<string, unknown> = { id: server.id, name: server.name, links: links(state, `/compute/v2.0/servers/${server.id}`) };
  if (!detail) return view;
  const attachments = serverAttachments(state, server);
  const status = rsapiStatus(server);
  return {
    ...view,
    user_id: server.userId,
    tenant_id: server.project,
    shared_to_project: server.sharedToProject,
    status,
    'SNF:task_state': server.task === null ? '' : TASK_STATES[server.task],
    progress: serverProgress(state, server),
    hostId: '',
    updated: state.iso(server.updated),
    created: state.iso(server.created),
    flavor: { id: server.flavorId, links: links(state, `/compute/v2.0/flavors/${server.flavorId}`) },
    image: { id: server.imageId, links: links(state, `/compute/v2.0/images/${server.imageId}`) },
    suspended: server.suspended,
    metadata: { ...server.metadata },
    tags: [...server.tags],
    attachments,
    addresses: addressesOf(attachments),
    volumes: serverVolumes(state, server.id).map((volume) => volume.id),
    diagnostics: [],
    security_groups: [{ name: 'default' }],
    key_name: server.keyName,
    'SNF:key_names': server.keyName === null ? [] : [server.keyName],
    config_drive: '',
    accessIPv4: '',
    accessIPv6: '',
    'SNF:fqdn': state.db.config.fqdnTemplate.replace(/%\(id\)d|%d/, String(server.id)),
    'SNF:port_forwarding': {},
    'SNF:rescue': false,
    deleted: server.deleted,
  };
}

/** The parts of a create request, after the "Malformed request" checks. */
interface CreateRequest {
  name: string;
  imageRef: string;
  flavorRef: unknown;
  metadata: Record<string, unknown>;
  personality: unknown[];
  networks: unknown[] | undefined;
  project: unknown;
  keyName: unknown;
  keyNames: unknown;
  userData: unknown;
  tags: unknown[];
  adminPass: unknown;
}

function parseCreate(body: unknown): CreateRequest {
  const malformed = badRequest('Malformed request');
  if (!isRecord(body) || !isRecord(body['server'])) throw malformed;
  const server = body['server'];
  const metadata = server['metadata'] ?? {};
  const personality = server['personality'] ?? [];
  const networks = server['networks'];
  const tags = server['tags'] ?? [];
  const name = server['name'];
  const imageRef = server['imageRef'];
  if (typeof name !== 'string' || typeof imageRef !== 'string' || !('flavorRef' in server)) throw malformed;
  if (!isRecord(metadata) || !Array.isArray(personality) || !Array.isArray(tags)) throw malformed;
  if (networks !== undefined && networks !== null && !Array.isArray(networks)) throw malformed;
  return {
    name,
    imageRef,
    flavorRef: server['flavorRef'],
    metadata,
    personality,
    networks: Array.isArray(networks) ? networks : undefined,
    project: server['project'],
    keyName: server['key_name'],
    keyNames: server['SNF:key_names'],
    userData: server['user_data'],
    tags,
    adminPass: server['adminPass'],
  };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function base64Length(text: string): number | null {
  const compact = text.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) return null;
  return Buffer.from(compact, 'base64').length;
}

/** `util.verify_personality`. */
function verifyPersonality(personality: readonly unknown[]): void {
  if (personality.length > MAX_PERSONALITY) throw overLimit('Maximum number of personalities exceeded');
  for (const item of personality) {
    if (!isRecord(item) || Object.keys(item).some((key) => !PERSONALITY_KEYS.has(key))) throw badRequest('Malformed personality in request');
    const contents = item['contents'];
    if (typeof contents !== 'string') throw badRequest('Malformed personality in request');
    if (contents.length > Math.ceil(MAX_PERSONALITY_SIZE / 3) * 4 + 4) throw overLimit('Maximum size of personality exceeded');
    const size = base64Length(contents);
    if (size === null) throw badRequest('Malformed personality in request');
    if (size > MAX_PERSONALITY_SIZE) throw overLimit('Maximum size of personality exceeded');
    if (item['mode'] !== undefined && typeof item['mode'] !== 'number') throw badRequest('Malformed personality in request');
  }
}

function strongPassword(password: string): boolean {
  return password.length >= 10 && /[a-z]/.test(password) && /[A-Z]/.test(password) && /\d/.test(password);
}

/** `util.random_password`: 10 characters with at least one lower, upper and digit. */
function randomPassword(): string {
  const lower = 'abcdefghijklmnopqrstuvwxyz';
  const upper = lower.toUpperCase();
  const digits = '0123456789';
  const pool = lower + upper + digits;
  const pick = (chars: string): string => chars.charAt(Math.floor(Math.random() * chars.length));
  let password = pick(lower) + pick(upper) + pick(digits);
  while (password.length < 10) password += pick(pool);
  return password;
}

function createServer(req: AuthedRequest, state: SimState): SimResponse {
  const { user } = req;
  const spec = parseCreate(req.json());
  verifyPersonality(spec.personality);
  if (spec.userData !== undefined && spec.userData !== null && (typeof spec.userData !== 'string' || base64Length(spec.userData) === null)) {
    throw badRequest("Invalid 'user_data' field: it must be base64 encoded");
  }
  const flavor = flavorForCreate(state, spec.flavorRef);
  const project = spec.project === undefined || spec.project === null ? user.uuid : spec.project;
  if (typeof project !== 'string') throw badRequest("Malformed request. Invalid 'project' field");
  if (!flavor.isPublic && !flavor.access.includes(project)) throw forbidden('Insufficient access');
  if (!flavor.allowCreate) {
    throw forbidden(`It is not allowed to create a server from flavor with id '${flavor.id}', see 'allow_create' flavor attribute`);
  }
  let password: string;
  if (spec.adminPass === undefined || spec.adminPass === null) {
    password = randomPassword();
  } else if (typeof spec.adminPass === 'string' && strongPassword(spec.adminPass)) {
    password = spec.adminPass;
  } else {
    throw badRequest('Invalid password. It must be at least 10 characters long and contain upper case and lower case letters and digits.');
  }
  if (spec.keyName !== undefined && spec.keyName !== null && spec.keyNames !== undefined && spec.keyNames !== null) {
    throw badRequest("'key_name' and 'SNF:key_names' are mutually exclusive");
  }
  // The simulator keeps no keypairs, so every named key is unknown.
  const keyName: unknown = spec.keyName ?? (Array.isArray(spec.keyNames) ? (spec.keyNames as unknown[])[0] : undefined);
  if (keyName !== undefined && keyName !== null) throw itemNotFound(`Keypair ${jsonText(keyName)} not found.`);
  const name = spec.name;
  if (name.length > MAX_NAME) throw badRequest('Server name is too long');
  if (Object.keys(spec.metadata).length > MAX_METADATA) throw badRequest(`Virtual Machines cannot have more than ${MAX_METADATA} metadata items`);
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(spec.metadata)) {
    if (typeof value !== 'string' && typeof value !== 'number') throw badRequest('Malformed Request. Invalid metadata.');
    metadata[key] = String(value);
  }
  if (spec.tags.length > MAX_TAGS) throw badRequest(`Servers cannot have more than ${MAX_TAGS} tags`);
  if (spec.tags.some((tag) => typeof tag !== 'string')) throw badRequest("Malformed request. Invalid 'tags' field");
  const image = getImage(state, user, spec.imageRef);

  const ports = portsForCreate(state, user, spec.networks);
  const charges = vmCharges(flavor, true);
  charges['cyclades.disk'] = flavor.disk * GIB;
  commission(state, project, charges, { user });

  const now = state.now();
  const server: ServerRecord = {
    id: state.nextId('server'),
    name,
    userId: user.uuid,
    project,
    sharedToProject: false,
    operstate: 'BUILD',
    task: null,
    taskJobId: null,
    taskStartedAt: null,
    taskDuration: 0,
    flavorId: flavor.id,
    imageId: image.id,
    metadata,
    tags: spec.tags.map(String),
    keyName: null,
    resizeTo: null,
    suspended: false,
    deleted: false,
    cpuCharged: true,
    created: now,
    updated: now,
  };
  state.db.servers[String(server.id)] = server;
  for (const port of ports) associatePort(state, port, server);
  const root: VolumeRecord = {
    id: state.nextId('volume'),
    name: '',
    description: '',
    size: flavor.disk,
    userId: user.uuid,
    project,
    status: 'CREATING',
    machineId: server.id,
    index: 0,
    volumeTypeId: flavor.volumeTypeId,
    deleteOnTermination: true,
    imageId: image.id,
    metadata: {},
    sharedToProject: false,
    deleted: false,
    created: now,
    updated: now,
  };
  state.db.volumes[String(root.id)] = root;
  state.db.passwords[String(server.id)] = password;
  startTask(state, server, 'BUILD', (current, failed) => completeBuild(state, current, failed));

  const view = serverView(state, server, true);
  view['status'] = 'BUILD';
  view['progress'] = 0;
  view['adminPass'] = password;
  return ok(202, { server: view });
}

function flavorForCreate(state: SimState, flavorRef: unknown): SeedFlavor {
  const id = typeof flavorRef === 'number' ? flavorRef : typeof flavorRef === 'string' && /^\d+$/.test(flavorRef) ? Number(flavorRef) : Number.NaN;
  if (!Number.isInteger(id)) throw badRequest('Invalid flavor ID');
  const flavor = state.db.flavors.find((candidate) => candidate.id === id);
  if (flavor === undefined) throw itemNotFound('Flavor not found.');
  return flavor;
}

/** `create_instance_ports`: the requested networks, or the deployment default when omitted. */
function portsForCreate(state: SimState, user: AuthUser, networks: unknown[] | undefined): PortRecord[] {
  const ports: PortRecord[] = [];
  if (networks === undefined) {
    for (const entry of state.db.config.defaultServerNetworks) ports.push(portFromSetting(state, user, entry));
  } else {
    for (const entry of networks) ports.push(portForRequest(state, user, entry));
  }
  if (ports.length > state.db.config.maxNicsPerServer) throw badRequest('Maximum ports per server limit reached');
  return ports;
}

function portFromSetting(state: SimState, user: AuthUser, entry: string): PortRecord {
  if (entry === 'SNF:ANY_PUBLIC_IPV4' || entry === 'SNF:ANY_PUBLIC') {
    const ip = freeFloatingIp(state, user);
    const network = state.db.networks[ip.networkId];
    if (network === undefined) throw conflict(`Network ${ip.networkId} not found.`);
    return createPort(state, user, network, { ip });
  }
  if (entry === 'SNF:ANY_PUBLIC_IPV6') throw conflict('No available IPv6 only network!');
  return portForRequest(state, user, { uuid: entry });
}

function portForRequest(state: SimState, user: AuthUser, entry: unknown): PortRecord {
  if (!isRecord(entry)) throw badRequest("Malformed request. Invalid 'networks' field");
  const portId = entry['port'];
  const networkId = entry['uuid'];
  if (portId !== undefined && portId !== null) {
    const port = getPort(state, user, jsonText(portId));
    if (port.machineId !== null) throw conflict(`Port ${port.id} is already in use.`);
    return port;
  }
  if (networkId === undefined || networkId === null) throw badRequest("Network 'uuid' or 'port' attribute is required.");
  const network = getNetwork(state, user, jsonText(networkId));
  const fixedIp = entry['fixed_ip'];
  if (fixedIp !== undefined && fixedIp !== null && typeof fixedIp !== 'string') throw badRequest("Malformed request. Invalid 'fixed_ip' field");
  if (!network.public) return createPort(state, user, network, fixedIp === undefined || fixedIp === null ? {} : { address: fixedIp });
  if (ipv4Subnet(state, network.id) === undefined) throw forbidden(`Cannot connect to IPv6 only public network '${network.id}'`);
  if (!('fixed_ip' in entry)) return createPort(state, user, network, { ip: freeFloatingIp(state, user, network) });
  if (fixedIp === null || fixedIp === undefined) throw badRequest('Cannot connect to public network');
  const ip = Object.values(state.db.ips).find((candidate) => candidate.floating && candidate.userId === user.uuid && candidate.address === fixedIp);
  if (ip === undefined) throw itemNotFound(`Floating IP with address '${fixedIp}' does not exist.`);
  return createPort(state, user, network, { ip });
}

function renameServer(req: AuthedRequest, state: SimState): SimResponse {
  const body = requireDict(req.json(), 'server');
  const name = requireString(body, 'name');
  const server = getServer(state, req.user, param(req), { nonSuspended: true, nonDeleted: true });
  if (name.length > MAX_NAME) throw badRequest('Server name is too long');
  server.name = name;
  server.updated = state.now();
  return empty(204);
}

function deleteServer(req: AuthedRequest, state: SimState): SimResponse {
  const server = getServer(state, req.user, param(req), { nonSuspended: true, nonDeleted: true });
  // The optional race: Ganeti still runs OP_INSTANCE_CREATE, so OP_INSTANCE_REMOVE is refused.
  if (state.db.config.deleteDuringBuild === 'conflict' && server.task === 'BUILD') throw buildInProgress('Server is being build');
  validateServerAction(state, server, 'DESTROY');
  destroyServer(state, server);
  return empty(204);
}

function updateMetadata(req: AuthedRequest, state: SimState): SimResponse {
  const body = req.json();
  const server = getServer(state, req.user, param(req), { nonSuspended: true, nonDeleted: true });
  const metadata = requireDict(body, 'metadata');
  const merged = { ...server.metadata };
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string' && typeof value !== 'number') throw badRequest('Malformed Request. Invalid metadata.');
    merged[key] = String(value);
  }
  if (Object.keys(merged).length > MAX_METADATA) throw badRequest(`Virtual Machines cannot have more than ${MAX_METADATA} metadata items`);
  server.metadata = merged;
  server.updated = state.now();
  return ok(201, { metadata: { ...merged } });
}

function putMetadataItem(req: AuthedRequest, state: SimState): SimResponse {
  const body = req.json();
  const server = getServer(state, req.user, param(req), { nonSuspended: true, nonDeleted: true });
  const key = decodeURIComponent(req.params[1] ?? '');
  const meta = isRecord(body) ? body['meta'] : undefined;
  if (!isRecord(meta) || Object.keys(meta).length !== 1 || !(key in meta)) throw badRequest('Malformed request');
  const value = meta[key];
  if (typeof value !== 'string' && typeof value !== 'number') throw badRequest('Malformed Request. Invalid metadata.');
  if (server.metadata[key] === undefined && Object.keys(server.metadata).length >= MAX_METADATA) {
    throw badRequest(`Virtual Machines cannot have more than ${MAX_METADATA} metadata items`);
  }
  server.metadata[key] = String(value);
  server.updated = state.now();
  return ok(201, { meta: { [key]: String(value) } });
}
