/**
 * @module The databases ocni keeps, and their indexes, created once at start-up and idempotently:
 * `<prefix>categories` (runtime categories, providers, location claims) and `<prefix>entities`
 * (resources and links keyed by location path).
 */
import { CouchStatusError, type CouchClient } from './couch.ts';
import { ENTITY_DESIGN, OWNER_DESIGN, VIEWS, type DesignDoc } from './entity-views.ts';

/** Database names for one prefix. */
export interface DatabaseNames {
  categories: string;
  entities: string;
}

/** The names of the two databases for a prefix. */
export function databaseNames(prefix: string): DatabaseNames {
  return { categories: `${prefix}categories`, entities: `${prefix}entities` };
}

/**
 * Design documents of earlier versions, removed at start-up so that writes no longer pay for them:
 * the Mango indexes (superseded by the generic view, which narrows by attribute too).
 */
const SUPERSEDED_DESIGNS = ['ocni-mango', 'ocni-kind-id', 'ocni-owner-kind-id', 'ocni-owner-id', 'ocni-source', 'ocni-target'];

/** What the indexes are for. */
export interface IndexOptions {
  /** Tenants list their own entities (authentication on): the owner-keyed view is kept. */
  tenancy: boolean;
}

/**
 * Entities per tenant, for the quota (`limits.entitiesPerTenant`): a reduced count by key costs a
 * B-tree lookup, not a read of the tenant's entities. A design document of its own, created only
 * when there are tenants (authentication on), so that a deployment without them never pays for it.
 */
export const QUOTA_DESIGN = {
  _id: '_design/ocni-quota',
  language: 'javascript',
  views: {
    'by-owner': {
      map: 'function (doc) { if (doc.type === "entity" && typeof doc.owner === "string") { emit(doc.owner, null); } }',
      reduce: '_count',
    },
  },
};

async function ensureDatabase(client: CouchClient, name: string): Promise<void> {
  try {
    await client.request({ db: name, method: 'put' });
  } catch (err) {
    // 412 file_exists: created before, by us or another ocni process.
    if (!(err instanceof CouchStatusError && err.statusCode === 412)) throw err;
  }
}

async function ensureDesign(client: CouchClient, db: string, design: DesignDoc | typeof QUOTA_DESIGN): Promise<void> {
  let current: { _rev?: string; views?: unknown } | undefined;
  try {
    current = await client.request({ db, path: design._id });
  } catch (err) {
    if (!(err instanceof CouchStatusError && err.statusCode === 404)) throw err;
  }
  if (current && JSON.stringify(current.views) === JSON.stringify(design.views)) return;
  try {
    await client.request({ db, method: 'put', path: design._id, body: current?._rev ? { ...design, _rev: current._rev } : design });
  } catch (err) {
    // Another process wrote it at the same moment: theirs is the same definition.
    if (!(err instanceof CouchStatusError && err.statusCode === 409)) throw err;
  }
}

async function removeDesign(client: CouchClient, db: string, id: string): Promise<void> {
  try {
    const old = await client.request<{ _rev: string }>({ db, path: id });
    await client.request({ db, method: 'delete', path: id, qs: { rev: old._rev } });
  } catch (err) {
    // Absent (404), or removed by another process at the same moment (409): either way, gone.
    if (!(err instanceof CouchStatusError && (err.statusCode === 404 || err.statusCode === 409))) throw err;
  }
}

/**
 * Creates the databases and design documents that are missing. Nothing is built here: views are
 * built by their first query (see {@link warmIndexes}), so start-up does not wait for them.
 */
export async function ensureDatabases(client: CouchClient, names: DatabaseNames, options: IndexOptions = { tenancy: true }): Promise<void> {
  await ensureDatabase(client, names.categories);
  await ensureDatabase(client, names.entities);
  await ensureDesign(client, names.entities, ENTITY_DESIGN);
  // Without tenants nobody reads the owner-keyed view: not having it spares every write its rows.
  if (options.tenancy) await ensureDesign(client, names.entities, OWNER_DESIGN);
  else await removeDesign(client, names.entities, OWNER_DESIGN._id);
  // The per-tenant count of the entity quota: only tenants are counted.
  if (options.tenancy) await ensureDesign(client, names.entities, QUOTA_DESIGN);
  else await removeDesign(client, names.entities, QUOTA_DESIGN._id);
  for (const ddoc of SUPERSEDED_DESIGNS) await removeDesign(client, names.entities, `_design/${ddoc}`);
}

/**
 * Brings the views up to date in the background (one query each, bounded by `timeoutMs`), so that
 * the first listing after a large import does not pay for building them. Resolves when done; the
 * caller need not wait.
 */
export async function warmIndexes(client: CouchClient, names: DatabaseNames, options: IndexOptions, timeoutMs: number): Promise<void> {
  const views = [VIEWS.entities, VIEWS.linkEnds, ...(options.tenancy ? [VIEWS.owned] : [])];
  // Any query brings a view up to date; an empty key range reads nothing more.
  // All sent at once (and so before the caller goes on): the store builds them side by side.
  await Promise.all(views.map((path) => client.request({ db: names.entities, path, qs: { startkey: '~warm', endkey: '~warm', limit: 1 }, timeoutMs })));
}
