/**
 * @module Entities (resources and links) as CouchDB documents keyed by their location path. Every
 * query here goes through an index: the `kind-id` Mango index, the `by-mixin` view, or an `_id`
 * key range.
 */
import type { AttributeValue } from '../model/category.ts';
import type { CouchClient } from './couch.ts';

/** An entity as stored: the envelope (`_id` = location path, `_rev` = ETag) and its OCCI data. */
export interface EntityDoc {
  _id: string;
  _rev?: string;
  _deleted?: boolean;
  type: 'entity';
  entity: 'resource' | 'link';
  kind: string;
  mixins: string[];
  attributes: Record<string, AttributeValue>;
  title?: string;
  summary?: string;
  source?: string;
  target?: string;
  targetKind?: string;
  owner?: string;
}

const PAGE = 500;

/** Reads and writes the entities database. */
export class EntityStore {
  constructor(
    private readonly client: CouchClient,
    readonly db: string,
  ) {}

  /** True when at least one entity has one of these kinds (uses the `kind-id` index). */
  async anyOfKinds(kindIds: string[]): Promise<boolean> {
    if (kindIds.length === 0) return false;
    const found = await this.client.request<{ docs: unknown[] }>({
      db: this.db,
      method: 'post',
      path: '_find',
      body: { selector: { kind: { $in: kindIds } }, fields: ['_id'], limit: 1, use_index: ['ocni-kind-id', 'kind-id'] },
    });
    return found.docs.length > 0;
  }

  /** True when an entity lives at or below `path` (an `_id` key range, at most one row). */
  async anyBelow(path: string): Promise<boolean> {
    const base = path.endsWith('/') ? path.slice(0, -1) : path;
    const page = await this.client.request<{ rows: unknown[] }>({
      db: this.db,
      path: '_all_docs',
      qs: { startkey: base, endkey: `${base}/\ufff0`, limit: 1 },
    });
    return page.rows.length > 0;
  }

  /** Deletes every entity of a kind, page by page; returns how many were deleted. */
  async deleteOfKind(kindId: string): Promise<number> {
    let total = 0;
    for (;;) {
      const found = await this.client.request<{ docs: { _id: string; _rev: string }[] }>({
        db: this.db,
        method: 'post',
        path: '_find',
        body: { selector: { kind: kindId }, fields: ['_id', '_rev'], limit: PAGE, use_index: ['ocni-kind-id', 'kind-id'] },
      });
      if (found.docs.length === 0) return total;
      await this.client.request({ db: this.db, method: 'post', path: '_bulk_docs', body: { docs: found.docs.map((d) => ({ ...d, _deleted: true })) } });
      total += found.docs.length;
    }
  }

  /**
   * Removes a mixin from every entity that carries it (through the `by-mixin` view), retrying the
   * documents another writer changed meanwhile; returns how many entities were changed.
   */
  async dissociateEverywhere(mixinId: string): Promise<number> {
    let total = 0;
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const rows = await this.client.request<{ rows: { id: string; doc?: EntityDoc }[] }>({
        db: this.db,
        path: '_design/ocni/_view/by-mixin',
        qs: { startkey: [mixinId], endkey: [mixinId, {}], include_docs: true, limit: PAGE },
      });
      if (rows.rows.length === 0) return total;
      const docs = rows.rows.flatMap((r) => (r.doc ? [{ ...r.doc, mixins: r.doc.mixins.filter((m) => m !== mixinId) }] : []));
      const results = await this.client.request<{ ok?: boolean }[]>({ db: this.db, method: 'post', path: '_bulk_docs', body: { docs } });
      total += results.filter((r) => r.ok).length;
    }
    return total;
  }
}
