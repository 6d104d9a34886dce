/**
 * @module Cyclades images and flavors as OCCI templates. Every image becomes an os_tpl mixin and
 * every flavor one may create servers from a resource_tpl mixin, in schemes of their own per
 * backend (`http://schemas.ocni.dev/cyclades/<backend>/os_tpl#<image id>`,
 * `.../resource_tpl#<flavor id>`), so two Cyclades backends never mix their templates.
 *
 * Refresh policy: the catalog (`GET /images/detail` + `GET /flavors/detail`) is fetched per token,
 * because Cyclades shows each user the images and flavors their projects may use, and reused for
 * `templateTtlMs` (default 5 minutes). After that the next call fetches it again, so images and
 * flavors added or removed in Cyclades show within one TTL. A create that Cyclades refuses
 * because a template no longer exists drops that token's catalog at once.
 */
import { isOcciError } from '../../errors.ts';
import { INFRA_SCHEME, type AttributeDefinitions, type Mixin } from '../../model/category.ts';
import { COMPUTE_KIND, OS_TPL_MIXIN, RESOURCE_TPL_MIXIN } from './ids.ts';
import { idField, isObject, list, member, numeric, text, type JsonObject } from './json.ts';
import type { CycladesSession } from './session.ts';
import { TtlCache, tokenKey, type Clock } from './ttl-cache.ts';

/** An image, as the bridge uses it. */
export interface ImageInfo {
  id: string;
  name: string;
  status: string;
  /** Image properties (`os`, `users`, ...). */
  metadata: Record<string, string>;
}

/** A flavor, as the bridge uses it; `ram` in MiB, `disk` in GiB (Cyclades' units). */
export interface FlavorInfo {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
  /** `SNF:allow_create`: false for flavors servers may no longer be created from. */
  allowCreate: boolean;
}

/** The images and flavors one token sees. */
export interface Catalog {
  images: ImageInfo[];
  /** Every flavor, including those with `allowCreate` false (existing servers may use them). */
  flavors: FlavorInfo[];
}

/** The scheme of a backend's os_tpl mixins. */
export function osTplScheme(backendName: string): string {
  return `http://schemas.ocni.dev/cyclades/${backendName}/os_tpl#`;
}

/** The scheme of a backend's resource_tpl mixins. */
export function resourceTplScheme(backendName: string): string {
  return `http://schemas.ocni.dev/cyclades/${backendName}/resource_tpl#`;
}

/** The terms of the backend's template mixins an entity has. */
export function templateTerms(backendName: string, mixins: readonly string[]): { images: string[]; flavors: string[] } {
  const os = osTplScheme(backendName);
  const resource = resourceTplScheme(backendName);
  return {
    images: mixins.filter((m) => m.startsWith(os)).map((m) => m.slice(os.length)),
    flavors: mixins.filter((m) => m.startsWith(resource)).map((m) => m.slice(resource.length)),
  };
}

/** OCCI terms (GFD.229 §4.1): what a Cyclades name must look like to be offered as one. */
const TERM = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * The snf-occi names of a catalog: snf-occi offered each flavor and image under its *name* in the
 * OCCI infrastructure scheme (`http://schemas.ogf.org/occi/infrastructure#C2R2048D20`,
 * `...#Debian`), and its users' scripts say so. A name is offered only when it is unambiguous:
 * exactly one ACTIVE image or creatable flavor has it (two images called `Debian` → neither is
 * offered as `Debian`; both stay available by id), and it is a valid OCCI term. Built-in
 * categories of that scheme (`compute`, `os_tpl`, ...) take precedence over a name.
 */
