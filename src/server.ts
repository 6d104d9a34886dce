/**
 * @module Starting and stopping a whole ocni server: store (external CouchDB or the embedded one),
 * databases and indexes, category registry and changes feed, then the HTTP listener.
 */
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { redactUrl, type Config } from './config.ts';
import { createApp } from './http/app.ts';
import { handleClientErrors } from './http/client-errors.ts';
import { serverNamesFor } from './http/server-names.ts';
import { loggableError } from './http/error-log.ts';
import { CategoryManager } from './registry/category-manager.ts';
import { loadBuiltinCategories } from './registry/builtins.ts';
import { CategoryRegistry } from './registry/registry.ts';
import { CategoryStore } from './store/category-store.ts';
import { assertReachable, CouchClient } from './store/couch.ts';
import { databaseNames, ensureDatabases, warmIndexes } from './store/databases.ts';
import { startEmbeddedStore, type EmbeddedStore } from './store/embedded/server.ts';
import { EntityStore } from './store/entity-store.ts';
import type { Services } from './http/services.ts';
import { ConfigError } from './errors.ts';
import { assertSchema } from './render/occi-json/schemas.ts';
import { parseCategoryCollection, type ParsedCategories } from './model/vocabulary/categories.ts';
import { EntityService } from './backends/entity-service.ts';
import { BackendRouter } from './backends/backends.ts';
import { Readiness } from './health.ts';
import { ChangesFollower } from './store/changes-follower.ts';
import { createEntityFollower } from './store/entity-changes.ts';
import { EntityReadCache, observeWrites } from './store/entity-read-cache.ts';
import { MemberIndex, storeCollation } from './store/member-index.ts';
import { WatchHub, type CategoryDoc } from './http/watch-hub.ts';
import { embeddedStoreRestarts, reportCacheSize } from './metrics.ts';

/** The package version, for the `Server` header. */
export const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** A running server. */
export interface RunningServer {
  /** Base URL the server listens on. */
  url: string;
  services: Services;
  couch: CouchClient;
  /**
   * False while the embedded store's process is down (between its death and its restart); true
   * otherwise, and always with an external CouchDB (whose health only a request can tell).
   * For readiness checks.
   */
  storeIsUp(): boolean;
  /** The embedded store, when this server runs one. */
  embedded?: EmbeddedStore;
  /** Stops accepting, lets in-flight requests finish, stops the changes feed and the embedded store. */
  close(): Promise<void>;
}

/** Reads a seed category file (OCCI JSON), checked like a `POST /-/` body. */
function readSeedFile(file: string): ParsedCategories {
  let body: unknown;
  try {
    body = JSON.parse(readFileSync(resolve(file), 'utf8'));
  } catch (err) {
    throw new ConfigError(`seed category file ${file} cannot be read: ${(err as Error).message}`, err);
  }
  try {
    assertSchema('category-collection', body);
  } catch (err) {
    throw new ConfigError(`seed category file ${file}: ${(err as Error).message}`, err);
  }
  return parseCategoryCollection(body as Record<string, unknown>);
}

/**
 * Creates the logger: pretty in a terminal, JSON otherwise (or as configured). Errors are logged
 * as name, message, code and stack only (see http/error-log.ts).
 *
 * @param destination - where JSON lines go (standard output by default; tests capture them)
 */
