/**
 * @module The block-storage API (§1.8 of `cyclades-api.md`, `synnefo/volume/views.py`,
 * `synnefo/volume/volumes.py`): volumes, volume types, and the asynchronous create/attach/delete
 * flows. Served under `/volume/v2.0` and `/volume/v2`; a wrong method gets Django's bare 405.
 */

import { CycladesFault, badRequest, conflict, itemNotFound, notImplemented } from './faults.ts';
import {
  authed,
  jsonText,
  empty,
  isRecord,
  links,
  ok,
  optionalBoolean,
  optionalDict,
  optionalId,
  optionalString,
  requireDict,
  requireString,
  type AuthedRequest,
  type Route,
  type SimResponse,
} from './http.ts';
import type { ServerRecord, VolumeRecord } from './model.ts';
import { getImage, getServer, getVolume } from './lookups.ts';
import { commission, GIB } from './quotas.ts';
import type { SeedVolumeType } from './seed.ts';
import { flavorOf, validateServerAction } from './server-tasks.ts';
import { attachVolume, detachVolume } from './compute-attachments.ts';
import type { SimState } from './state.ts';

const MAX_METADATA = 10;

/** `volume_to_dict`. */
export function volumeView(state: SimState, volume: VolumeRecord, detail: boolean): Record<string, unknown> {
  const view: Record<string, unknown> = { id: String(volume.id), display_name: volume.name, links: links(state, `/volume/v2.0/volumes/${volume.id}`) };
  if (!detail) return view;
  return {
    ...view,
    status: volume.status.toLowerCase(),
    size: volume.size,
    display_description: volume.description,
    created_at: state.iso(volume.created),
    metadata: { ...volume.metadata },
    snapshot_id: null,
    source_volid: null,
    image_id: volume.imageId,
    attachments: volume.machineId === null ? [] : [{ server_id: volume.machineId, volume_id: volume.id, device_index: volume.index }],
    volume_type: volume.volumeTypeId,
    deleted: volume.deleted,
    delete_on_termination: volume.deleteOnTermination,
    user_id: volume.userId,
    tenant_id: volume.project,
    shared_to_project: volume.sharedToProject,
  };
}

function typeView(type: SeedVolumeType): Record<string, unknown> {
  return { id: type.id, name: type.name, deleted: false, 'SNF:disk_template': type.diskTemplate, 'SNF:detachable': type.detachable };
}

function volumeType(state: SimState, id: string, missing: (message: string) => CycladesFault): SeedVolumeType {
  const type = /^\d+$/.test(id) ? state.db.volumeTypes.find((candidate) => candidate.id === Number(id)) : undefined;
  if (type === undefined) throw missing(`Volume type ${id} not found`);
  return type;
}

function serverForVolume(state: SimState, req: AuthedRequest, id: string): ServerRecord {
  try {
    return getServer(state, req.user, id, { nonDeleted: true });
  } catch (error) {
    // `volume/util.get_server(..., exception=faults.BadRequest)`: a bad server reference is the client's error.
    if (error instanceof CycladesFault && error.status === 404) throw badRequest(`Server ${id} not found`);
    throw error;
  }
}

