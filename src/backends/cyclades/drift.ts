/**
 * @module Drift between ocni and Cyclades, for one caller's token: what Cyclades has that ocni
 * does not know of (a server whose create answer was lost and could not be adopted, a floating
 * IP left allocated, a port whose link was deleted in ocni only), and what ocni knows that
 * Cyclades no longer has. The operator's clean-up deletes only what ocni made (marked servers
 * and volumes, `ocni:` ports and networks) and free floating IPs that ocni's entities say it allocated;
 * anything else the user made stays, listed.
 *
 * What counts as known: an entity's Cyclades id (server, network, port, volume, a storagelink's
 * volume attachment); a known server's own root volume and the ports Cyclades gave it at create
 * (unmarked); a known network's subnets; floating IPs on a known port or server, or named in a
 * known entity's `ref`. Any server's root volume goes with its server (listed, if at all, as the
 * server). Public networks are the deployment's, never drift.
 */
import type { Entity } from '../../model/entity.ts';
import { deleteIgnoringGone } from './errors.ts';
import { COMPUTE_KIND, cycladesIdOf, NETWORK_KIND, NETWORKINTERFACE_KIND, parseStorageLinkId, STORAGE_KIND, STORAGELINK_KIND } from './ids.ts';
import { idField, list, text, type JsonObject } from './json.ts';
import { isOcniMade, readRef } from './marks.ts';
import type { CycladesSession } from './session.ts';

/** The Cyclades object types drift looks at. */
export type CycladesType = 'server' | 'network' | 'subnet' | 'port' | 'volume' | 'floatingip';

/** A Cyclades object ocni does not know of. */
export interface StrayObject {
  type: CycladesType;
  id: string;
  name?: string;
  /** Made by this backend (marked), so the clean-up may delete it. */
  ocniMade: boolean;
}

/** An ocni entity whose Cyclades object is gone. */
export interface OrphanEntity {
  location: string;
  kind: string;
}

/** The drift report. */
export interface DriftReport {
  /** In Cyclades, unknown to ocni. */
  unknownToOcni: StrayObject[];
  /** In ocni, gone from Cyclades. */
  unknownToCyclades: OrphanEntity[];
}

/** Everything the token's user has in Cyclades that drift compares. */
interface Inventory {
  servers: JsonObject[];
  networks: JsonObject[];
  subnets: JsonObject[];
  ports: JsonObject[];
  volumes: JsonObject[];
  floatingIps: JsonObject[];
}

async function inventory(session: CycladesSession): Promise<Inventory> {
  const [servers, networks, subnets, ports, volumes, floatingIps] = await Promise.all([
    session.get('compute', '/servers/detail'),
    session.get('network', '/networks'),
    session.get('network', '/subnets'),
    session.get('network', '/ports'),
    session.get('volume', '/volumes/detail'),
    session.get('network', '/floatingips'),
  ]);
  const live = (o: JsonObject) => o['deleted'] !== true && text(o, 'status')?.toUpperCase() !== 'DELETED';
  return {
    servers: list(servers, 'servers').filter(live),
    networks: list(networks, 'networks').filter((n) => live(n) && n['public'] !== true),
    subnets: list(subnets, 'subnets'),
    ports: list(ports, 'ports').filter(live),
    volumes: list(volumes, 'volumes').filter(live),
    floatingIps: list(floatingIps, 'floatingips').filter(live),
  };
}

const idsOf = (objects: JsonObject[]) => new Set(objects.map((o) => idField(o, 'id')).filter((id): id is string => id !== undefined));

/**
 * Compares the token's Cyclades objects with the entities ocni keeps for this backend.
 *
 * @param entities every entity of the five infrastructure kinds routed to this backend
 */