export function snfNames(catalog: Catalog): { images: Map<string, ImageInfo>; flavors: Map<string, FlavorInfo> } {
  const count = new Map<string, number>();
  const images = catalog.images.filter((i) => i.status === 'ACTIVE');
  const flavors = catalog.flavors.filter((f) => f.allowCreate);
  for (const name of [...images.map((i) => i.name), ...flavors.map((f) => f.name)]) count.set(name, (count.get(name) ?? 0) + 1);
  const usable = (name: string) => TERM.test(name) && count.get(name) === 1;
  return {
    images: new Map(images.filter((i) => usable(i.name)).map((i) => [i.name, i])),
    flavors: new Map(flavors.filter((f) => usable(f.name)).map((f) => [f.name, f])),
  };
}

/** OCCI memory is in GiB, Cyclades' `ram` in MiB. */
export function memoryGiB(ramMiB: number): number {
  return ramMiB / 1024;
}

/** Reads a flavor detail object. */
export function readFlavor(flavor: JsonObject): FlavorInfo | undefined {
  const id = idField(flavor, 'id');
  if (id === undefined) return undefined;
  return {
    id,
    name: text(flavor, 'name') ?? id,
    vcpus: numeric(flavor, 'vcpus') ?? 0,
    ram: numeric(flavor, 'ram') ?? 0,
    disk: numeric(flavor, 'disk') ?? 0,
    allowCreate: flavor['SNF:allow_create'] !== false,
  };
}

function readImage(image: JsonObject): ImageInfo | undefined {
  const id = idField(image, 'id');
  if (id === undefined) return undefined;
  const metadata: Record<string, string> = {};
  const raw = image['metadata'];
  if (isObject(raw)) for (const [key, value] of Object.entries(raw)) if (typeof value === 'string' || typeof value === 'number') metadata[key] = String(value);
  return { id, name: text(image, 'name') ?? id, status: text(image, 'status') ?? 'UNKNOWN', metadata };
}

/**
 * How long a failed catalog look-up is answered from memory: a refused token (or an outage) then
 * costs Cyclades two calls per this period, not two per request.
 */
export const FAILURE_TTL_MS = 10_000;

/** At most this many tokens' catalogs are kept. */
const MAX_CATALOGS = 500;

/** Template attribute definitions, as the OCCI CRTP mixins define them, with the flavor's values as defaults. */
function flavorAttributes(flavor: FlavorInfo): AttributeDefinitions {
  return {
    'occi.compute.cores': { type: 'number', mutable: true, required: false, description: 'Number of virtual CPU cores.', default: flavor.vcpus, pattern: { type: 'integer', minimum: 1 } },
    'occi.compute.memory': { type: 'number', mutable: true, required: false, description: 'Maximum RAM in GiB.', default: memoryGiB(flavor.ram), pattern: { type: 'number', exclusiveMinimum: 0 } },
    'occi.compute.ephemeral_storage.size': {
      type: 'number',
      mutable: true,
      required: false,
      description: 'Size of the ephemeral storage in GB.',
      default: flavor.disk,
      pattern: { type: 'number', minimum: 0 },
    },
  };
}

/** The per-token template catalog of one backend; see the module comment. */
export class TemplateCatalog {
  readonly #cache: TtlCache<Catalog>;

  constructor(
    private readonly backendName: string,
    ttlMs: number,
    now: Clock,
  ) {
    this.#cache = new TtlCache<Catalog>(ttlMs, MAX_CATALOGS, now, Math.min(ttlMs, FAILURE_TTL_MS));
  }

