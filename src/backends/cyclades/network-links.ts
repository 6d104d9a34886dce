/**
 * @module Networkinterface links as Cyclades ports (§1.7 of the API notes). The link's source is
 * a compute (`/compute/<server id>`), its target a network (`/network/<network id>`, or any URL
 * ending in a Cyclades network id, e.g. the public network `.../network/1`). A private network
 * gets `POST /ports {network_id, device_id}` (with `fixed_ips` when the ipnetworkinterface mixin
 * names an address); a public one needs a floating IP: one of the user's unused floating IPs on
 * that network is reused, else one is allocated (and released again if the port fails, or when
 * the link goes unless `keepFloatingIps`), then the port is created with it in `fixed_ips`. The
 * link's id is the port id; the port's name is `ocni:<entity id>` (see `marks.ts`).
 *
 * Cyclades attaches a port to a server through a job on the server, so a server still building
 * refuses it (409, `conflict`): links to a new compute are added once it is active.
 */
import { OcciError } from '../../errors.ts';
import type { AttributeValue } from '../../model/category.ts';
import type { Entity } from '../../model/entity.ts';
import type { BackendOutcome } from '../backend.ts';
import { deleteIgnoringGone, isError, notImplemented } from './errors.ts';
import { cycladesIdOf, cycladesIdOfRef, IPNETWORKINTERFACE_MIXIN, linkEndIds } from './ids.ts';
import { pollUntil, whenIdle } from './jobs.ts';
import { idField, list, member, requireId, text, type JsonObject } from './json.ts';
import { findAfterLoss, isLostAnswer, portName, readRef, releaseFloatingIps, writeRef } from './marks.ts';
import { getNetwork } from './network.ts';
import type { CycladesServices, CycladesSession } from './session.ts';

type Changes = Record<string, AttributeValue | null>;

/** OCCI state of each Cyclades port status. */
const STATES: Readonly<Record<string, string>> = { ACTIVE: 'active', BUILD: 'inactive', DOWN: 'inactive', ERROR: 'error' };

/** The OCCI attributes of a port. */
function portAttributes(entity: Entity, port: JsonObject): Changes {
  const status = text(port, 'status') ?? 'ERROR';
  const changes: Changes = { 'occi.networkinterface.state': STATES[status] ?? 'error', 'occi.networkinterface.state.message': status === 'ACTIVE' ? null : status };
  const mac = text(port, 'mac_address');
  if (mac !== undefined && mac !== '') changes['occi.networkinterface.mac'] = mac;
  const [fixed] = list(port, 'fixed_ips');
  const address = fixed === undefined ? undefined : text(fixed, 'ip_address');
  // The address attribute belongs to the ipnetworkinterface mixin; without it there is no such attribute.
  if (address !== undefined && entity.mixins.includes(IPNETWORKINTERFACE_MIXIN)) changes['occi.networkinterface.address'] = address;
  return changes;
}

/**
 * The address the client asked for, without a prefix length; none with `allocation: dynamic`
 * (Cyclades then picks one, as OCCI's dynamic allocation means).
 */
function requestedAddress(entity: Entity): string | undefined {
  if (!entity.mixins.includes(IPNETWORKINTERFACE_MIXIN)) return undefined;
  if (entity.attributes['occi.networkinterface.allocation'] === 'dynamic') return undefined;
  const value = entity.attributes['occi.networkinterface.address'];
  return typeof value === 'string' && value !== '' ? value.replace(/\/\d+$/, '') : undefined;
}

/** The networkinterface operations of one backend. */
export class NetworkLinkOps {
  constructor(private readonly services: CycladesServices) {}

