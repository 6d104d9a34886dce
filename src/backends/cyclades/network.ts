/**
 * @module Network resources as Cyclades private networks (§1.7 of the API notes): create with
 * `POST /networks` (type `MAC_FILTERED`) and, with the ipnetwork mixin, a subnet from
 * `occi.network.address` / `occi.network.gateway` (`POST /subnets`); when the subnet is refused
 * the network is deleted again, so nothing is left behind. Reads merge the subnet's CIDR and
 * gateway; public networks say so in `occi.network.state.message`.
 */
import { OcciError } from '../../errors.ts';
import type { AttributeValue } from '../../model/category.ts';
import { idOf, type Entity } from '../../model/entity.ts';
import type { BackendOutcome } from '../backend.ts';
import { deleteIgnoringGone, isError, notImplemented } from './errors.ts';
import { cycladesIdOf, IPNETWORK_MIXIN } from './ids.ts';
import { pollUntil } from './jobs.ts';
import { list, member, requireId, text, type JsonObject } from './json.ts';
import { findAfterLoss, isLostAnswer, markedName } from './marks.ts';
import type { CycladesServices, CycladesSession } from './session.ts';

type Changes = Record<string, AttributeValue | null>;

/** OCCI state of each Cyclades network status. */
const STATES: Readonly<Record<string, string>> = {
  ACTIVE: 'active',
  PENDING: 'inactive',
  'SNF:DRAINED': 'inactive',
  ERROR: 'error',
};

/** Reads a network; undefined when Cyclades no longer has it. */
export async function getNetwork(id: string, session: CycladesSession): Promise<JsonObject | undefined> {
  try {
    const network = member(await session.get('network', `/networks/${id}`), 'network', 'a network');
    return text(network, 'status') === 'DELETED' || network['deleted'] === true ? undefined : network;
  } catch (error) {
    if (isError(error, ['not-found'])) return undefined;
    throw error;
  }
}

/** The network operations of one backend. */
export class NetworkOps {
  constructor(private readonly services: CycladesServices) {}

