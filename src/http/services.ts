/**
 * @module What the HTTP layer is given to work with: configuration, logger and the domain services.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { CategoryManager } from '../registry/category-manager.ts';
import type { EntityStore } from '../store/entity-store.ts';
import type { EntityService } from '../backends/entity-service.ts';
import type { BackendRouter } from '../backends/backends.ts';
import type { ServerNames } from '../model/own-urls.ts';
import type { Readiness } from '../health.ts';
import type { WatchHub } from './watch-hub.ts';
import type { EntityReadCache } from '../store/entity-read-cache.ts';

/** The services behind the routes. */
export interface Services {
  config: Config;
  logger: Logger;
  categories: CategoryManager;
  entities: EntityStore;
  entityService: EntityService;
  backends: BackendRouter;
  version: string;
  /** The names that mean this server in absolute URLs (ports filled in once it listens). */
  serverNames: ServerNames;
  /** Whether this process should get traffic (`/readyz`). */
  readiness: Readiness;
  /** The change streams (`?watch=true`) and the followers they read. */
  watch: WatchHub;
  /** The read cache of GET of one entity; absent when turned off (`readCache.entities` 0). */
  readCache?: EntityReadCache;
  /** False while the embedded store is down (restarting); true otherwise. For readiness. */
  storeIsUp?: () => boolean;
}
