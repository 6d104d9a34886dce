/**
 * @module The `cyclades` backend: OCCI Infrastructure on a Synnefo/Cyclades cloud, through its
 * OpenStack-like APIs found from the Astakos service catalog. Each entity kind maps to Cyclades
 * objects (compute → server, network → private network + subnet, storage → volume,
 * networkinterface → port, storagelink → volume attachment); entities keep the Cyclades id as
 * their id. Every call uses the caller's own token (`X-Auth-Token`), so users see and change only
 * what Cyclades lets them. Besides the {@link Backend} contract it lists the caller's templates
 * (images → os_tpl, flavors → resource_tpl mixins, also under their snf-occi names) and reports
 * drift (`drift.ts`). Cyclades is asynchronous: the rules the operations follow (one job per
 * server at a time, ordered teardown, lost answers, floating IPs) are in `jobs.ts` and
 * `marks.ts`, and in the README's Cyclades section.
 */
import type { BackendConfig } from '../../config.ts';
import type { AttributeValue, Mixin } from '../../model/category.ts';
import type { Entity } from '../../model/entity.ts';
import type { Backend, BackendContext, BackendDeps, BackendOutcome } from '../backend.ts';
import { ComputeOps } from './compute.ts';
import { cleanUp, driftOf, type DriftReport, type StrayObject } from './drift.ts';
import { notImplemented } from './errors.ts';
import { CycladesHttp, type FetchFn } from './http-client.ts';
import { Identity } from './identity.ts';
import { COMPUTE_KIND, NETWORK_KIND, NETWORKINTERFACE_KIND, STORAGE_KIND, STORAGELINK_KIND } from './ids.ts';
import { NetworkLinkOps } from './network-links.ts';
import { NetworkOps } from './network.ts';
import { parseCycladesOptions } from './options.ts';
import { openSession, type CycladesServices, type CycladesSession } from './session.ts';
import { StorageLinkOps } from './storage-links.ts';
import { StorageOps } from './storage.ts';
import { TemplateCatalog } from './templates.ts';
import type { Clock } from './ttl-cache.ts';

/** The backend type name used in configuration. */
export const CYCLADES_BACKEND = 'cyclades';

/** A Cyclades backend: the contract plus the caller's templates. */
export interface CycladesBackend extends Backend {
  /**
   * The caller's template mixins: one os_tpl per ACTIVE image (scheme
   * `http://schemas.ocni.dev/cyclades/<backend>/os_tpl#`, term = image id, title = image name) and
   * one resource_tpl per flavor servers may be created from (scheme `.../resource_tpl#`, term =
   * flavor id, defaults `occi.compute.cores` = vcpus, `occi.compute.memory` = ram in GiB,
   * `occi.compute.ephemeral_storage.size` = disk in GB). Cached per token for `templateTtlMs`
   * (default 5 minutes), then fetched again.
   *
   * @throws OcciError `unauthorized` without a token, or Cyclades' errors mapped to domain errors
   */
  templates(ctx: BackendContext): Promise<Mixin[]>;
  /**
   * What the caller's Cyclades account has that ocni does not know of, and the reverse (see
   * `drift.ts`); `entities` are ocni's entities of the five infrastructure kinds routed here.
   */
  drift(entities: readonly Entity[], ctx: BackendContext): Promise<DriftReport>;
  /** {@link drift}, then deletes what ocni made that ocni no longer knows of; returns the report and what went. */
  cleanUp(entities: readonly Entity[], ctx: BackendContext): Promise<DriftReport & { deleted: StrayObject[] }>;
}

/** True for a backend with the Cyclades extras (drift). */
export function isCycladesBackend(backend: Backend): backend is CycladesBackend {
  return backend.type === CYCLADES_BACKEND && typeof (backend as Partial<CycladesBackend>).drift === 'function';
}

/** Test seams: a clock for the caches and a `fetch`. Production uses `Date.now` and global `fetch`. */
export interface CycladesRuntime {
  now?: Clock;
  fetch?: FetchFn;
}