export async function driftOf(entities: readonly Entity[], session: CycladesSession): Promise<DriftReport> {
  const backendName = session.services.backendName;
  const have = await inventory(session);
  const known = (kind: string) =>
    new Set(
      entities
        .filter((e) => e.kind === kind)
        .map((e) => cycladesIdOf(e.location))
        .filter((id): id is string => id !== undefined),
    );
  const servers = known(COMPUTE_KIND);
  const networks = known(NETWORK_KIND);
  const ports = known(NETWORKINTERFACE_KIND);
  const volumes = known(STORAGE_KIND);
  const attachments = entities.filter((e) => e.kind === STORAGELINK_KIND).map((e) => ({ entity: e, ends: parseStorageLinkId(e.location) }));
  const refIps = new Set(entities.flatMap((e) => readRef(e).floatingIps ?? []));

  const stray: StrayObject[] = [];
  const add = (type: CycladesType, object: JsonObject, ocniMade: boolean) => {
    const id = idField(object, 'id');
    if (id === undefined) return;
    const name = text(object, 'name') ?? text(object, 'display_name');
    stray.push({ type, id, ocniMade, ...(name === undefined ? {} : { name }) });
  };
  for (const server of have.servers) if (!servers.has(idField(server, 'id') ?? '')) add('server', server, isOcniMade(server, backendName));
  for (const network of have.networks) if (!networks.has(idField(network, 'id') ?? '')) add('network', network, isOcniMade(network, backendName));
  for (const subnet of have.subnets) if (!networks.has(idField(subnet, 'network_id') ?? '')) add('subnet', subnet, false);
  const portKnown = (port: JsonObject) => ports.has(idField(port, 'id') ?? '') || (!isOcniMade(port, backendName) && servers.has(idField(port, 'device_id') ?? ''));
  for (const port of have.ports) if (!portKnown(port)) add('port', port, isOcniMade(port, backendName));
  const knownPorts = new Set(have.ports.filter(portKnown).map((p) => idField(p, 'id')));
  const liveServers = idsOf(have.servers);
  for (const volume of have.volumes) {
    const id = idField(volume, 'id') ?? '';
    // A server's root volume is part of the server (listed, known or not, with it).
    const root = list(volume, 'attachments').some((a) => liveServers.has(idField(a, 'server_id') ?? '') && Number(a['device_index'] ?? -1) === 0);
    if (!volumes.has(id) && !root) add('volume', volume, isOcniMade(volume, backendName));
  }
  for (const ip of have.floatingIps) {
    const portId = idField(ip, 'port_id');
    const onKnown = (portId !== undefined && knownPorts.has(portId)) || servers.has(idField(ip, 'instance_id') ?? '');
    if (!onKnown) add('floatingip', ip, portId === undefined && refIps.has(idField(ip, 'id') ?? ''));
  }

  const present = {
    [COMPUTE_KIND]: idsOf(have.servers),
    [NETWORK_KIND]: idsOf(have.networks),
    [NETWORKINTERFACE_KIND]: idsOf(have.ports),
    [STORAGE_KIND]: idsOf(have.volumes),
  } as Record<string, Set<string>>;
  const orphans: OrphanEntity[] = [];
  for (const entity of entities) {
    if (entity.kind === STORAGELINK_KIND) continue;
    const id = cycladesIdOf(entity.location);
    if (id === undefined || !present[entity.kind]?.has(id)) orphans.push({ location: entity.location, kind: entity.kind });
  }
  for (const { entity, ends } of attachments) {
    const volume = ends === undefined ? undefined : have.volumes.find((v) => idField(v, 'id') === ends.volumeId);
    const attached = volume !== undefined && list(volume, 'attachments').some((a) => idField(a, 'server_id') === ends!.serverId);
    if (!attached) orphans.push({ location: entity.location, kind: entity.kind });
  }
  return { unknownToOcni: stray, unknownToCyclades: orphans };
}

/**
 * Deletes what the report lists as unknown to ocni and made by ocni: servers, ports and volumes
 * first, floating IPs last (they are free only once their port is gone). Returns what was asked
 * to go; Cyclades finishes deleting asynchronously.
 */
export async function cleanUp(report: DriftReport, session: CycladesSession): Promise<StrayObject[]> {
  const mine = report.unknownToOcni.filter((o) => o.ocniMade);
  const paths: Record<CycladesType, (id: string) => ['compute' | 'network' | 'volume', string]> = {
    server: (id) => ['compute', `/servers/${id}`],
    port: (id) => ['network', `/ports/${id}`],
    volume: (id) => ['volume', `/volumes/${id}`],
    floatingip: (id) => ['network', `/floatingips/${id}`],
    network: (id) => ['network', `/networks/${id}`],
    subnet: (id) => ['network', `/subnets/${id}`],
  };
  const order: CycladesType[] = ['server', 'port', 'volume', 'network', 'floatingip'];
  for (const type of order) {
    for (const object of mine.filter((o) => o.type === type)) {
      const [service, path] = paths[type](object.id);
      await deleteIgnoringGone(() => session.delete(service, path));
    }
  }
  return mine;
}