  /** The attributes of a network, with its subnet's when the entity has the ipnetwork mixin. */
  async #attributes(entity: Entity, network: JsonObject, session: CycladesSession, fallback = false): Promise<Changes> {
    const status = text(network, 'status') ?? 'ERROR';
    const changes: Changes = {
      'occi.network.state': STATES[status] ?? 'error',
      'occi.network.state.message': network['public'] === true ? 'public network (addresses are floating IPs)' : status === 'ACTIVE' ? null : status,
    };
    if (!entity.mixins.includes(IPNETWORK_MIXIN)) return changes;
    const subnets = Array.isArray(network['subnets']) ? network['subnets'].map(String) : [];
    if (subnets.length === 0) return changes;
    let subnet: JsonObject;
    try {
      subnet = member(await session.get('network', `/subnets/${subnets[0]!}`), 'subnet', 'a subnet');
    } catch (error) {
      // Right after a create, the client's own values stand in for a read that failed.
      if (!fallback) throw error;
      return changes;
    }
    const cidr = text(subnet, 'cidr');
    if (cidr !== undefined) changes['occi.network.address'] = cidr;
    changes['occi.network.gateway'] = text(subnet, 'gateway_ip') ?? null;
    return changes;
  }

  /**
   * `POST /networks`, then `POST /subnets` when an address is given (the network is deleted
   * again when the subnet is refused). The network is created under ocni's mark (`ocni:<entity
   * id>`) and renamed to its title right after, so that one whose creation answer is lost is
   * found and adopted.
   */
  async create(entity: Entity, session: CycladesSession): Promise<BackendOutcome> {
    const name = entity.title ?? idOf(entity.location);
    // Created under ocni's mark, so that a lost answer can be found again, then given its title.
    const marked = markedName(entity);
    const network = await this.#post({ type: 'MAC_FILTERED', name: marked, project: await session.project() }, session);
    const id = requireId(network, 'id', 'a network creation');
    if (entity.title !== undefined) {
      await session
        .put('network', `/networks/${id}`, { network: { name: entity.title } })
        .catch((e: unknown) => this.services.warn('cyclades: a new network keeps its ocni name, the rename failed', { backend: this.services.backendName, network: id, error: String(e) }));
    }
    const address = entity.attributes['occi.network.address'];
    const gateway = entity.attributes['occi.network.gateway'];
    if (entity.mixins.includes(IPNETWORK_MIXIN) && typeof address === 'string' && address !== '') {
      const subnet: JsonObject = { network_id: id, cidr: address, ip_version: address.includes(':') ? 6 : 4, name: `${name} subnet` };
      if (typeof gateway === 'string' && gateway !== '') subnet['gateway_ip'] = gateway;
      try {
        await session.post('network', '/subnets', { subnet });
      } catch (error) {
        // A lost answer may hide a subnet that was made: the network says.
        const made = isLostAnswer(error) ? await getNetwork(id, session).catch(() => undefined) : undefined;
        if (made === undefined || !Array.isArray(made['subnets']) || made['subnets'].length === 0) {
          // No half-made network: the subnet is what the client asked for (its subnets go with it).
          await session
            .delete('network', `/networks/${id}`)
            .catch((e: unknown) => this.services.warn('cyclades: could not delete a network after its subnet failed', { backend: this.services.backendName, network: id, error: String(e) }));
          throw error;
        }
      }
    }
    // Both exist now: a failed read-back must not fail the create (they would then live only in
    // Cyclades), so the create's answer and the client's values stand in for it.
    const fresh = (await getNetwork(id, session).catch(() => undefined)) ?? network;
    return { id, attributes: await this.#attributes(entity, fresh, session, true) };
  }

  /** `POST /networks`; when the answer is lost, the network under this entity's mark is adopted. */
  async #post(network: JsonObject, session: CycladesSession): Promise<JsonObject> {
    try {
      return member(await session.post('network', '/networks', { network }), 'network', 'a network creation');
    } catch (error) {
      if (!isLostAnswer(error)) throw error;
      const found = await findAfterLoss(session, async () =>
        list(await session.get('network', '/networks'), 'networks').find((n) => n['public'] !== true && n['deleted'] !== true && text(n, 'name') === network['name']),
      );
      if (found === undefined) throw error;
      this.services.warn('cyclades: adopted a network whose creation answer was lost', { backend: this.services.backendName, network: text(found, 'id'), error: String(error) });
      return found;
    }
  }

  /** `GET /networks/<id>` (+ its subnet); `'gone'` when Cyclades no longer has it. */
  async retrieve(entity: Entity, session: CycladesSession): Promise<BackendOutcome | 'gone'> {
    const id = cycladesIdOf(entity.location);
    if (id === undefined) return 'gone';
    const network = await getNetwork(id, session);
    if (network === undefined) return 'gone';
    return { attributes: await this.#attributes(entity, network, session) };
  }

  /** A new title renames the network; Cyclades cannot change a subnet once made. */
  async change(before: Entity, after: Entity, session: CycladesSession): Promise<BackendOutcome> {
    const id = cycladesIdOf(before.location);
    if (id === undefined) throw new OcciError('not-found', `${before.location} is not a Cyclades network`);
    for (const name of ['occi.network.address', 'occi.network.gateway']) {
      if (JSON.stringify(before.attributes[name]) !== JSON.stringify(after.attributes[name]))
        throw notImplemented(this.services.backendName, `changing ${name} of a network (Cyclades subnets cannot be changed)`);
    }
    if (after.title !== undefined && after.title !== before.title) await session.put('network', `/networks/${id}`, { network: { name: after.title } });
    const outcome = await this.retrieve(after, session);
    if (outcome === 'gone') throw new OcciError('not-found', `Cyclades no longer has network ${id}`);
    return outcome;
  }

  /**
   * `DELETE /networks/<id>` (its subnets go with it); one Cyclades no longer has counts as deleted.
   * Cyclades refuses while ports are on the network (409); ports whose server is still
   * disconnecting them go within a job, so the bridge waits for the network to have none (bounded
   * by `timeoutMs`) and deletes it then; ports that stay keep the 409.
   */
  async delete(entity: Entity, session: CycladesSession): Promise<void> {
    const id = cycladesIdOf(entity.location);
    if (id === undefined) return;
    try {
      await deleteIgnoringGone(() => session.delete('network', `/networks/${id}`));
    } catch (error) {
      if (!isError(error, ['conflict'])) throw error;
      const ports = () => session.get('network', `/ports?network_id=${encodeURIComponent(id)}`).then((body) => list(body, 'ports').length);
      const left = await pollUntil(session, `the ports of network ${id} to go`, ports, (n) => n === 0).catch(() => undefined);
      if (left === undefined) throw error;
      await deleteIgnoringGone(() => session.delete('network', `/networks/${id}`));
    }
  }
}