function createVolume(req: AuthedRequest, state: SimState): SimResponse {
  const body = requireDict(req.json(), 'volume');
  const name = requireString(body, 'display_name');
  const sizeRaw = body['size'];
  if (sizeRaw === undefined || sizeRaw === null) throw badRequest("Malformed request. Missing attribute 'size'.");
  const size = typeof sizeRaw === 'number' ? sizeRaw : typeof sizeRaw === 'string' && /^-?\d+$/.test(sizeRaw.trim()) ? Number(sizeRaw) : Number.NaN;
  if (!Number.isInteger(size) || size <= 0) {
    throw badRequest(`Volume 'size' needs to be a positive integer value. '${jsonText(sizeRaw)}' cannot be accepted.`);
  }
  const project = optionalString(body, 'project') ?? req.user.uuid;
  const typeId = optionalId(body, 'volume_type');
  const description = optionalString(body, 'display_description') ?? '';
  const metadataRaw = optionalDict(body, 'metadata') ?? {};
  if (Object.keys(metadataRaw).length > MAX_METADATA) throw badRequest(`Volumes cannot have more than ${MAX_METADATA} metadata items`);
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadataRaw)) metadata[key] = String(value);
  if (body['snapshot_id'] !== undefined && body['snapshot_id'] !== null) throw notImplemented('Making a clone from a snapshot is not implemented');
  if (body['source_volid'] !== undefined && body['source_volid'] !== null) throw badRequest('Cloning a volume is not supported');
  const imageRef = optionalString(body, 'imageRef');
  const image = imageRef === undefined ? null : getImage(state, req.user, imageRef);
  const serverId = optionalId(body, 'server_id');

  let server: ServerRecord | null = null;
  let type: SeedVolumeType;
  if (serverId !== undefined && serverId !== '') {
    server = serverForVolume(state, req, serverId);
    const serverTypeId = flavorOf(state, server).volumeTypeId;
    type = volumeType(state, typeId ?? String(serverTypeId), badRequest);
    if (type.id !== serverTypeId) throw badRequest(`Cannot create a volume with type '${type.id}' to a server with volume type '${serverTypeId}'.`);
  } else {
    if (typeId === undefined) throw badRequest('A volume type is required for a volume that is not attached to a server');
    type = volumeType(state, typeId, badRequest);
    if (!type.detachable) {
      throw badRequest(`Cannot create a detached volume of volume type '${type.id}': disk template '${type.diskTemplate}' is not detachable`);
    }
  }
  commission(state, project, { 'cyclades.disk': size * GIB }, { user: req.user });
  const now = state.now();
  const volume: VolumeRecord = {
    id: state.nextId('volume'),
    name,
    description,
    size,
    userId: req.user.uuid,
    project,
    status: server === null ? 'AVAILABLE' : 'CREATING',
    machineId: null,
    index: null,
    volumeTypeId: type.id,
    deleteOnTermination: true,
    imageId: image === null ? null : image.id,
    metadata,
    sharedToProject: false,
    deleted: false,
    created: now,
    updated: now,
  };
  state.db.volumes[String(volume.id)] = volume;
  if (server !== null) attachVolume(state, server, volume);
  return ok(202, { volume: volumeView(state, volume, false) });
}

function deleteVolume(req: AuthedRequest, state: SimState): SimResponse {
  const volume = getVolume(state, req.user, req.params[0] ?? '', { nonDeleted: true });
  if (volume.machineId !== null) {
    const server = state.db.servers[String(volume.machineId)];
    if (server === undefined) throw badRequest(`Server ${volume.machineId} not found`);
    detachVolume(state, server, volume, true);
    commission(state, volume.project, { 'cyclades.disk': -volume.size * GIB });
    return empty(202);
  }
  if (volume.status !== 'AVAILABLE' && volume.status !== 'ERROR') throw badRequest(`Cannot delete volume while volume is in '${volume.status}' status.`);
  volume.status = 'DELETING';
  volume.updated = state.now();
  commission(state, volume.project, { 'cyclades.disk': -volume.size * GIB });
  const volumeId = volume.id;
  state.jobs.schedule('DELETE_VOLUME', `volume:${volumeId}`, state.timings.volumeDelete, (failed) => {
    const current = state.db.volumes[String(volumeId)];
    if (current === undefined || current.status !== 'DELETING') return;
    current.updated = state.now();
    if (failed) {
      current.status = 'ERROR';
      commission(state, current.project, { 'cyclades.disk': current.size * GIB }, { force: true });
      return;
    }
    current.status = 'DELETED';
    current.deleted = true;
  });
  return empty(202);
}

