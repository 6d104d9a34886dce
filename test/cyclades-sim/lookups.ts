/**
 * @module Fetching objects on behalf of a user, with Cyclades' ownership rule (other users'
 * objects do not exist: 404) and its exact id-validation and not-found messages
 * (`synnefo/api/util.py`, `synnefo/volume/util.py`).
 */

import type { AuthUser } from './auth.ts';
import { CycladesFault, badRequest, forbidden, itemNotFound } from './faults.ts';
import type { IpRecord, NetworkRecord, PortRecord, ServerRecord, SubnetRecord, VolumeRecord } from './model.ts';
import type { SeedFlavor, SeedImage } from './seed.ts';
import type { SimState } from './state.ts';

const DIGITS = /^\d+$/;

/** Options of {@link getServer}. */
export interface ServerLookup {
  /** A deleted server answers 400 instead of being returned. */
  nonDeleted?: boolean;
  /** An administratively suspended server answers 403. */
  nonSuspended?: boolean;
}

/** A server of the user (`util.get_vm`). */
export function getServer(state: SimState, user: AuthUser, id: string, lookup: ServerLookup = {}): ServerRecord {
  if (!DIGITS.test(id)) throw badRequest('Invalid server ID.');
  const server = state.db.servers[String(Number(id))];
  if (server === undefined || server.userId !== user.uuid) throw itemNotFound('Server not found.');
  if (lookup.nonDeleted === true && server.deleted) throw badRequest(`Server '${server.id}' has been deleted.`);
  if (lookup.nonSuspended === true && server.suspended) throw forbidden('Administratively Suspended VM');
  return server;
}

/** A network visible to the user: public, or owned (`util.get_network`). */
export function getNetwork(state: SimState, user: AuthUser, id: string): NetworkRecord {
  if (!DIGITS.test(id)) throw badRequest(`Invalid network ID '${id}'`);
  const network = state.db.networks[String(Number(id))];
  if (network === undefined || network.deleted || (!network.public && network.userId !== user.uuid)) throw itemNotFound(`Network ${id} not found.`);
  return network;
}

/** A port of the user (`util.get_port`). */
export function getPort(state: SimState, user: AuthUser, id: string): PortRecord {
  if (!DIGITS.test(id)) throw badRequest(`Invalid port ID '${id}'`);
  const port = state.db.ports[String(Number(id))];
  if (port === undefined || port.userId !== user.uuid) throw itemNotFound(`Port '${id}' not found.`);
  return port;
}

/** A subnet whose network the user sees. */
export function getSubnet(state: SimState, user: AuthUser, id: string): SubnetRecord {
  if (!DIGITS.test(id)) throw badRequest(`Invalid subnet ID '${id}'`);
  const subnet = state.db.subnets[String(Number(id))];
  const network = subnet === undefined ? undefined : state.db.networks[subnet.networkId];
  if (subnet === undefined || network === undefined || network.deleted || (!network.public && network.userId !== user.uuid)) {
    throw itemNotFound('Subnet not found');
  }
  return subnet;
}

/** Options of {@link getVolume}. */
export interface VolumeLookup {
  nonDeleted?: boolean;
  /** The compute attachment views report a missing volume as 400, not 404. */
  missingIsBadRequest?: boolean;
}

/** A volume of the user (`volume/util.py:get_volume`). */
export function getVolume(state: SimState, user: AuthUser, id: string, lookup: VolumeLookup = {}): VolumeRecord {
  const missing = (message: string): CycladesFault => (lookup.missingIsBadRequest === true ? badRequest(message) : itemNotFound(message));
  if (!DIGITS.test(id)) throw missing(`Volume ${id} not found`);
  const volume = state.db.volumes[String(Number(id))];
  if (volume === undefined || volume.userId !== user.uuid) throw missing(`Volume ${id} not found`);
  if (lookup.nonDeleted === true && volume.deleted) throw badRequest(`Volume '${id}' has been deleted.`);
  return volume;
}

/** A floating IP of the user, by id. */
export function getFloatingIp(state: SimState, user: AuthUser, id: string): IpRecord {
  if (!DIGITS.test(id)) throw badRequest(`Invalid floating IP ID '${id}'`);
  const ip = state.db.ips[String(Number(id))];
  if (ip === undefined || !ip.floating || ip.userId !== user.uuid) throw itemNotFound(`Floating IP with ID ${id} does not exist.`);
  return ip;
}

/** A floating IP of the user, by address. */
export function getFloatingIpByAddress(state: SimState, user: AuthUser, address: string): IpRecord {
  const ip = Object.values(state.db.ips).find((candidate) => candidate.floating && candidate.userId === user.uuid && candidate.address === address);
  if (ip === undefined) throw itemNotFound(`Floating IP with address '${address}' does not exist.`);
  return ip;
}

/** True when the user may see (and use) the flavor: public, or shared with one of the user's projects. */
export function flavorVisible(flavor: SeedFlavor, user: AuthUser): boolean {
  return flavor.isPublic || flavor.access.some((project) => user.projects.includes(project));
}

/** A flavor by id as the flavor views parse it. */
export function getFlavor(state: SimState, user: AuthUser, id: string): SeedFlavor {
  const flavor = DIGITS.test(id) ? state.db.flavors.find((candidate) => candidate.id === Number(id)) : undefined;
  if (flavor === undefined || !flavorVisible(flavor, user)) throw itemNotFound('Flavor not found.');
  return flavor;
}

/** True when the user may see the image: public, or owned. */
export function imageVisible(image: SeedImage, user: AuthUser): boolean {
  return image.public || image.owner === user.uuid;
}

/** An image by id. */
export function getImage(state: SimState, user: AuthUser, id: string): SeedImage {
  const image = state.db.images.find((candidate) => candidate.id === id);
  if (image === undefined || !imageVisible(image, user)) throw itemNotFound(`Image '${id}' not found`);
  return image;
}

/** Ports (NICs) currently plugged into, or being plugged into, a server, in id order. */
export function serverPorts(state: SimState, serverId: number): PortRecord[] {
  return Object.values(state.db.ports)
    .filter((port) => port.machineId === serverId)
    .sort((a, b) => a.id - b.id);
}

/** Non-deleted volumes of a server, in id order. */
export function serverVolumes(state: SimState, serverId: number): VolumeRecord[] {
  return Object.values(state.db.volumes)
    .filter((volume) => volume.machineId === serverId && !volume.deleted)
    .sort((a, b) => a.id - b.id);
}

/** Addresses held by a port. */
export function portIps(state: SimState, portId: number): IpRecord[] {
  return Object.values(state.db.ips)
    .filter((ip) => ip.portId === portId)
    .sort((a, b) => a.id - b.id);
}
