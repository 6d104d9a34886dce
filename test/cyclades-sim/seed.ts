/**
 * @module Seed data and defaults for the Cyclades simulator: the shape of a seed (§4.1 of
 * `cyclades-api.md`), the default job timings, and the demo world `npm run cyclades-sim` serves.
 */

/** Quota resources Cyclades charges, per project (`synnefo/quotas/__init__.py`). */
export type QuotaResource = 'cyclades.vm' | 'cyclades.total_cpu' | 'cyclades.cpu' | 'cyclades.total_ram' | 'cyclades.ram' | 'cyclades.disk' | 'cyclades.floating_ip' | 'cyclades.network.private';

/** Every quota resource, in the order commissions are checked (so the reported one is stable). */
export const QUOTA_RESOURCES: readonly QuotaResource[] = [
  'cyclades.vm',
  'cyclades.total_cpu',
  'cyclades.cpu',
  'cyclades.total_ram',
  'cyclades.ram',
  'cyclades.disk',
  'cyclades.floating_ip',
  'cyclades.network.private',
];

/** A user known to the identity service. */
export interface SeedUser {
  uuid: string;
  name: string;
  token: string;
  /** ISO 8601; a token at or past this instant of the simulator clock is `Authentication expired`. */
  tokenExpires: string;
  active: boolean;
  /** Accepted project memberships besides the system project (which has the user's uuid). */
  projects: string[];
}

/** A project (the system project of a user has the user's uuid). */
export interface SeedProject {
  id: string;
  name: string;
}

/** A flavor; `ram` in MiB, `disk` in GiB. */
export interface SeedFlavor {
  id: number;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
  diskTemplate: string;
  volumeTypeId: number;
  isPublic: boolean;
  allowCreate: boolean;
  /** Projects that may use a non-public flavor. */
  access: string[];
}

/** An image as the compute API shows it. */
export interface SeedImage {
  id: string;
  name: string;
  status: 'ACTIVE' | 'SAVING' | 'ERROR' | 'UNKNOWN';
  /** Owner uuid; system images use a service uuid. */
  owner: string;
  public: boolean;
  metadata: Record<string, string>;
  created: string;
}

/** A public network; with `floatingIpPool` its IPv4 pool backs `POST /floatingips`. */
export interface SeedPublicNetwork {
  id: string;
  name: string;
  cidr: string;
  gateway: string;
  type: 'IP_LESS_ROUTED' | 'MAC_FILTERED' | 'PHYSICAL_VLAN' | 'CUSTOM';
  floatingIpPool: boolean;
  /** How many addresses (after the gateway) the pool hands out; small pools make exhaustion testable. */
  poolSize: number;
}

/** A volume type; only detachable types may exist without a server. */
export interface SeedVolumeType {
  id: number;
  name: string;
  diskTemplate: string;
  detachable: boolean;
}

/** Quota limits per project; `cyclades.ram`/`total_ram`/`disk` in bytes. */
export type SeedQuotas = Record<string, Partial<Record<QuotaResource, number>>>;

/** Job durations in ms (§4.1). */
export interface SimTimings {
  build: number;
  start: number;
  stop: number;
  reboot: number;
  resize: number;
  destroy: number;
  connect: number;
  disconnect: number;
  volumeAttach: number;
  volumeDetach: number;
  volumeDelete: number;
}

/** Everything the simulator starts from; `reset` returns to it. */
export interface SimSeed {
  users: SeedUser[];
  projects: SeedProject[];
  flavors: SeedFlavor[];
  images: SeedImage[];
  publicNetworks: SeedPublicNetwork[];
  volumeTypes: SeedVolumeType[];
  quotas: SeedQuotas;
  /** `CYCLADES_DEFAULT_SERVER_NETWORKS`: used when `POST /servers` omits `networks`. */
  defaultServerNetworks: string[];
  /** `API_ENABLED_NETWORK_FLAVORS`: network types users may create. */
  apiEnabledNetworkTypes: string[];
  /** `GANETI_USE_HOTPLUG`: when false, NIC/volume changes need a STOPPED server. */
  hotplug: boolean;
  /** `CYCLADES_SERVERS_FQDN`, `%d` (or `%(id)d`) replaced by the server id. */
  fqdnTemplate: string;
}

