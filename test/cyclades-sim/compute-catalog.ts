/**
 * @module Flavors and images of the compute API (`synnefo/api/flavors.py`, `synnefo/api/images.py`).
 */

import type { AuthUser } from './auth.ts';
import { itemNotFound } from './faults.ts';
import { authed, changesSince, links, notModified, ok, type Route } from './http.ts';
import { flavorVisible, getFlavor, imageVisible } from './lookups.ts';
import type { SeedFlavor, SeedImage } from './seed.ts';
import type { SimState } from './state.ts';

const C = '/compute/v2\\.0';

/** Flavor and image routes. */
export function catalogRoutes(): Route[] {
  return [
    authed('GET', `${C}/flavors`, (req, state) => ok(200, { flavors: listFlavors(state, req.user, req.query).map((flavor) => flavorSummary(state, flavor)) })),
    authed('GET', `${C}/flavors/detail`, (req, state) => ok(200, { flavors: listFlavors(state, req.user, req.query).map((flavor) => flavorDetail(state, flavor)) })),
    authed('GET', `${C}/flavors/(\\d+)`, (req, state) => ok(200, { flavor: flavorDetail(state, getFlavor(state, req.user, req.params[0] ?? '')) })),
    authed('GET', `${C}/images`, (req, state) => {
      const images = listImages(state, req.user, changesSince(req, state));
      return images === null ? notModified() : ok(200, { images: images.map((image) => imageSummary(state, image)) });
    }),
    authed('GET', `${C}/images/detail`, (req, state) => {
      const images = listImages(state, req.user, changesSince(req, state));
      return images === null ? notModified() : ok(200, { images: images.map((image) => imageDetail(state, image)) });
    }),
    authed('GET', `${C}/images/([\\w-]+)`, (req, state) => {
      const image = state.db.images.find((candidate) => candidate.id === req.params[0]);
      if (image === undefined || !imageVisible(image, req.user)) throw itemNotFound('Image not found.');
      return ok(200, { image: imageDetail(state, image) });
    }),
  ];
}

function listFlavors(state: SimState, user: AuthUser, query: URLSearchParams): SeedFlavor[] {
  const isPublic = query.get('SNF:is_public');
  const access = query.get('SNF:flavor-access');
  return state.db.flavors
    .filter((flavor) => flavorVisible(flavor, user))
    .filter((flavor) => isPublic === null || String(flavor.isPublic) === isPublic.toLowerCase())
    .filter((flavor) => access === null || flavor.access.includes(access))
    .sort((a, b) => a.id - b.id);
}

function flavorSummary(state: SimState, flavor: SeedFlavor): Record<string, unknown> {
  return { id: flavor.id, name: flavor.name, links: links(state, `/compute/v2.0/flavors/${flavor.id}`) };
}

/** The detail rendering of a flavor. */
export function flavorDetail(state: SimState, flavor: SeedFlavor): Record<string, unknown> {
  return {
    ...flavorSummary(state, flavor),
    ram: flavor.ram,
    disk: flavor.disk,
    vcpus: flavor.vcpus,
    'os-flavor-access:is_public': flavor.isPublic,
    'SNF:disk_template': flavor.diskTemplate,
    'SNF:volume_type': flavor.volumeTypeId,
    'SNF:allow_create': flavor.allowCreate,
    'SNF:flavor-access': [...flavor.access],
  };
}

/** Visible images; null means "nothing changed since" (304). */
function listImages(state: SimState, user: AuthUser, since: number | null): SeedImage[] | null {
  const images = state.db.images.filter((image) => imageVisible(image, user));
  if (since === null) return images;
  const changed = images.filter((image) => Date.parse(image.created) >= since);
  return changed.length === 0 ? null : changed;
}

function imageSummary(state: SimState, image: SeedImage): Record<string, unknown> {
  return { id: image.id, name: image.name, links: links(state, `/compute/v2.0/images/${image.id}`) };
}

function imageDetail(state: SimState, image: SeedImage): Record<string, unknown> {
  const stamp = state.iso(Date.parse(image.created));
  return {
    ...imageSummary(state, image),
    status: image.status,
    progress: image.status === 'ACTIVE' ? 100 : 0,
    created: stamp,
    updated: stamp,
    user_id: image.owner,
    tenant_id: image.owner,
    public: image.public,
    is_snapshot: false,
    metadata: { ...image.metadata },
  };
}