  /** A floating IP on `networkId` for a new port: the requested one, a free one of the user, or a new one. */
  async #floatingIp(networkId: string, wanted: string | undefined, session: CycladesSession): Promise<{ address: string; allocatedId?: string }> {
    const mine = list(await session.get('network', '/floatingips'), 'floatingips').filter((ip) => idField(ip, 'floating_network_id') === networkId);
    if (wanted !== undefined) {
      const ip = mine.find((candidate) => text(candidate, 'floating_ip_address') === wanted);
      if (ip === undefined) throw new OcciError('not-found', `${wanted} is not one of your floating IPs on network ${networkId}`);
      return { address: wanted };
    }
    const free = mine.find((ip) => ip['port_id'] === null || ip['port_id'] === undefined);
    const freeAddress = free === undefined ? undefined : text(free, 'floating_ip_address');
    if (freeAddress !== undefined) return { address: freeAddress };
    const created = member(
      await session.post('network', '/floatingips', { floatingip: { floating_network_id: networkId, project: await session.project() } }),
      'floatingip',
      'a floating IP allocation',
    );
    const address = text(created, 'floating_ip_address');
    if (address === undefined) throw new OcciError('backend-failed', 'Cyclades allocated a floating IP without an address');
    return { address, allocatedId: requireId(created, 'id', 'a floating IP allocation') };
  }

  /** Creates the port (see the module comment). */
  async create(entity: Entity, session: CycladesSession): Promise<BackendOutcome> {
    const { serverId, targetId: networkId } = linkEndIds(entity, 'networkinterface', { kind: 'network', object: 'network' }, this.services.backendName);
    const network = await getNetwork(networkId, session);
    if (network === undefined) throw new OcciError('not-found', `Cyclades has no network ${networkId}`);
    const wanted = requestedAddress(entity);
    const port: JsonObject = { network_id: networkId, device_id: serverId, name: portName(entity) };
    let allocated: string | undefined;
    if (network['public'] === true) {
      const ip = await this.#floatingIp(networkId, wanted, session);
      allocated = ip.allocatedId;
      port['fixed_ips'] = [{ ip_address: ip.address }];
    } else if (wanted !== undefined) {
      port['fixed_ips'] = [{ ip_address: wanted }];
    }
    let created: JsonObject;
    try {
      // Connecting is a job on the server: the one pending there finishes first (see #post).
      created = await this.#post(port, serverId, session);
    } catch (error) {
      if (allocated !== undefined) await releaseFloatingIps([allocated], session, 'after a failed port');
      throw error;
    }
    const outcome: BackendOutcome = { id: requireId(created, 'id', 'a port creation'), attributes: portAttributes(entity, created) };
    const ref = writeRef(allocated === undefined ? {} : { floatingIps: [allocated] });
    if (ref !== undefined) outcome.ref = ref;
    return outcome;
  }

  /** `POST /ports`; when the answer is lost, the port named for this entity on the server is adopted. */
  async #post(port: JsonObject, serverId: string, session: CycladesSession): Promise<JsonObject> {
    try {
      return member(await whenIdle(serverId, session, () => session.post('network', '/ports', { port })), 'port', 'a port creation');
    } catch (error) {
      if (!isLostAnswer(error)) throw error;
      const found = await findAfterLoss(session, async () =>
        list(await session.get('network', `/ports?device_id=${encodeURIComponent(serverId)}`), 'ports').find((candidate) => text(candidate, 'name') === port['name']),
      );
      if (found === undefined) throw error;
      this.services.warn('cyclades: adopted a port whose creation answer was lost', { backend: this.services.backendName, port: idField(found, 'id'), error: String(error) });
      return found;
    }
  }

  /** `GET /ports/<id>`; `'gone'` when Cyclades no longer has it. */
  async retrieve(entity: Entity, session: CycladesSession): Promise<BackendOutcome | 'gone'> {
    const id = cycladesIdOf(entity.location);
    if (id === undefined) return 'gone';
    try {
      const port = member(await session.get('network', `/ports/${id}`), 'port', 'a port');
      return { attributes: portAttributes(entity, port) };
    } catch (error) {
      if (isError(error, ['not-found'])) return 'gone';
      throw error;
    }
  }

  /** A port cannot move: a new source or target is refused; other changes are left to the next read. */
  async change(before: Entity, after: Entity, session: CycladesSession): Promise<BackendOutcome> {
    if (after.source !== before.source || after.target !== before.target) throw notImplemented(this.services.backendName, 'moving a networkinterface to another compute or network');
    const outcome = await this.retrieve(after, session);
    if (outcome === 'gone') throw new OcciError('not-found', `Cyclades no longer has port ${cycladesIdOf(after.location) ?? after.location}`);
    return outcome;
  }

  /**
   * `DELETE /ports/<id>` once the server's pending job is over (the server disconnects the port in
   * a job of its own). A port Cyclades no longer has counts as deleted. The floating IP ocni
   * allocated for this interface is released once the port is gone (unless `keepFloatingIps`);
   * one the user already had stays theirs.
   */
  async delete(entity: Entity, session: CycladesSession): Promise<void> {
    const id = cycladesIdOf(entity.location);
    if (id === undefined) return;
    const serverId = cycladesIdOfRef(entity.source);
    const remove = () => deleteIgnoringGone(() => session.delete('network', `/ports/${id}`));
    if (serverId === undefined) await remove();
    else await whenIdle(serverId, session, remove);
    const ips = readRef(entity).floatingIps ?? [];
    if (ips.length === 0 || this.services.options.keepFloatingIps) return;
    try {
      await pollUntil(
        session,
        `the removal of port ${id}`,
        () => this.#portExists(id, session),
        (exists) => !exists,
      );
    } catch (error) {
      this.services.warn('cyclades: a deleted port outlived the wait; its floating IP is kept', { backend: this.services.backendName, port: id, floatingIps: ips, error: String(error) });
      return;
    }
    await releaseFloatingIps(ips, session, 'of a deleted networkinterface');
  }

  async #portExists(id: string, session: CycladesSession): Promise<boolean> {
    try {
      await session.get('network', `/ports/${id}`);
      return true;
    } catch (error) {
      if (isError(error, ['not-found'])) return false;
      throw error;
    }
  }
}
