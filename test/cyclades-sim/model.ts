/**
 * @module The simulator's database: plain, JSON-like records (so a request can be rolled back by
 * restoring a `structuredClone`), and {@link createDb} that builds it from a seed.
 */

import type { QuotaResource, SeedFlavor, SeedImage, SeedProject, SeedUser, SeedVolumeType, SimSeed } from './seed.ts';
import { formatIPv4, parseCidr, parseIPv4 } from './ipam.ts';

/** Ganeti-side state of a server (`VirtualMachine.operstate`). */
export type OperState = 'BUILD' | 'STARTED' | 'STOPPED' | 'ERROR' | 'DESTROYED';

/** The one pending action a server may have (`VirtualMachine.task`). */
export type ServerTask = 'BUILD' | 'START' | 'STOP' | 'REBOOT' | 'RESIZE' | 'DESTROY' | 'CONNECT' | 'DISCONNECT' | 'ATTACH_VOLUME' | 'DETACH_VOLUME';

/** A server (virtual machine). Times are ms since the epoch on the simulator clock. */
export interface ServerRecord {
  id: number;
  name: string;
  userId: string;
  project: string;
  sharedToProject: boolean;
  operstate: OperState;
  task: ServerTask | null;
  taskJobId: number | null;
  taskStartedAt: number | null;
  taskDuration: number;
  flavorId: number;
  imageId: string;
  metadata: Record<string, string>;
  tags: string[];
  keyName: string | null;
  /** Target flavor of a pending RESIZE, so a DESTROY that cancels it can undo its commission. */
  resizeTo: number | null;
  suspended: boolean;
  deleted: boolean;
  /** Whether `cyclades.cpu`/`cyclades.ram` (the running-VM quotas) are currently charged. */
  cpuCharged: boolean;
  created: number;
  updated: number;
}

/** Port (NIC) status as the network API shows it. */
export type PortStatus = 'DOWN' | 'BUILD' | 'ACTIVE' | 'ERROR';

/** A port; `machineId` set means it is (being) plugged into that server. */
export interface PortRecord {
  id: number;
  name: string;
  networkId: string;
  userId: string;
  machineId: number | null;
  status: PortStatus;
  deviceOwner: string | null;
  mac: string;
  firewallProfile: string | null;
  securityGroups: string[];
  created: number;
  updated: number;
}

/** An IPv4 address taken from a subnet pool: a port's fixed IP or a user's floating IP. */
export interface IpRecord {
  id: number;
  address: string;
  networkId: string;
  subnetId: string;
  userId: string;
  project: string;
  floating: boolean;
  portId: number | null;
  sharedToProject: boolean;
  created: number;
  updated: number;
}

/** A network, public (seeded) or private (user-created). */
export interface NetworkRecord {
  id: string;
  name: string;
  userId: string | null;
  project: string | null;
  type: string;
  public: boolean;
  floatingIpPool: boolean;
  status: 'ACTIVE' | 'PENDING' | 'ERROR' | 'DELETED' | 'SNF:DRAINED';
  sharedToProject: boolean;
  deleted: boolean;
  created: number;
  updated: number;
}

/** One allocation range of a subnet, inclusive. */
export interface AllocationPool {
  start: string;
  end: string;
}

/** A subnet of a network (at most one per IP version). */
export interface SubnetRecord {
  id: string;
  networkId: string;
  name: string;
  ipVersion: 4 | 6;
  cidr: string;
  gateway: string | null;
  dhcp: boolean;
  slaac: boolean;
  pools: AllocationPool[];
  dns: string[];
  hostRoutes: unknown[];
  userId: string | null;
  public: boolean;
  created: number;
  updated: number;
}

/** Volume status, upper-case as stored by Cyclades (rendered lower-case). */
export type VolumeStatus = 'CREATING' | 'AVAILABLE' | 'ATTACHING' | 'IN_USE' | 'DETACHING' | 'DELETING' | 'DELETED' | 'ERROR';

