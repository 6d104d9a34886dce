/**
 * @module The backend contract, declared once: what carries out a kind's operations. The entity
 * service calls backends in a defined order around its store writes and compensates when either
 * side fails (see `entity-service.ts`). Backends speak OCCI (entities, action ids, attribute
 * values) and raise domain errors, never HTTP statuses.
 */
import type { AttributeValue } from '../model/category.ts';
import type { Entity } from '../model/entity.ts';
import type { Principal } from '../auth/principal.ts';
import type { BackendConfig } from '../config.ts';
import type { Mixin } from '../model/category.ts';

/** Who is asking, passed through to backends that call other services. Never stored or logged. */
export interface Credentials {
  /** A bearer-style token (`X-Auth-Token`, `Auth-Token` or `Authorization: Bearer`). */
  token?: string;
  /** A project or tenant chosen by the client (`X-Project-Id`). */
  project?: string;
  /** The raw `Authorization` header, for backends that forward HTTP Basic. */
  authorization?: string;
}

/** What every backend call receives besides the entity. */
export interface BackendContext {
  credentials: Credentials;
  requestId: string;
  /** The absolute base URL of this server, for backends that render locations. */
  baseUrl: string;
  /** Who is asking (the HTTP layer always says; absent only in backend-level tests). */
  principal?: Principal;
}

/** What a backend reports back. Everything is optional: a backend that only persists returns `{}`. */
export interface BackendOutcome {
  /** Attribute changes made by the backend (state, addresses, sizes); `null` removes one. */
  attributes?: Record<string, AttributeValue | null>;
  /** The id the backend gave the entity (e.g. a Cyclades server id); it becomes the entity's id. */
  id?: string;
  /** The backend's own reference for later calls, kept with the entity (not rendered). */
  ref?: string;
  /** The actions the backend allows in the entity's current state (rendered, never stored). */
  allowedActions?: string[];
}

/**
 * A backend. `retrieve` may answer `'gone'` when the backend no longer has the entity (it is then
 * removed from the store and the client gets 404). Asynchronous work shows in the attributes a
 * later `retrieve` returns (e.g. `occi.compute.state` going from inactive to active).
 */
export interface Backend {
  readonly name: string;
  readonly type: string;
  create(entity: Entity, ctx: BackendContext): Promise<BackendOutcome>;
  /**
   * Creates several entities as `create` would one after the other, all or none, with their
   * outcomes in the same order; an outcome carries no `id` (a backend that names what it creates
   * implements `create` only). Optional: without it, a bulk creation calls `create` per entity.
   */
  createMany?(entities: Entity[], ctx: BackendContext): Promise<BackendOutcome[]>;
  retrieve(entity: Entity, ctx: BackendContext): Promise<BackendOutcome | 'gone'>;
  update(before: Entity, after: Entity, ctx: BackendContext): Promise<BackendOutcome>;
  replace(before: Entity, after: Entity, ctx: BackendContext): Promise<BackendOutcome>;
  delete(entity: Entity, ctx: BackendContext): Promise<void>;
  action(entity: Entity, actionId: string, parameters: Record<string, AttributeValue>, ctx: BackendContext): Promise<BackendOutcome>;
  /**
   * Checks that the caller is someone this backend can act for, before anything else of a
   * request is looked at (a creation with a wrong token is 401, not a 400 about templates the
   * token cannot see).
   *
   * @throws OcciError `unauthorized` when the backend refuses the caller's credentials
   */
  authenticate?(ctx: BackendContext): Promise<void>;
  /** Releases connections and timers at shutdown. */
  dispose?(): Promise<void>;
}

/** A backend that offers categories of its own to each caller (Cyclades: images and flavors as templates). */
export interface TemplateSource {
  readonly name: string;
  templates(ctx: BackendContext): Promise<Mixin[]>;
}

/** What factories may need besides their own configuration. */
export interface BackendDeps {
  /** Logs a warning without secrets. */
  warn: (message: string, detail?: Record<string, unknown>) => void;
}

/** Builds a backend from its configuration; throws ConfigError naming the backend when options are bad. */
export type BackendFactory = (config: BackendConfig, deps: BackendDeps) => Backend;

/** Applies a backend's attribute changes to an entity. */
export function withOutcome(entity: Entity, outcome: BackendOutcome | undefined): Entity {
  if (!outcome?.attributes && !outcome?.ref && !outcome?.allowedActions) return entity;
  const attributes = { ...entity.attributes };
  for (const [name, value] of Object.entries(outcome.attributes ?? {})) {
    if (value === null) delete attributes[name];
    else attributes[name] = value;
  }
  const next: Entity = { ...entity, attributes };
  if (outcome.ref !== undefined) next.ref = outcome.ref;
  if (outcome.allowedActions !== undefined) next.allowedActions = outcome.allowedActions;
  return next;
}