/** Default job durations: 3 s to build, 1 s for everything else. */
export const DEFAULT_TIMINGS: Readonly<SimTimings> = {
  build: 3000,
  start: 1000,
  stop: 1000,
  reboot: 1000,
  resize: 1000,
  destroy: 1000,
  connect: 1000,
  disconnect: 1000,
  volumeAttach: 1000,
  volumeDetach: 1000,
  volumeDelete: 1000,
};

const GIB = 1024 ** 3;

/** Uuid of the demo user (also its system project). */
export const DEMO_USER_UUID = '5f0e6a9c-1d2b-4c3d-8e4f-0a1b2c3d4e01';
/** Demo user's API token. */
export const DEMO_TOKEN = 'demo-token';
/** A second user, for ownership tests. */
export const OTHER_USER_UUID = '5f0e6a9c-1d2b-4c3d-8e4f-0a1b2c3d4e02';
/** Token of the second user. */
export const OTHER_TOKEN = 'other-token';
/** A token whose expiry is in the past. */
export const EXPIRED_TOKEN = 'expired-token';
/** Token of a deactivated user. */
export const INACTIVE_TOKEN = 'inactive-token';
/** A regular project the demo user belongs to, with generous quotas. */
export const DEMO_PROJECT_A = '9c1f4d2e-7b6a-4e5d-9f8c-1a2b3c4d5e0a';
/** A second project with room for exactly one small VM, network and floating IP. */
export const DEMO_PROJECT_B = '9c1f4d2e-7b6a-4e5d-9f8c-1a2b3c4d5e0b';
/** Debian image id. */
export const DEBIAN_IMAGE_ID = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';
/** Ubuntu image id. */
export const UBUNTU_IMAGE_ID = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
/** Id of the seeded public network (a floating IP pool). */
export const PUBLIC_NETWORK_ID = '1';
/** Owner uuid of the system images. */
export const SYSTEM_IMAGES_OWNER = '00000000-0000-4000-8000-000000000001';

function standardQuota(scale: number): Partial<Record<QuotaResource, number>> {
  return {
    'cyclades.vm': 5 * scale,
    'cyclades.total_cpu': 16 * scale,
    'cyclades.cpu': 16 * scale,
    'cyclades.total_ram': 16 * GIB * scale,
    'cyclades.ram': 16 * GIB * scale,
    'cyclades.disk': 200 * GIB * scale,
    'cyclades.floating_ip': 3 * scale,
    'cyclades.network.private': 3 * scale,
  };
}

/**
 * The demo world: user `demo` (token `demo-token`) in two projects, a second user for ownership
 * checks, an expired and an inactive token, two images, six flavors (one with `allow_create`
 * false, one private to project A), one public floating-IP network, two volume types.
 */
