/**
 * @module Entity changes from the entities database's changes feed, through the process's one
 * {@link ChangesFollower}: each document change read as an entity added, changed or removed, and
 * matched against a collection (kind, mixin or path) and a tenant. A deleted entity's tombstone
 * keeps its kind, mixins and owner (see `tombstone` in entity-store.ts), so a deletion can be
 * matched too.
 */
import type { Entity } from '../model/entity.ts';
import { ChangesFollower, type DocChange } from './changes-follower.ts';
import type { CouchClient } from './couch.ts';
import { fromDoc, type EntityDoc, type ListScope } from './entity-store.ts';

/** What happened to an entity. */
export type EntityChangeType = 'added' | 'changed' | 'removed';

/** One entity change, as a change stream reports it. */
export interface EntityChange {
  /** The feed sequence (opaque), the stream's event id. */
  seq: string;
  location: string;
  rev: string;
  /** `added` for a first revision; a location used again after a deletion reads as `changed`. */
  type: EntityChangeType;
  /** The entity at `rev`; absent for a removal. */
  entity?: Entity;
  /** What is known of a removed entity from its tombstone (undefined when it kept no body). */
  kind?: string;
  mixins: string[];
  owner?: string;
}

/** The revision generation (`3` in `3-abc…`). */
function generation(rev: string): number {
  const n = Number.parseInt(rev, 10);
  return Number.isFinite(n) ? n : 0;
}

/** Reads a document change as an entity change; undefined for documents that are not entities (design documents). */
export function toEntityChange(change: DocChange<EntityDoc>): EntityChange | undefined {
  if (change.id.startsWith('_design/')) return undefined;
  const doc = change.doc as Partial<EntityDoc> | undefined;
  if (change.deleted) {
    const removed: EntityChange = { seq: change.seq, location: change.id, rev: change.rev, type: 'removed', mixins: Array.isArray(doc?.mixins) ? doc.mixins : [] };
    if (typeof doc?.kind === 'string') removed.kind = doc.kind;
    if (typeof doc?.owner === 'string') removed.owner = doc.owner;
    return removed;
  }
  if (doc?.type !== 'entity') return undefined;
  const entity = fromDoc(doc as EntityDoc);
  const out: EntityChange = { seq: change.seq, location: change.id, rev: change.rev, type: generation(change.rev) === 1 ? 'added' : 'changed', entity, kind: entity.kind, mixins: entity.mixins };
  if (entity.owner !== undefined) out.owner = entity.owner;
  return out;
}

/**
 * True when the change concerns the scope and the tenant (`owner` undefined: every tenant, for
 * operators). A removal whose tombstone kept no body is matched on its location alone: it reaches
 * operators watching a path above it, and nobody else.
 */
export function concerns(change: EntityChange, scope: ListScope | { exact: string }, owner: string | undefined): boolean {
  const bodiless = change.type === 'removed' && change.kind === undefined;
  if (owner !== undefined && (bodiless || change.owner !== owner)) return false;
  if ('exact' in scope) return change.location === scope.exact;
  if ('below' in scope) return change.location.startsWith(scope.below);
  if (bodiless) return false;
  // Every scope may name kinds (a mixin's: all of them); what a mixin scope means is its mixin.
  if ('mixin' in scope) return change.mixins.includes(scope.mixin);
  return change.kind !== undefined && scope.kinds.includes(change.kind);
}

/** The entities database's shared follower. */
export function createEntityFollower(client: CouchClient, db: string, options: { pollMs?: number; answerMarginMs?: number } = {}): ChangesFollower<EntityDoc> {
  return new ChangesFollower<EntityDoc>(client, db, { name: 'entities', ...options });
}