function updateVolume(req: AuthedRequest, state: SimState): SimResponse {
  const body = req.json();
  const volume = getVolume(state, req.user, req.params[0] ?? '', { nonDeleted: true });
  const update = requireDict(body, 'volume');
  const name = optionalString(update, 'display_name');
  const description = optionalString(update, 'display_description');
  const deleteOnTermination = optionalBoolean(update, 'delete_on_termination');
  if (name === undefined && description === undefined && deleteOnTermination === undefined) throw badRequest('Nothing to update.');
  if (deleteOnTermination === false) {
    const type = state.db.volumeTypes.find((candidate) => candidate.id === volume.volumeTypeId);
    const template = type?.diskTemplate ?? '';
    if (!template.startsWith('ext')) {
      throw badRequest(`Volumes of '${template}' disk template cannot have 'delete_on_termination' attribute set to 'False'`);
    }
    throw notImplemented("Volumes with the 'delete_on_termination' attribute set to False are not supported");
  }
  if (name !== undefined) volume.name = name;
  if (description !== undefined) volume.description = description;
  volume.updated = state.now();
  return ok(200, { volume: volumeView(state, volume, true) });
}

function volumeAction(req: AuthedRequest, state: SimState): SimResponse {
  const body = req.json();
  if (!isRecord(body) || Object.keys(body).length !== 1) throw badRequest('Malformed request');
  const action = Object.keys(body)[0] ?? '';
  if (action !== 'reassign') throw badRequest(`Action ${action} not supported`);
  const args = requireDict(body, 'reassign');
  const project = args['project'];
  if (project === undefined || project === null) throw badRequest("Missing 'project' attribute.");
  if (typeof project !== 'string') throw badRequest("Malformed request. Invalid 'project' field");
  const volume = getVolume(state, req.user, req.params[0] ?? '', { nonDeleted: true });
  if (volume.index === 0) throw conflict(`Cannot reassign: ${volume.id} is a system volume`);
  if (volume.machineId !== null) {
    const server = state.db.servers[String(volume.machineId)];
    if (server !== undefined) validateServerAction(state, server, 'REASSIGN');
  }
  if (project !== volume.project) {
    commission(state, project, { 'cyclades.disk': volume.size * GIB }, { user: req.user });
    commission(state, volume.project, { 'cyclades.disk': -volume.size * GIB });
    volume.project = project;
    volume.updated = state.now();
  }
  return empty(200);
}

function routesUnder(prefix: string): Route[] {
  const bare = { bare405: true };
  const mine = (req: AuthedRequest, state: SimState): VolumeRecord[] =>
    Object.values(state.db.volumes)
      .filter((volume) => volume.userId === req.user.uuid && !volume.deleted)
      .sort((a, b) => a.id - b.id);
  return [
    authed('GET', `${prefix}/volumes`, (req, state) => ok(200, { volumes: mine(req, state).map((volume) => volumeView(state, volume, false)) }), bare),
    authed('POST', `${prefix}/volumes`, createVolume, bare),
    authed('GET', `${prefix}/volumes/detail`, (req, state) => ok(200, { volumes: mine(req, state).map((volume) => volumeView(state, volume, true)) }), bare),
    authed('GET', `${prefix}/volumes/(\\d+)`, (req, state) => ok(200, { volume: volumeView(state, getVolume(state, req.user, req.params[0] ?? ''), true) }), bare),
    authed('PUT', `${prefix}/volumes/(\\d+)`, updateVolume, bare),
    authed('DELETE', `${prefix}/volumes/(\\d+)`, deleteVolume, bare),
    authed('POST', `${prefix}/volumes/(\\d+)/action`, volumeAction, bare),
    authed('GET', `${prefix}/types`, (_req, state) => ok(200, { volume_types: state.db.volumeTypes.map(typeView) }), bare),
    authed('GET', `${prefix}/types/(\\d+)`, (req, state) => ok(200, { volume_type: typeView(volumeType(state, req.params[0] ?? '', itemNotFound)) }), bare),
  ];
}

/** Volume routes, under both `/volume/v2.0` and `/volume/v2`. */
export function volumeRoutes(): Route[] {
  return [...routesUnder('/volume/v2\\.0'), ...routesUnder('/volume/v2')];
}