/** What one kind's operations look like. */
interface KindOps {
  create(entity: Entity, session: CycladesSession): Promise<BackendOutcome>;
  retrieve(entity: Entity, session: CycladesSession): Promise<BackendOutcome | 'gone'>;
  change(before: Entity, after: Entity, session: CycladesSession): Promise<BackendOutcome>;
  delete(entity: Entity, session: CycladesSession): Promise<void>;
}

/**
 * Creates a Cyclades backend from its configuration entry (options: `identityUrl` required,
 * `timeoutMs`, `templateTtlMs`, `volumeType`, `serverNetworks`; see `options.ts`). Nothing is
 * contacted until the first call.
 *
 * @throws ConfigError `[cyclades] backend "<name>": ...` for a missing or invalid option
 */
export function createCycladesBackend(config: BackendConfig, deps: BackendDeps, runtime: CycladesRuntime = {}): CycladesBackend {
  const options = parseCycladesOptions(config);
  const now = runtime.now ?? Date.now;
  const http = new CycladesHttp(runtime.fetch === undefined ? { timeoutMs: options.timeoutMs } : { timeoutMs: options.timeoutMs, fetch: runtime.fetch });
  const services: CycladesServices = {
    backendName: config.name,
    options,
    http,
    identity: new Identity({ identityUrl: options.identityUrl, http, now }),
    warn: deps.warn,
  };
  const templates = new TemplateCatalog(config.name, options.templateTtlMs, now);
  const compute = new ComputeOps(services, templates);
  const byKind = new Map<string, KindOps>([
    [COMPUTE_KIND, compute],
    [NETWORK_KIND, new NetworkOps(services)],
    [STORAGE_KIND, new StorageOps(services, now)],
    [NETWORKINTERFACE_KIND, new NetworkLinkOps(services)],
    [STORAGELINK_KIND, new StorageLinkOps(services)],
  ]);
  // Cyclades offers actions on servers only: other kinds offer none (their OCCI actions would be 501).
  const noActions = (entity: Entity, outcome: BackendOutcome): BackendOutcome => (entity.kind === COMPUTE_KIND ? outcome : { ...outcome, allowedActions: [] });
  const opsOf = (entity: Entity): KindOps => {
    const ops = byKind.get(entity.kind);
    if (ops === undefined) throw notImplemented(config.name, `entities of kind ${entity.kind}`);
    return ops;
  };

  return {
    name: config.name,
    type: CYCLADES_BACKEND,
    async create(entity, ctx) {
      const ops = opsOf(entity);
      return noActions(entity, await ops.create(entity, openSession(services, ctx)));
    },
    async retrieve(entity, ctx) {
      // A kind this backend does not model has nothing in Cyclades to report.
      const ops = byKind.get(entity.kind);
      if (ops === undefined) return {};
      const outcome = await ops.retrieve(entity, openSession(services, ctx));
      return outcome === 'gone' ? outcome : noActions(entity, outcome);
    },
    async update(before, after, ctx) {
      return noActions(before, await opsOf(before).change(before, after, openSession(services, ctx)));
    },
    async replace(before, after, ctx) {
      return noActions(before, await opsOf(before).change(before, after, openSession(services, ctx)));
    },
    async delete(entity, ctx) {
      const ops = byKind.get(entity.kind);
      if (ops !== undefined) await ops.delete(entity, openSession(services, ctx));
    },
    async action(entity: Entity, actionId: string, _parameters: Record<string, AttributeValue>, ctx: BackendContext) {
      // The parameters (stop/restart `method`) have no Cyclades counterpart; see ComputeOps.action.
      if (entity.kind === COMPUTE_KIND) return compute.action(entity, actionId, openSession(services, ctx));
      throw notImplemented(config.name, `the action ${actionId} on ${entity.kind} entities`);
    },
    async authenticate(ctx) {
      // No token: 401 without a call; a token Astakos refuses: its 401 (remembered briefly).
      const session = openSession(services, ctx);
      await services.identity.user(session.token);
    },
    async templates(ctx) {
      return templates.mixins(openSession(services, ctx));
    },
    async drift(entities, ctx) {
      return driftOf(entities, openSession(services, ctx));
    },
    async cleanUp(entities, ctx) {
      const session = openSession(services, ctx);
      const report = await driftOf(entities, session);
      return { ...report, deleted: await cleanUp(report, session) };
    },
  };
}
