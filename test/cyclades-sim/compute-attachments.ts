/**
 * @module Volume attachments under the compute API (`/servers/<id>/os-volume_attachments`) and
 * the attach/detach rules the volume API reuses (`synnefo/logic/server_attachments.py`).
 */

import { badRequest } from './faults.ts';
import { authed, empty, ok, requireDict, requireId, type AuthedRequest, type Route, type SimResponse } from './http.ts';
import type { ServerRecord, VolumeRecord } from './model.ts';
import { getServer, getVolume, serverVolumes } from './lookups.ts';
import { attachVolumeJob, detachVolumeJob, flavorOf, validateServerAction } from './server-tasks.ts';
import type { SimState } from './state.ts';

const C = '/compute/v2\\.0';

/** `volume_to_attachment`: the attachment id is the volume id. */
export function attachmentView(volume: VolumeRecord): Record<string, unknown> {
  return { id: volume.id, volumeId: volume.id, serverId: volume.machineId, device: '' };
}

/** Starts attaching an AVAILABLE (or just created) volume to a server. */
export function attachVolume(state: SimState, server: ServerRecord, volume: VolumeRecord): void {
  if (volume.status !== 'AVAILABLE' && volume.status !== 'CREATING') {
    throw badRequest(`Cannot attach volume while volume is in '${volume.status}' status.`);
  }
  const serverType = flavorOf(state, server).volumeTypeId;
  if (volume.volumeTypeId !== serverType) {
    throw badRequest(`Volume and server must have the same volume type. Volume has volume type '${volume.volumeTypeId}' while server has '${serverType}'`);
  }
  const attached = serverVolumes(state, server.id);
  if (attached.length >= state.db.config.maxVolumesPerServer) throw badRequest('Maximum volumes per server limit reached');
  validateServerAction(state, server, 'ATTACH_VOLUME');
  volume.machineId = server.id;
  volume.index = attached.length;
  if (volume.status === 'AVAILABLE') volume.status = 'ATTACHING';
  volume.updated = state.now();
  attachVolumeJob(state, server, volume.id);
}

/** Starts detaching a volume (IN_USE or ERROR, never the root one); `deleteAfter` deletes it once detached. */
export function detachVolume(state: SimState, server: ServerRecord, volume: VolumeRecord, deleteAfter: boolean): void {
  if (volume.machineId === null) throw badRequest('Volume is already detached');
  if (volume.machineId !== server.id) throw badRequest(`Volume '${volume.id}' is not attached to server '${server.id}'`);
  if (volume.status !== 'IN_USE' && volume.status !== 'ERROR') throw badRequest(`Cannot detach volume while volume is in '${volume.status}' status.`);
  if (volume.index === 0) throw badRequest('Cannot detach the root volume of a server');
  validateServerAction(state, server, 'DETACH_VOLUME');
  volume.status = deleteAfter ? 'DELETING' : 'DETACHING';
  volume.updated = state.now();
  detachVolumeJob(state, server, volume.id, deleteAfter);
}

function serverId(req: AuthedRequest): string {
  return req.params[0] ?? '';
}

function attach(req: AuthedRequest, state: SimState): SimResponse {
  const body = req.json();
  const server = getServer(state, req.user, serverId(req), { nonDeleted: true });
  const attachment = requireDict(body, 'volumeAttachment');
  const volume = getVolume(state, req.user, requireId(attachment, 'volumeId'), { missingIsBadRequest: true, nonDeleted: true });
  attachVolume(state, server, volume);
  return ok(202, { volumeAttachment: attachmentView(volume) });
}

function detach(req: AuthedRequest, state: SimState): SimResponse {
  const server = getServer(state, req.user, serverId(req), { nonDeleted: true });
  const volume = getVolume(state, req.user, req.params[1] ?? '', { missingIsBadRequest: true, nonDeleted: true });
  detachVolume(state, server, volume, false);
  return empty(202);
}

/** Attachment routes. */
export function attachmentRoutes(): Route[] {
  return [
    authed('GET', `${C}/servers/(\\d+)/os-volume_attachments`, (req, state) => {
      const server = getServer(state, req.user, serverId(req));
      return ok(200, { volumeAttachments: serverVolumes(state, server.id).map(attachmentView) });
    }),
    authed('POST', `${C}/servers/(\\d+)/os-volume_attachments`, attach),
    authed('GET', `${C}/servers/(\\d+)/os-volume_attachments/(\\d+)`, (req, state) => {
      const server = getServer(state, req.user, serverId(req));
      const volume = getVolume(state, req.user, req.params[1] ?? '', { missingIsBadRequest: true, nonDeleted: true });
      if (volume.machineId !== server.id) throw badRequest(`Volume '${volume.id}' is not attached to server '${server.id}'`);
      return ok(200, { volumeAttachment: attachmentView(volume) });
    }),
    authed('DELETE', `${C}/servers/(\\d+)/os-volume_attachments/(\\d+)`, detach),
  ];
}
