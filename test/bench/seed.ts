/**
 * @module Compute resources for the benchmark, built the way ocni builds them (`buildEntity` with
 * the built-in categories, then `toDoc`), so that the seeded documents are exactly those ocni would
 * have written, and seeding them straight into the store with `_bulk_docs`.
 */
import type { DocumentScope } from 'nano';
import { loadBuiltinCategories } from '../../src/registry/builtins.ts';
import { CategoryRegistry } from '../../src/registry/registry.ts';
import { buildEntity, type Entity } from '../../src/model/entity.ts';
import { toDoc, type EntityDoc } from '../../src/store/entity-store.ts';
import { newId } from '../../src/backends/entity-service.ts';

/** The built-in compute kind. */
export const COMPUTE = 'http://schemas.ogf.org/occi/infrastructure#compute';

/** The filtered query matches resources with this many cores; no other resource has it. */
export const MATCH_CORES = 64;

/** A registry of the built-in categories, as a fresh ocni has. */
export function builtinRegistry(): CategoryRegistry {
  return new CategoryRegistry(loadBuiltinCategories(), { local: ['local'], remote: [] });
}

/** The attributes a client sends for compute number `i`; `cores` is never above 32 unless `match` (the cores to match). */
export function computeAttributes(i: number, match: number | false = false): Record<string, unknown> {
  return {
    'occi.compute.state': 'inactive',
    'occi.compute.architecture': 'x64',
    'occi.compute.cores': match === false ? 1 + (i % 32) : match,
    'occi.compute.hostname': `host${i}`,
  };
}

/** A compute entity at `/compute/<id>` built by ocni's model (defaults applied, values checked). */
export function computeEntity(registry: CategoryRegistry, id: string, i: number, match: number | false = false): Entity {
  return buildEntity(registry, `/compute/${id}`, { kind: COMPUTE, attributes: computeAttributes(i, match) }, '');
}

/** The document of a new compute entity, as `EntityStore.createMany` writes it. */
export function computeDoc(registry: CategoryRegistry, id: string, i: number, match: number | false = false): EntityDoc {
  const doc = toDoc(computeEntity(registry, id, i, match));
  delete doc._rev;
  return doc;
}

/**
 * Writes `count` compute documents (numbered from `first`) in batches of 1,000, of which `matching`
 * (spread evenly over them, so no query can stop early) have `cores` cores.
 *
 * @returns the locations written
 * @throws Error when the store refuses any document
 */
export async function seedComputes(db: DocumentScope<EntityDoc>, registry: CategoryRegistry, count: number, matching: number, cores = MATCH_CORES, first = 0): Promise<string[]> {
  const every = Math.floor(count / matching);
  const locations: string[] = [];
  for (let start = 0; start < count; start += 1000) {
    const docs: EntityDoc[] = [];
    for (let i = start; i < Math.min(count, start + 1000); i += 1) {
      // ocni's own time-ordered ids, so the _id order (and B-tree shape) is the one ocni produces.
      docs.push(computeDoc(registry, newId(), first + i, i % every === Math.floor(every / 2) ? cores : false));
    }
    const results = await db.bulk({ docs });
    const failed = results.find((r) => r.error);
    if (failed) throw new Error(`seeding failed at ${failed.id}: ${failed.error} ${failed.reason ?? ''}`);
    locations.push(...docs.map((d) => d._id));
  }
  return locations;
}
