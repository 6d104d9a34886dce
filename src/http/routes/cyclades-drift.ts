/**
 * @module The operator's view of drift between ocni and a Cyclades backend (see
 * `backends/cyclades/drift.ts`): `GET /-/cyclades/<backend>/drift` lists, for the Cyclades
 * token the request carries (`X-Auth-Token`), what Cyclades has that ocni does not know of and
 * the reverse; `POST /-/cyclades/<backend>/clean-up` also deletes what ocni made that ocni no
 * longer knows of. Operators only; `?owner=<tenant>` limits ocni's side to one tenant's entities.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { ForbiddenError, NotFoundError } from '../../errors.ts';
import type { Entity } from '../../model/entity.ts';
import type { Principal } from '../../auth/principal.ts';
import { isCycladesBackend, type CycladesBackend } from '../../backends/cyclades/cyclades-backend.ts';
import { COMPUTE_KIND, NETWORK_KIND, NETWORKINTERFACE_KIND, STORAGE_KIND, STORAGELINK_KIND } from '../../backends/cyclades/ids.ts';
import { backendContext, queryValue } from '../request-context.ts';
import type { Services } from '../services.ts';

/** The most entities of one backend drift compares in one request. */
const MAX_ENTITIES = 10_000;

const KINDS = [COMPUTE_KIND, NETWORK_KIND, STORAGE_KIND, NETWORKINTERFACE_KIND, STORAGELINK_KIND];

/** Mounts the drift routes. */
export function cycladesDriftRoutes(router: Router, services: Services): void {
  const backendOf = (ctx: Context): CycladesBackend => {
    const principal = ctx.state.principal as Principal | undefined;
    if (principal?.operator !== true) throw new ForbiddenError('drift is for operators');
    const backend = services.backends.get(String(ctx.params.backend));
    if (backend === undefined || !isCycladesBackend(backend)) throw new NotFoundError(`no Cyclades backend called ${String(ctx.params.backend)}`);
    return backend;
  };
  const entitiesOf = async (ctx: Context, backend: CycladesBackend): Promise<Entity[]> => {
    const registry = services.categories.registry;
    const kinds = KINDS.filter((kind) => registry.kind(kind) !== undefined && [...registry.provider(kind).local, ...registry.provider(kind).remote].includes(backend.name));
    if (kinds.length === 0) return [];
    const owner = queryValue(ctx, 'owner');
    return services.entities.all({ kinds }, [], MAX_ENTITIES, owner);
  };
  router.get('/-/cyclades/:backend/drift', async (ctx) => {
    const backend = backendOf(ctx);
    ctx.body = await backend.drift(await entitiesOf(ctx, backend), backendContext(ctx, services.config));
    ctx.type = 'application/json';
  });
  router.post('/-/cyclades/:backend/clean-up', async (ctx) => {
    const backend = backendOf(ctx);
    ctx.body = await backend.cleanUp(await entitiesOf(ctx, backend), backendContext(ctx, services.config));
    ctx.type = 'application/json';
  });
}
