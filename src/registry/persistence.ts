/**
 * @module What the category manager needs from storage, declared here so that the registry does not
 * depend on CouchDB: `src/store/` implements these interfaces.
 */
import type { Category, Provider } from '../model/category.ts';
import type { Entity } from '../model/entity.ts';

/** A set of entities a category change concerns: a kind's own entities, or a mixin's members. */
export type CategoryScope = { kind: string } | { mixin: string };

/**
 * A migration's progress, kept in the categories database so that a restart resumes it: the
 * category and generation it brings entities to, the scopes it walks in order, and where it is.
 */
export interface MigrationProgress {
  categoryId: string;
  generation: number;
  scopes: CategoryScope[];
  /** Index into `scopes` of the one being walked. */
  scope: number;
  /** Opaque position in that scope (the last entity done), absent at its start. */
  cursor?: string;
  /** Entities rewritten so far. */
  done: number;
  /** Store revision of the progress document. */
  rev?: string;
}

/** One document change of a category commit; `before` is the stored value, for compensation. */
export type CategoryWrite =
  | { op: 'put-category'; category: Category; rev?: string; before?: Category }
  | { op: 'delete-category'; category: Category; rev: string }
  | { op: 'put-provider'; kindId: string; provider: Provider; rev?: string; before?: Provider }
  | { op: 'delete-provider'; kindId: string; rev: string; before: Provider }
  | { op: 'claim-location'; location: string; owner: string }
  | { op: 'release-location'; location: string; owner: string }
  | { op: 'put-migration'; progress: MigrationProgress }
  | { op: 'delete-migration'; progress: MigrationProgress };

/** A change read from storage (initial load or changes feed). */
export type CategoryEvent =
  | { type: 'category'; category: Category; rev: string }
  | { type: 'category-deleted'; id: string; /** The deletion's revision, when the store gave it. */ rev?: string }
  | { type: 'provider'; kindId: string; provider: Provider; rev: string }
  | { type: 'provider-deleted'; kindId: string };

/** Persistence of runtime categories and providers. */
export interface CategoryPersistence {
  load(): Promise<{ events: CategoryEvent[]; since: string }>;
  follow(since: string, onEvent: (event: CategoryEvent) => void, onError: (err: unknown) => void): void;
  stop(): void;
  /** Writes all or nothing; throws ConflictError when another writer got there first. */
  commit(writes: CategoryWrite[]): Promise<Map<string, string>>;
  /**
   * Claims a one-time task (e.g. seeding example categories) for this database: true for the one
   * caller that claims it first, false ever after, also across processes.
   */
  claimOnce(task: string): Promise<boolean>;
  /** Every migration still under way (to resume them at start-up). */
  loadMigrations(): Promise<MigrationProgress[]>;
  /**
   * Saves a migration's progress at its revision; returns the new revision, or undefined when
   * another process saved it first (that process is walking the same migration).
   */
  saveMigration(progress: MigrationProgress): Promise<string | undefined>;
  /**
   * Records, durably, that the entities of a mixin about to be deleted (its category at revision
   * `rev`) must be cleaned of it; written before the deletion, so a crash after it leaves the record.
   */
  markCleaning(mixinId: string, rev: string): Promise<void>;
  /** The cleanings recorded and not yet done (any process's), oldest first is not promised. */
  pendingCleanings(ids?: string[]): Promise<PendingCleaning[]>;
  /** Forgets a cleaning that is done (or that must not run); a record already gone is no error. */
  endCleaning(mixinId: string): Promise<void>;
}

/** A recorded cleaning: the mixin and the revision its category had when it was deleted. */
export interface PendingCleaning {
  mixinId: string;
  rev: string;
}

/** What category changes need to know about, and do to, entities. */
export interface EntityIndex {
  anyOfKinds(kindIds: string[]): Promise<boolean>;
  anyBelow(path: string): Promise<boolean>;
  deleteOfKind(kindId: string): Promise<number>;
  dissociateEverywhere(mixinId: string): Promise<number>;
  /**
   * One page of a scope in a stable order (its key range of the store's generic view), after `cursor`;
   * `cursor` in the answer is where the next page starts, absent once a page comes back empty.
   */
  scanScope(scope: CategoryScope, cursor: string | undefined, limit: number): Promise<{ entities: Entity[]; cursor?: string }>;
  /**
   * Writes `transform(entity)` for each entity it changes, at the revision read; an entity another
   * writer changed meanwhile is read again and transformed again. Returns how many were written.
   */
  rewrite(entities: Entity[], transform: (entity: Entity) => Entity): Promise<number>;
}