  /** The images and flavors the session's token sees (cached per token). */
  catalog(session: CycladesSession): Promise<Catalog> {
    return this.#cache.get(tokenKey(session.token), async () => {
      const [images, flavors] = await Promise.all([session.get('compute', '/images/detail'), session.get('compute', '/flavors/detail')]);
      return {
        images: list(images, 'images')
          .map(readImage)
          .filter((i): i is ImageInfo => i !== undefined),
        flavors: list(flavors, 'flavors')
          .map(readFlavor)
          .filter((f): f is FlavorInfo => f !== undefined),
      };
    });
  }

  /**
   * The mixins with snf-occi names (see {@link snfNames}) replaced by this backend's id-based
   * template mixins; other mixins are kept as they are.
   */
  async resolveNames(session: CycladesSession, mixins: readonly string[]): Promise<string[]> {
    const named = mixins.filter((m) => m.startsWith(INFRA_SCHEME) && TERM.test(m.slice(INFRA_SCHEME.length)));
    if (named.length === 0) return [...mixins];
    const names = snfNames(await this.catalog(session));
    return mixins.map((m) => {
      if (!named.includes(m)) return m;
      const name = m.slice(INFRA_SCHEME.length);
      const image = names.images.get(name);
      if (image !== undefined) return `${osTplScheme(this.backendName)}${image.id}`;
      const flavor = names.flavors.get(name);
      return flavor === undefined ? m : `${resourceTplScheme(this.backendName)}${flavor.id}`;
    });
  }

  /** Drops the session token's catalog, so the next call asks Cyclades again. */
  invalidate(session: CycladesSession): void {
    this.#cache.delete(tokenKey(session.token));
  }

  /**
   * A flavor by id: from the catalog, else asked directly (`GET /flavors/<id>`), since a server
   * may use a flavor the catalog no longer lists. Undefined when Cyclades does not know it.
   */
  async flavor(session: CycladesSession, id: string): Promise<FlavorInfo | undefined> {
    const cached = (await this.catalog(session)).flavors.find((f) => f.id === id);
    if (cached !== undefined) return cached;
    try {
      return readFlavor(member(await session.get('compute', `/flavors/${id}`), 'flavor', 'a flavor'));
    } catch (error) {
      if (isOcciError(error) && error.code === 'not-found') return undefined;
      throw error;
    }
  }

  /**
   * The template mixins of the session's token: one os_tpl per ACTIVE image, one resource_tpl per
   * flavor with `SNF:allow_create` not false (Cyclades refuses servers from the others, 403).
   */
  async mixins(session: CycladesSession): Promise<Mixin[]> {
    const { images, flavors } = await this.catalog(session);
    const base = `/cyclades/${this.backendName}`;
    const os: Mixin[] = images
      .filter((image) => image.status === 'ACTIVE')
      .map((image) => ({
        class: 'mixin',
        scheme: osTplScheme(this.backendName),
        term: image.id,
        title: image.name,
        attributes: {},
        depends: [OS_TPL_MIXIN],
        applies: [COMPUTE_KIND],
        actions: [],
        location: `${base}/os_tpl/${image.id}/`,
      }));
    const resource: Mixin[] = flavors
      .filter((flavor) => flavor.allowCreate)
      .map((flavor) => ({
        class: 'mixin',
        scheme: resourceTplScheme(this.backendName),
        term: flavor.id,
        title: flavor.name,
        attributes: flavorAttributes(flavor),
        depends: [RESOURCE_TPL_MIXIN],
        applies: [COMPUTE_KIND],
        actions: [],
        location: `${base}/resource_tpl/${flavor.id}/`,
      }));
    // The same templates under their snf-occi names, for snf-occi's users and scripts.
    const names = snfNames({ images, flavors });
    const byName: Mixin[] = [
      ...[...names.images.values()].map((image) => ({
        ...os.find((m) => m.term === image.id)!,
        scheme: INFRA_SCHEME,
        term: image.name,
        title: `${image.name} (image ${image.id}; snf-occi name)`,
        location: `${base}/snf-occi/${image.name}/`,
      })),
      ...[...names.flavors.values()].map((flavor) => ({
        ...resource.find((m) => m.term === flavor.id)!,
        scheme: INFRA_SCHEME,
        term: flavor.name,
        title: `${flavor.name} (flavor ${flavor.id}; snf-occi name)`,
        location: `${base}/snf-occi/${flavor.name}/`,
      })),
    ];
    return [...os, ...resource, ...byName];
  }
}