export function demoSeed(): SimSeed {
  const farFuture = '2099-12-31T23:59:59.000Z';
  return {
    users: [
      { uuid: DEMO_USER_UUID, name: 'demo@example.org', token: DEMO_TOKEN, tokenExpires: farFuture, active: true, projects: [DEMO_PROJECT_A, DEMO_PROJECT_B] },
      { uuid: OTHER_USER_UUID, name: 'other@example.org', token: OTHER_TOKEN, tokenExpires: farFuture, active: true, projects: [] },
      { uuid: '5f0e6a9c-1d2b-4c3d-8e4f-0a1b2c3d4e03', name: 'expired@example.org', token: EXPIRED_TOKEN, tokenExpires: '2000-01-01T00:00:00.000Z', active: true, projects: [] },
      { uuid: '5f0e6a9c-1d2b-4c3d-8e4f-0a1b2c3d4e04', name: 'inactive@example.org', token: INACTIVE_TOKEN, tokenExpires: farFuture, active: false, projects: [] },
    ],
    projects: [
      { id: DEMO_PROJECT_A, name: 'demo-project-a' },
      { id: DEMO_PROJECT_B, name: 'demo-project-b' },
    ],
    flavors: [
      { id: 1, name: 'C1R1024D20', vcpus: 1, ram: 1024, disk: 20, diskTemplate: 'ext_archipelago', volumeTypeId: 1, isPublic: true, allowCreate: true, access: [] },
      { id: 2, name: 'C2R2048D20', vcpus: 2, ram: 2048, disk: 20, diskTemplate: 'ext_archipelago', volumeTypeId: 1, isPublic: true, allowCreate: true, access: [] },
      { id: 3, name: 'C4R4096D40', vcpus: 4, ram: 4096, disk: 40, diskTemplate: 'ext_archipelago', volumeTypeId: 1, isPublic: true, allowCreate: true, access: [] },
      { id: 4, name: 'C2R2048D20drbd', vcpus: 2, ram: 2048, disk: 20, diskTemplate: 'drbd', volumeTypeId: 2, isPublic: true, allowCreate: true, access: [] },
      { id: 5, name: 'C8R16384D80', vcpus: 8, ram: 16384, disk: 80, diskTemplate: 'ext_archipelago', volumeTypeId: 1, isPublic: true, allowCreate: false, access: [] },
      { id: 6, name: 'C16R32768D20', vcpus: 16, ram: 32768, disk: 20, diskTemplate: 'ext_archipelago', volumeTypeId: 1, isPublic: false, allowCreate: true, access: [DEMO_PROJECT_A] },
    ],
    images: [
      {
        id: DEBIAN_IMAGE_ID,
        name: 'Debian Base 12',
        status: 'ACTIVE',
        owner: SYSTEM_IMAGES_OWNER,
        public: true,
        metadata: { os: 'debian', osfamily: 'linux', users: 'root', partition_table: 'msdos', description: 'Debian 12 (bookworm) base system' },
        created: '2024-01-15T10:00:00.000Z',
      },
      {
        id: UBUNTU_IMAGE_ID,
        name: 'Ubuntu Server 22.04 LTS',
        status: 'ACTIVE',
        owner: SYSTEM_IMAGES_OWNER,
        public: true,
        metadata: { os: 'ubuntu', osfamily: 'linux', users: 'user', partition_table: 'msdos', description: 'Ubuntu Server 22.04 LTS (jammy)' },
        created: '2024-02-01T10:00:00.000Z',
      },
    ],
    publicNetworks: [{ id: PUBLIC_NETWORK_ID, name: 'Public IPv4 Network', cidr: '203.0.113.0/24', gateway: '203.0.113.1', type: 'IP_LESS_ROUTED', floatingIpPool: true, poolSize: 16 }],
    volumeTypes: [
      { id: 1, name: 'archipelago', diskTemplate: 'ext_archipelago', detachable: true },
      { id: 2, name: 'drbd', diskTemplate: 'drbd', detachable: false },
    ],
    quotas: {
      [DEMO_USER_UUID]: standardQuota(1),
      [OTHER_USER_UUID]: standardQuota(1),
      [DEMO_PROJECT_A]: standardQuota(4),
      [DEMO_PROJECT_B]: {
        'cyclades.vm': 1,
        'cyclades.total_cpu': 2,
        'cyclades.cpu': 2,
        'cyclades.total_ram': 2 * GIB,
        'cyclades.ram': 2 * GIB,
        'cyclades.disk': 40 * GIB,
        'cyclades.floating_ip': 1,
        'cyclades.network.private': 1,
      },
    },
    defaultServerNetworks: ['SNF:ANY_PUBLIC_IPV4'],
    apiEnabledNetworkTypes: ['MAC_FILTERED'],
    hotplug: true,
    fqdnTemplate: 'snf-%d.vm.example.org',
  };
}