/** A block-storage volume; `index` 0 is a server's root volume. */
export interface VolumeRecord {
  id: number;
  name: string;
  description: string;
  size: number;
  userId: string;
  project: string;
  status: VolumeStatus;
  machineId: number | null;
  index: number | null;
  volumeTypeId: number;
  deleteOnTermination: boolean;
  imageId: string | null;
  metadata: Record<string, string>;
  sharedToProject: boolean;
  deleted: boolean;
  created: number;
  updated: number;
}

/** Deployment settings the control API may change at run time. */
export interface SimConfig {
  defaultServerNetworks: string[];
  apiEnabledNetworkTypes: string[];
  hotplug: boolean;
  fqdnTemplate: string;
  /** `accept`: DELETE during BUILD is queued (default); `conflict`: reproduce the 409 race. */
  deleteDuringBuild: 'accept' | 'conflict';
  maxNicsPerServer: number;
  maxVolumesPerServer: number;
}

/** Id sequences; each kind starts in its own range so crossed ids show up in bridge tests. */
export interface Sequences {
  server: number;
  network: number;
  subnet: number;
  port: number;
  ip: number;
  volume: number;
}

/** The whole simulated cloud. Records are keyed by `String(id)`. */
export interface SimDb {
  seq: Sequences;
  users: SeedUser[];
  projects: SeedProject[];
  flavors: SeedFlavor[];
  images: SeedImage[];
  volumeTypes: SeedVolumeType[];
  quotas: Record<string, Partial<Record<QuotaResource, number>>>;
  usage: Record<string, Partial<Record<QuotaResource, number>>>;
  servers: Record<string, ServerRecord>;
  ports: Record<string, PortRecord>;
  ips: Record<string, IpRecord>;
  networks: Record<string, NetworkRecord>;
  subnets: Record<string, SubnetRecord>;
  volumes: Record<string, VolumeRecord>;
  /** `adminPass` of each server, readable via `GET /servers/<id>/password` until deleted. */
  passwords: Record<string, string>;
  config: SimConfig;
}

/** Builds a fresh database from a seed; public networks get their IPv4 subnet and pool. */
export function createDb(seed: SimSeed, now: number): SimDb {
  const copy = structuredClone(seed);
  const db: SimDb = {
    seq: { server: 1000, network: 2000, subnet: 3000, port: 4000, ip: 5000, volume: 6000 },
    users: copy.users,
    projects: copy.projects,
    flavors: copy.flavors,
    images: copy.images,
    volumeTypes: copy.volumeTypes,
    quotas: copy.quotas,
    usage: {},
    servers: {},
    ports: {},
    ips: {},
    networks: {},
    subnets: {},
    volumes: {},
    passwords: {},
    config: {
      defaultServerNetworks: copy.defaultServerNetworks,
      apiEnabledNetworkTypes: copy.apiEnabledNetworkTypes,
      hotplug: copy.hotplug,
      fqdnTemplate: copy.fqdnTemplate,
      deleteDuringBuild: 'accept',
      maxNicsPerServer: 8,
      maxVolumesPerServer: 8,
    },
  };
  for (const net of copy.publicNetworks) {
    db.networks[net.id] = {
      id: net.id,
      name: net.name,
      userId: null,
      project: null,
      type: net.type,
      public: true,
      floatingIpPool: net.floatingIpPool,
      status: 'ACTIVE',
      sharedToProject: false,
      deleted: false,
      created: now,
      updated: now,
    };
    const cidr = parseCidr(net.cidr);
    const gateway = parseIPv4(net.gateway);
    if (cidr === null || gateway === null) throw new Error(`seed: bad cidr/gateway for public network ${net.id}`);
    const first = gateway + 1;
    const last = Math.min(cidr.broadcast - 1, first + Math.max(0, net.poolSize) - 1);
    db.seq.subnet += 1;
    const subnetId = String(db.seq.subnet);
    db.subnets[subnetId] = {
      id: subnetId,
      networkId: net.id,
      name: `${net.name} subnet`,
      ipVersion: 4,
      cidr: net.cidr,
      gateway: net.gateway,
      dhcp: true,
      slaac: false,
      pools: last >= first ? [{ start: formatIPv4(first), end: formatIPv4(last) }] : [],
      dns: [],
      hostRoutes: [],
      userId: null,
      public: true,
      created: now,
      updated: now,
    };
  }
  return db;
}
