/**
 * @module What ocni writes on the Cyclades objects it creates, so that they can be found again
 * when Cyclades' answer is lost (a create that timed out or failed after Cyclades had done it)
 * and told apart from what the user made elsewhere (drift). Servers and volumes carry metadata
 * (`ocni_entity` = the id ocni gave the entity before Cyclades gave its own, `ocni_request` =
 * ocni's request id, `ocni_backend` = the backend name); ports, which have no metadata, carry
 * `ocni:<entity id>` as their name, and so do networks until they are renamed to the client's
 * title right after (see `network.ts`).
 *
 * What the bridge keeps with an entity for later (the floating IPs it allocated for it) travels
 * in the entity's `ref`, as JSON.
 */
import { isOcciError } from '../../errors.ts';
import { idOf, type Entity } from '../../model/entity.ts';
import { isObject, text, type JsonObject } from './json.ts';
import type { CycladesSession } from './session.ts';

/** Metadata key: the entity's ocni id at creation. */
export const MARK_ENTITY = 'ocni_entity';
/** Metadata key: ocni's request id. */
export const MARK_REQUEST = 'ocni_request';
/** Metadata key: the backend name. */
export const MARK_BACKEND = 'ocni_backend';
/** Port names of ports ocni creates start with this. */
export const PORT_MARK = 'ocni:';

/** The metadata marks of a new server or volume. */
export function marksOf(entity: Entity, session: CycladesSession): Record<string, string> {
  const marks: Record<string, string> = { [MARK_ENTITY]: idOf(entity.location), [MARK_BACKEND]: session.services.backendName };
  if (session.requestId !== '') marks[MARK_REQUEST] = session.requestId.slice(0, 200);
  return marks;
}

/** True when `object`'s metadata says this backend created it for `entity`. */
export function isMarkedFor(object: JsonObject, entity: Entity, backendName: string): boolean {
  const metadata = object['metadata'];
  return isObject(metadata) && metadata[MARK_ENTITY] === idOf(entity.location) && metadata[MARK_BACKEND] === backendName;
}

/** True when `object`'s metadata (or, for a port, its name) says ocni's backend `backendName` created it. */
export function isOcniMade(object: JsonObject, backendName: string): boolean {
  const metadata = object['metadata'];
  if (isObject(metadata) && metadata[MARK_BACKEND] === backendName) return true;
  return text(object, 'name')?.startsWith(PORT_MARK) === true;
}

/** The name of a port ocni creates for a networkinterface, and a network's until it is renamed to its title. */
export function portName(entity: Entity): string {
  return `${PORT_MARK}${idOf(entity.location)}`;
}

/** Same mark for networks: created under it, then renamed to the entity's title (see `network.ts`). */
export const markedName = portName;

/**
 * True for a failure after which Cyclades may still have done what was asked: no answer in time,
 * a 500/502 or a broken body, the connection dropped. A 4xx is Cyclades refusing, and so is its
 * own 503 fault (`No available backends`): nothing was made.
 */
export function isLostAnswer(error: unknown): boolean {
  if (!isOcciError(error)) return false;
  // Transport failures carry their cause; a 503 that Cyclades rendered as a fault does not.
  return error.code === 'backend-timeout' || error.code === 'backend-failed' || (error.code === 'backend-unavailable' && error.cause !== undefined);
}

/** What the bridge keeps with an entity. */
export interface BridgeRef {
  /** Floating IPs ocni allocated for this entity, released when it goes (unless `keepFloatingIps`). */
  floatingIps?: string[];
}

/** Reads an entity's `ref` (anything unreadable is an empty one). */
export function readRef(entity: Pick<Entity, 'ref'>): BridgeRef {
  if (entity.ref === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(entity.ref);
    if (!isObject(parsed)) return {};
    const ips = parsed['floatingIps'];
    return Array.isArray(ips) ? { floatingIps: ips.filter((ip): ip is string => typeof ip === 'string') } : {};
  } catch {
    return {};
  }
}

/** The `ref` of an entity, or undefined when there is nothing to keep. */
export function writeRef(ref: BridgeRef): string | undefined {
  return ref.floatingIps === undefined || ref.floatingIps.length === 0 ? undefined : JSON.stringify(ref);
}

/** Releases floating IPs, logging (never throwing) what could not be released: drift shows it later. */
export async function releaseFloatingIps(ids: readonly string[], session: CycladesSession, why: string): Promise<void> {
  for (const id of ids) {
    await session.delete('network', `/floatingips/${id}`).catch((error: unknown) => {
      if (isOcciError(error) && error.code === 'not-found') return;
      session.services.warn(`cyclades: could not release floating IP ${id} ${why}`, { backend: session.services.backendName, floatingIp: id, error: String(error) });
    });
  }
}

/**
 * Looks for what a create whose answer was lost may have made: now, and once more after
 * `jobPollMs` (Cyclades may still be committing it). A failed look counts as nothing found.
 */
export async function findAfterLoss<T>(session: CycladesSession, look: () => Promise<T | undefined>): Promise<T | undefined> {
  const first = await look().catch(() => undefined);
  if (first !== undefined) return first;
  await new Promise((resolve) => setTimeout(resolve, session.services.options.jobPollMs).unref());
  return look().catch(() => undefined);
}
