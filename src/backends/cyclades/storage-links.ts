/**
 * @module Storagelink links as Cyclades volume attachments (§1.4, §1.8 of the API notes). The
 * link's source is a compute (`/compute/<server id>`), its target a storage (`/storage/<volume
 * id>`); attach is `POST /servers/<sid>/os-volume_attachments`, detach `DELETE
 * /servers/<sid>/os-volume_attachments/<vid>` (Cyclades names an attachment by its volume). The
 * link's id is `<server id>_<volume id>`; its state follows the volume (`attaching` → inactive,
 * `in_use` → active).
 */
import { OcciError } from '../../errors.ts';
import type { AttributeValue } from '../../model/category.ts';
import type { Entity } from '../../model/entity.ts';
import type { BackendOutcome } from '../backend.ts';
import { deleteIgnoringGone, notImplemented } from './errors.ts';
import { cycladesIdOfRef, linkEndIds, parseStorageLinkId, storageLinkId } from './ids.ts';
import { serverIdle, whenIdle } from './jobs.ts';
import { idField, list, text, type JsonObject } from './json.ts';
import { isLostAnswer } from './marks.ts';
import type { CycladesServices, CycladesSession } from './session.ts';
import { getVolume } from './storage.ts';

type Changes = Record<string, AttributeValue | null>;

/** OCCI state of a volume attached to the link's server. */
const STATES: Readonly<Record<string, string>> = { in_use: 'active', attaching: 'inactive', detaching: 'inactive', creating: 'inactive', error: 'error' };

/** The link's attributes, or undefined when the volume is not attached to that server. */
function linkAttributes(volume: JsonObject, serverId: string): Changes | undefined {
  const attached = list(volume, 'attachments').some((a) => idField(a, 'server_id') === serverId);
  if (!attached) return undefined;
  const status = (text(volume, 'status') ?? 'error').toLowerCase();
  return { 'occi.storagelink.state': STATES[status] ?? 'error', 'occi.storagelink.state.message': status === 'in_use' ? null : status };
}

/** The storagelink operations of one backend. */
export class StorageLinkOps {
  constructor(private readonly services: CycladesServices) {}

  /** Server and volume ids of a link: from its id, else from its ends. */
  #ends(entity: Entity): { serverId: string; volumeId: string } | undefined {
    const parsed = parseStorageLinkId(entity.location);
    if (parsed !== undefined) return parsed;
    const serverId = cycladesIdOfRef(entity.source);
    const volumeId = cycladesIdOfRef(entity.target);
    return serverId === undefined || volumeId === undefined ? undefined : { serverId, volumeId };
  }

  /** Attaches the volume to the server. */
  async create(entity: Entity, session: CycladesSession): Promise<BackendOutcome> {
    const { serverId, targetId: volumeId } = linkEndIds(entity, 'storagelink', { kind: 'storage', object: 'volume' }, this.services.backendName);
    // Attaching is a job on the server: the one pending there finishes first.
    try {
      await whenIdle(serverId, session, () => session.post('compute', `/servers/${serverId}/os-volume_attachments`, { volumeAttachment: { volumeId } }));
    } catch (error) {
      // A lost answer: the attachment may have been made all the same; the volume tells.
      const volume = isLostAnswer(error) ? await getVolume(volumeId, session).catch(() => undefined) : undefined;
      if (volume === undefined || linkAttributes(volume, serverId) === undefined) throw error;
    }
    // The attachment is made: a failed read-back must not fail the create (the volume would stay
    // in use with no storagelink), so the link starts inactive and later reads tell the rest.
    const volume = await getVolume(volumeId, session).catch(() => undefined);
    const attributes = volume === undefined ? undefined : linkAttributes(volume, serverId);
    return { id: storageLinkId(serverId, volumeId), attributes: attributes ?? { 'occi.storagelink.state': 'inactive', 'occi.storagelink.state.message': 'attaching' } };
  }

  /** The volume's attachment to the server; `'gone'` once it is detached or the volume deleted. */
  async retrieve(entity: Entity, session: CycladesSession): Promise<BackendOutcome | 'gone'> {
    const ends = this.#ends(entity);
    if (ends === undefined) return 'gone';
    const volume = await getVolume(ends.volumeId, session);
    const attributes = volume === undefined ? undefined : linkAttributes(volume, ends.serverId);
    return attributes === undefined ? 'gone' : { attributes };
  }

  /** An attachment cannot move; other changes are left to the next read. */
  async change(before: Entity, after: Entity, session: CycladesSession): Promise<BackendOutcome> {
    if (after.source !== before.source || after.target !== before.target) throw notImplemented(this.services.backendName, 'moving a storagelink to another compute or storage');
    const outcome = await this.retrieve(after, session);
    if (outcome === 'gone') throw new OcciError('not-found', `the volume of ${after.location} is no longer attached`);
    return outcome;
  }

  /** Detaches; a volume already detached, or a server or volume gone, counts as done. */
  async delete(entity: Entity, session: CycladesSession): Promise<void> {
    const ends = this.#ends(entity);
    if (ends === undefined) return;
    // Detaching is a job on the server: the one pending there (e.g. a DISCONNECT) finishes first.
    const server = await serverIdle(ends.serverId, session);
    if (server === undefined) return;
    await whenIdle(ends.serverId, session, () =>
      deleteIgnoringGone(() => session.delete('compute', `/servers/${ends.serverId}/os-volume_attachments/${ends.volumeId}`), /has been deleted|already detached|is not attached/i),
    );
  }
}
