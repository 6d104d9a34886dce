/**
 * @module Storage resources as Cyclades volumes (§1.8 of the API notes): `POST /volumes` with
 * the size in GiB, a detachable volume type (the `volumeType` option, else the first detachable
 * type Cyclades lists) and the project, then `GET /volumes/<id>` for the details.
 */
import { OcciError, ValidationError } from '../../errors.ts';
import type { AttributeValue } from '../../model/category.ts';
import { idOf, type Entity } from '../../model/entity.ts';
import type { BackendOutcome } from '../backend.ts';
import { deleteIgnoringGone, isError, notImplemented } from './errors.ts';
import { cycladesIdOf } from './ids.ts';
import { BUSY_VOLUME, pollUntil } from './jobs.ts';
import { idField, list, member, numeric, requireId, text, type JsonObject } from './json.ts';
import { findAfterLoss, isLostAnswer, isMarkedFor, marksOf } from './marks.ts';
import type { CycladesServices, CycladesSession } from './session.ts';
import { TtlCache, tokenKey, type Clock } from './ttl-cache.ts';

type Changes = Record<string, AttributeValue | null>;

/** OCCI state of each (lower-case) Cyclades volume status. */
const STATES: Readonly<Record<string, string>> = {
  available: 'online',
  in_use: 'online',
  attaching: 'online',
  detaching: 'online',
  creating: 'offline',
  deleting: 'offline',
  error: 'error',
};

/** Reads a volume; undefined when Cyclades no longer has it (404 or deleted). */
export async function getVolume(id: string, session: CycladesSession): Promise<JsonObject | undefined> {
  try {
    const volume = member(await session.get('volume', `/volumes/${id}`), 'volume', 'a volume');
    return volume['deleted'] === true || text(volume, 'status')?.toLowerCase() === 'deleted' ? undefined : volume;
  } catch (error) {
    if (isError(error, ['not-found'])) return undefined;
    throw error;
  }
}

/** The OCCI attributes of a volume. */
export function storageAttributes(volume: JsonObject): Changes {
  const status = (text(volume, 'status') ?? 'error').toLowerCase();
  const changes: Changes = { 'occi.storage.state': STATES[status] ?? 'error', 'occi.storage.state.message': status };
  const size = numeric(volume, 'size');
  if (size !== undefined) changes['occi.storage.size'] = size;
  return changes;
}

/** The storage operations of one backend. */
export class StorageOps {
  readonly #types: TtlCache<string>;

  constructor(
    private readonly services: CycladesServices,
    now: Clock,
  ) {
    this.#types = new TtlCache<string>(services.options.templateTtlMs, 500, now);
  }

  /** The volume type of new volumes: configured, else the first detachable one (cached like templates). */
  #volumeType(session: CycladesSession): Promise<string> {
    const configured = this.services.options.volumeType;
    if (configured !== undefined) return Promise.resolve(configured);
    return this.#types.get(tokenKey(session.token), async () => {
      const types = list(await session.get('volume', '/types'), 'volume_types');
      const detachable = types.find((t) => t['SNF:detachable'] === true && t['deleted'] !== true);
      const id = detachable === undefined ? undefined : idField(detachable, 'id');
      if (id === undefined) throw new OcciError('backend-failed', `backend "${this.services.backendName}": Cyclades lists no detachable volume type; set the "volumeType" option`);
      return id;
    });
  }

  /** `POST /volumes` then `GET /volumes/<id>`. Sizes are whole GiB. */
  async create(entity: Entity, session: CycladesSession): Promise<BackendOutcome> {
    const size = entity.attributes['occi.storage.size'];
    if (typeof size !== 'number' || !Number.isInteger(size)) {
      throw new ValidationError(`occi.storage.size must be a whole number of GiB for Cyclades, not ${JSON.stringify(size)}`, [
        { pointer: '/attributes/occi.storage.size', message: 'not a whole number of GiB' },
      ]);
    }
    const volume = {
      size,
      display_name: entity.title ?? idOf(entity.location),
      volume_type: Number(await this.#volumeType(session)),
      project: await session.project(),
      metadata: marksOf(entity, session),
    };
    const created = await this.#post(volume, entity, session);
    const id = requireId(created, 'id', 'a volume creation');
    // The volume exists now: a failed read-back must not make the create fail (the volume would
    // then live only in Cyclades), so the create's own answer stands in for it.
    const fresh = await getVolume(id, session).catch(() => created);
    return { id, attributes: storageAttributes(fresh ?? created) };
  }

  /** `POST /volumes`; when the answer is lost, the volume marked for this entity is adopted. */
  async #post(volume: JsonObject, entity: Entity, session: CycladesSession): Promise<JsonObject> {
    try {
      return member(await session.post('volume', '/volumes', { volume }), 'volume', 'a volume creation');
    } catch (error) {
      if (!isLostAnswer(error)) throw error;
      const found = await findAfterLoss(session, async () =>
        list(await session.get('volume', '/volumes/detail'), 'volumes').find((candidate) => candidate['deleted'] !== true && isMarkedFor(candidate, entity, this.services.backendName)),
      );
      if (found === undefined) throw error;
      this.services.warn('cyclades: adopted a volume whose creation answer was lost', { backend: this.services.backendName, volume: idField(found, 'id'), error: String(error) });
      return found;
    }
  }

  /** `GET /volumes/<id>`; `'gone'` when Cyclades no longer has it. */
  async retrieve(entity: Entity, session: CycladesSession): Promise<BackendOutcome | 'gone'> {
    const id = cycladesIdOf(entity.location);
    if (id === undefined) return 'gone';
    const volume = await getVolume(id, session);
    return volume === undefined ? 'gone' : { attributes: storageAttributes(volume) };
  }

  /** A new title renames the volume; Cyclades cannot resize volumes. */
  async change(before: Entity, after: Entity, session: CycladesSession): Promise<BackendOutcome> {
    const id = cycladesIdOf(before.location);
    if (id === undefined) throw new OcciError('not-found', `${before.location} is not a Cyclades volume`);
    if (after.attributes['occi.storage.size'] !== before.attributes['occi.storage.size']) throw notImplemented(this.services.backendName, 'resizing a volume');
    if (after.title !== undefined && after.title !== before.title) await session.put('volume', `/volumes/${id}`, { volume: { display_name: after.title } });
    const outcome = await this.retrieve(after, session);
    if (outcome === 'gone') throw new OcciError('not-found', `Cyclades no longer has volume ${id}`);
    return outcome;
  }

  /**
   * `DELETE /volumes/<id>`; one Cyclades no longer has counts as deleted. Cyclades refuses to
   * delete a volume while it is being attached or detached, so that job is waited for first
   * (bounded by `timeoutMs`).
   */
  async delete(entity: Entity, session: CycladesSession): Promise<void> {
    const id = cycladesIdOf(entity.location);
    if (id === undefined) return;
    // A volume being attached or detached cannot be deleted yet: its job finishes first.
    const volume = await pollUntil(
      session,
      `the pending job of volume ${id} to finish`,
      () => getVolume(id, session),
      (v) => v === undefined || !BUSY_VOLUME.has((text(v, 'status') ?? '').toLowerCase()),
    );
    if (volume === undefined) return;
    await deleteIgnoringGone(() => session.delete('volume', `/volumes/${id}`));
  }
}