export function createLogger(config: Config, destination?: pino.DestinationStream): Logger {
  const pretty = destination === undefined && (config.log.pretty ?? process.stdout.isTTY === true);
  const options: pino.LoggerOptions = {
    level: config.log.level,
    serializers: { err: (err: unknown) => loggableError(err) },
    redact: { paths: ['req.headers.authorization', 'req.headers["x-auth-token"]', 'req.headers["auth-token"]', '*.password', '*.token'], censor: '***' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Starts a server from a checked configuration.
 *
 * @throws ConfigError when the store cannot be reached or started
 */
export async function startServer(config: Config, logger: Logger = createLogger(config)): Promise<RunningServer> {
  let embedded: EmbeddedStore | undefined;
  let couchUrl = config.couchdb.url;
  if (!couchUrl) {
    const dataDir = resolve(config.dataDir);
    embedded = await startEmbeddedStore({
      dataDir: join(dataDir, 'store'),
      durability: config.couchdb.embeddedDurability ?? 'synced',
      ...(config.couchdb.embeddedHeapMb ? { heapMb: config.couchdb.embeddedHeapMb } : {}),
      onEvent: (event) => {
        if (event.type === 'died') logger.error({ code: event.code, signal: event.signal, stderr: event.stderr }, 'the embedded store died; restarting it');
        else if (event.type === 'restarted') {
          embeddedStoreRestarts.inc();
          logger.warn({ attempt: event.attempt, downMs: event.downMs }, 'the embedded store is back');
        } else logger.error({ attempt: event.attempt, err: event.error }, 'restarting the embedded store failed; trying again');
      },
    });
    couchUrl = embedded.url;
    logger.info({ dataDir, durability: embedded.durability, heapLimitMb: embedded.heapLimitMb }, 'embedded CouchDB-compatible store started');
  }
  try {
    const couch = new CouchClient({ url: couchUrl, requestTimeoutMs: config.couchdb.requestTimeoutMs });
    await assertReachable(couch, redactUrl(couchUrl));
    const names = databaseNames(config.couchdb.dbPrefix);
    const indexes = { tenancy: config.auth.mode !== 'none' };
    await ensureDatabases(couch, names, indexes);
    // Views are built in the background: start-up does not wait for a large store's indexes.
    warmIndexes(couch, names, indexes, 30 * 60_000).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'building the entity indexes failed; the first listing builds them'));

    const backends = BackendRouter.fromConfig(config.backends, { warn: (message, detail) => logger.warn(detail ?? {}, message) });
    const registry = new CategoryRegistry(loadBuiltinCategories(), config.defaultProvider);
    // GET of one entity reads from a cache that this process's writes and the changes feed keep current.
    // A feed answer may take as long as any store request may (the bench's overloaded store took over 10 s).
    const answerMarginMs = Math.max(10_000, config.couchdb.requestTimeoutMs);
    const entityFollower = createEntityFollower(couch, names.entities, { answerMarginMs });
    // Read (by the write observer) before it is assigned: `let` makes an early write see undefined, not a TDZ error.
    // eslint-disable-next-line prefer-const
    let readCache: EntityReadCache | undefined;
    // Listings without a filter come from memory too: the members of each collection, in the store's order.
    const members =
      config.readCache.entities > 0 && config.listCache.ids > 0
        ? new MemberIndex(couch, names.entities, entityFollower, {
            ids: config.listCache.ids,
            collation: await storeCollation(couch),
            onLoadError: (collection, err) => logger.warn({ collection, err: (err as Error).message }, 'loading the members of a collection failed; listings read the store'),
          })
        : undefined;
    const observed =
      config.readCache.entities > 0
        ? observeWrites(couch, names.entities, {
            touched: (ids) => readCache?.invalidate(ids),
            // The member index applies this process's writes itself; the feed then need not read them back.
            ...(members ? { answered: (req, answer) => members.applyWrite(req, answer), writing: (ids) => entityFollower.writing(ids) } : {}),
          })
        : couch;
    const entities = new EntityStore(observed, names.entities);
    readCache = config.readCache.entities > 0 ? new EntityReadCache(entities, entityFollower, config.readCache) : undefined;
    const categoryStore = new CategoryStore(couch, names.categories);
    const categories = new CategoryManager({
      registry,
      persistence: categoryStore,
      entities,
      backendNames: backends.names(),
      limits: {
        categoryBytes: config.limits.categoryBytes,
        valueBytes: config.limits.attributeValueBytes,
        depth: config.limits.categoryDepth,
        pattern: { bytes: config.limits.patternBytes, regexes: config.limits.patternRegexes },
      },
      onFeedError: (err) => logger.warn({ err: (err as Error).message }, 'category changes feed failed; retrying'),
      onFeedChange: (event) => logger.debug({ event: event.type }, 'category change from the feed'),
      ...(config.limits.migrationBatch ? { migrationBatch: config.limits.migrationBatch } : {}),
      ...(config.limits.migrationPauseMs ? { migrationPauseMs: config.limits.migrationPauseMs } : {}),
      onMigration: (progress, state, err) =>
        (state === 'failed' ? logger.warn : state === 'done' ? logger.info : logger.debug).call(
          logger,
          { category: progress.categoryId, generation: progress.generation, done: progress.done, err: err ? (err as Error).message : undefined },
          `category migration ${state}`,
        ),
      tagsPerTenant: config.limits.tagsPerTenant,
      onCleanupError: (err, mixinId) => logger.warn({ err: (err as Error).message, mixin: mixinId }, 'cleaning the entities of a deleted mixin failed; retrying'),
    });
    await categories.start();
    let registryLoaded = true;
    for (const file of config.seedCategories) {
      const added = await categories.seedOnce(file, readSeedFile(file));
      if (added > 0) logger.info({ file, added }, 'example categories added to a new store');
    }

    await readCache?.start();
    await members?.start();
    // Their sizes in /metrics: what the memory they hold is for (ocni_cache_entries, ocni_cache_bytes).
    const cache = readCache;
    const unreport = [
      ...(cache ? [reportCacheSize({ cache: 'read', entries: () => cache.stats.entries, bytes: () => cache.stats.bytes })] : []),
      ...(members ? [reportCacheSize({ cache: 'members', entries: () => members.size })] : []),
    ];
    const entityService = new EntityService(
      registry,
      entities,
      {
        itemsPerRequest: config.limits.itemsPerRequest,
        attributeValueBytes: config.limits.attributeValueBytes,
        storedBytesPerRequest: config.limits.storedBytesPerRequest,
        entitiesPerTenant: config.limits.entitiesPerTenant,
      },
      backends,
      readCache,
      members,
    );
    if (config.auth.mode === 'none') {
      logger.warn('authentication is OFF (auth.mode "none"): every caller is an operator; for local development only');
    }
    const serverNames = serverNamesFor(config.publicUrl, config.host);
    const watch = new WatchHub(entityFollower, new ChangesFollower<CategoryDoc>(couch, names.categories, { name: 'categories', answerMarginMs }), config.watch.maxStreamsPerCaller);
    const lagMax = config.health.feedLagMaxMs;
    const embeddedStore = embedded;
    const readiness = new Readiness([
      {
        name: 'store',
        check: async () => {
          // The entities database, with the configured credentials: reachable is not enough.
          await couch.request({ db: names.entities, timeoutMs: config.health.storeTimeoutMs });
          return undefined;
        },
      },
      { name: 'registry', check: () => (registryLoaded ? undefined : 'the category registry is not loaded') },
      { name: 'categories-feed', check: () => (categoryStore.feedState.isCurrent(lagMax) ? undefined : `the categories changes feed is ${categoryStore.feedState.lagSeconds().toFixed(1)} s behind`) },
      {
        name: 'entities-feed',
        check: () => (!watch.entities.running || watch.entities.state.isCurrent(lagMax) ? undefined : `the entities changes feed is ${watch.entities.state.lagSeconds().toFixed(1)} s behind`),
      },
      ...(embeddedStore ? [{ name: 'embedded-store', check: () => (embeddedStore.isUp() ? undefined : 'the embedded store is down') }] : []),
    ]);
    const services: Services = {
      config,
      logger,
      categories,
      entities,
      entityService,
      backends,
      version: VERSION,
      serverNames,
      readiness,
      watch,
      storeIsUp: () => embedded?.isUp() ?? true,
      ...(readCache ? { readCache } : {}),
    };
    const app = createApp(services);
    // Node answers 431 itself when a request head is larger than this.
    const handle = app.callback();
    // Koa's handler settles its own promise (errors go to ctx.onerror), so Node need not see it.
    const server: Server = createServer({ maxHeaderSize: config.limits.headerBytes }, (req, res) => void handle(req, res));
    server.requestTimeout = 60_000;
    handleClientErrors(server, logger);
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(config.port, config.host, () => done());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    serverNames.ports.push(port);
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    logger.info({ url, store: embedded ? 'embedded' : redactUrl(couchUrl), categories: registry.all().length }, 'ocni listening');

    let closing: Promise<void> | undefined;
    return {
      url,
      services,
      couch,
      storeIsUp: () => embedded?.isUp() ?? true,
      ...(embedded ? { embedded } : {}),
      close: () => {
        closing ??= (async () => {
          registryLoaded = false;
          // Change streams never end by themselves: end them, or the listener would wait for them.
          watch.close();
          readCache?.stop();
          members?.stop();
          for (const stop of unreport) stop();
          await new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          });
          categories.stop();
          await backends.dispose();
          await couch.close();
          await embedded?.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await embedded?.close();
    throw err;
  }
}
