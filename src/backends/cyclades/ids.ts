/**
 * @module The OCCI categories the bridge understands and how entity locations map to Cyclades
 * ids. Entities keep the Cyclades id as their id (`/compute/1001`, `/network/2001`,
 * `/storage/6001`, `/networkinterface/4001`); a storagelink is `<server id>_<volume id>` because
 * Cyclades names an attachment by its volume.
 */
import { INFRA_SCHEME } from '../../model/category.ts';
import { idOf, type Entity } from '../../model/entity.ts';
import { ValidationError } from '../../errors.ts';

/** The compute kind (→ Cyclades server). */
export const COMPUTE_KIND = `${INFRA_SCHEME}compute`;
/** The network kind (→ Cyclades private network and subnet). */
export const NETWORK_KIND = `${INFRA_SCHEME}network`;
/** The storage kind (→ Cyclades volume). */
export const STORAGE_KIND = `${INFRA_SCHEME}storage`;
/** The networkinterface link kind (→ Cyclades port). */
export const NETWORKINTERFACE_KIND = `${INFRA_SCHEME}networkinterface`;
/** The storagelink link kind (→ Cyclades volume attachment). */
export const STORAGELINK_KIND = `${INFRA_SCHEME}storagelink`;

/** The OCCI os_tpl mixin the backend's image mixins depend on. */
export const OS_TPL_MIXIN = `${INFRA_SCHEME}os_tpl`;
/** The OCCI resource_tpl mixin the backend's flavor mixins depend on. */
export const RESOURCE_TPL_MIXIN = `${INFRA_SCHEME}resource_tpl`;
/** The ipnetwork mixin (address, gateway → subnet). */
export const IPNETWORK_MIXIN = 'http://schemas.ogf.org/occi/infrastructure/network#ipnetwork';
/** The ipnetworkinterface mixin (the address of a port). */
export const IPNETWORKINTERFACE_MIXIN = 'http://schemas.ogf.org/occi/infrastructure/networkinterface#ipnetworkinterface';

/** The scheme of the compute actions (start, stop, restart, suspend, save). */
export const COMPUTE_ACTION = 'http://schemas.ogf.org/occi/infrastructure/compute/action#';

const DIGITS = /^\d+$/;

/** The Cyclades id in an entity location, when it is one (digits); undefined otherwise. */
export function cycladesIdOf(location: string): string | undefined {
  const id = idOf(location);
  return DIGITS.test(id) ? id : undefined;
}

/**
 * The Cyclades id a link end points at: the last path segment of a local path (`/compute/1001`)
 * or of an external URL (`https://other.example/occi/network/1`), when it is digits.
 */
export function cycladesIdOfRef(ref: string | undefined): string | undefined {
  if (ref === undefined) return undefined;
  let path = ref;
  try {
    path = new URL(ref).pathname;
  } catch {
    // A local path, not a URL.
  }
  const segment = path.replace(/\/+$/, '').split('/').pop() ?? '';
  return DIGITS.test(segment) ? segment : undefined;
}

/**
 * The Cyclades ids at the ends of a link to create: the server at its source, the network or volume
 * (`target.kind`, whose Cyclades id names a `target.object`) at its target.
 *
 * @throws ValidationError (400) naming the end that is not a Cyclades object of its kind
 */
export function linkEndIds(
  entity: Pick<Entity, 'source' | 'target'>,
  link: string,
  target: { kind: 'network' | 'storage'; object: string },
  backendName: string,
): { serverId: string; targetId: string } {
  const serverId = cycladesIdOfRef(entity.source);
  const targetId = cycladesIdOfRef(entity.target);
  if (serverId === undefined)
    throw new ValidationError(`the source of a ${link} of backend "${backendName}" must be a Cyclades compute (/compute/<server id>), not ${entity.source ?? 'nothing'}`, [
      { pointer: '/source', message: 'not a Cyclades compute' },
    ]);
  if (targetId === undefined)
    throw new ValidationError(`the target of a ${link} of backend "${backendName}" must be a Cyclades ${target.kind} (/${target.kind}/<${target.object} id>), not ${entity.target ?? 'nothing'}`, [
      { pointer: '/target', message: `not a Cyclades ${target.kind}` },
    ]);
  return { serverId, targetId };
}

/** The id of a storagelink: `<server id>_<volume id>`. */
export function storageLinkId(serverId: string, volumeId: string): string {
  return `${serverId}_${volumeId}`;
}

/** Parses a storagelink id; undefined when it is not `<digits>_<digits>`. */
export function parseStorageLinkId(location: string): { serverId: string; volumeId: string } | undefined {
  const match = /^(\d+)_(\d+)$/.exec(idOf(location));
  return match === null ? undefined : { serverId: match[1]!, volumeId: match[2]! };
}
