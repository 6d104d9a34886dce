/**
 * @module The databases ocni keeps, and their indexes, created once at start-up and idempotently:
 * `<prefix>categories` (runtime categories, providers, location claims) and `<prefix>entities`
 * (resources and links keyed by location path).
 */
import { CouchStatusError, type CouchClient } from './couch.ts';

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
 * Mango indexes of the entities database: each request path picks one of these. They share one
 * design document: every design document costs each write something on some servers (PouchDB
 * Server reads them all for validation), and Mango lets one hold several indexes.
 */
export const ENTITY_INDEXES = [
  { name: 'kind-id', ddoc: 'ocni-mango', fields: ['kind', '_id'] },
  { name: 'owner-kind-id', ddoc: 'ocni-mango', fields: ['owner', 'kind', '_id'] },
  { name: 'owner-id', ddoc: 'ocni-mango', fields: ['owner', '_id'] },
] as const;

/** Design documents of earlier versions, removed at start-up so that writes no longer pay for them. */
const SUPERSEDED_DESIGNS = ['ocni-kind-id', 'ocni-owner-kind-id', 'ocni-owner-id', 'ocni-source', 'ocni-target'];

/** The map/reduce design document: mixin membership needs one row per array element, which Mango cannot index. */
export const ENTITY_DESIGN = {
  _id: '_design/ocni',
  language: 'javascript',
  views: {
    'by-mixin': {
      // Keyed [mixin, owner, id]: one tenant's members of a mixin are one key range.
      map: 'function (doc) { if (doc.type === "entity" && doc.mixins) { for (var i = 0; i < doc.mixins.length; i++) { emit([doc.mixins[i], doc.owner || null, doc._id], null); } } }',
    },
    // A link under ["source", path] and ["target", path]: the links of many resources are one
    // request by keys (Mango's $in is a full scan on some servers). Every entity is also under
    // ["self", path], so that an entity and its links are one request.
    'link-ends': {
      map: 'function (doc) { if (doc.type === "entity") { emit(["self", doc._id], null); if (doc.source) { emit(["source", doc.source], null); if (doc.target) { emit(["target", doc.target], null); } } } }',
    },
  },
};

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

/** What the indexes are for. */
export interface IndexOptions {
  /** Tenants own entities (authentication on): the per-tenant count is kept. */
  tenancy?: boolean;
}

/** A design document of views, as ensured at start-up. */
type ViewDesign = { _id: string; language: string; views: Record<string, { map: string; reduce?: string }> };

async function ensureDatabase(client: CouchClient, name: string): Promise<void> {
  try {
    await client.request({ db: name, method: 'put' });
  } catch (err) {
    // 412 file_exists: created before, by us or another ocni process.
    if (!(err instanceof CouchStatusError && err.statusCode === 412)) throw err;
  }
}

async function ensureDesign(client: CouchClient, db: string, design: ViewDesign): Promise<void> {
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

/** Creates the databases, Mango indexes and design documents that are missing. */
export async function ensureDatabases(client: CouchClient, names: DatabaseNames, options: IndexOptions = {}): Promise<void> {
  await ensureDatabase(client, names.categories);
  await ensureDatabase(client, names.entities);
  for (const index of ENTITY_INDEXES) {
    await client.request({
      db: names.entities,
      method: 'post',
      path: '_index',
      body: { index: { fields: index.fields }, name: index.name, ddoc: index.ddoc, type: 'json' },
    });
  }
  await ensureDesign(client, names.entities, ENTITY_DESIGN);
  if (options.tenancy) await ensureDesign(client, names.entities, QUOTA_DESIGN);
  for (const ddoc of SUPERSEDED_DESIGNS) {
    try {
      const old = await client.request<{ _rev: string }>({ db: names.entities, path: `_design/${ddoc}` });
      await client.request({ db: names.entities, method: 'delete', path: `_design/${ddoc}`, qs: { rev: old._rev } });
    } catch (err) {
      // Absent (404), or removed by another process at the same moment (409): either way, gone.
      if (!(err instanceof CouchStatusError && (err.statusCode === 404 || err.statusCode === 409))) throw err;
    }
  }
}
