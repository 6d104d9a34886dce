/**
 * @module The Prometheus metrics of the process, defined in one place (prom-client): HTTP requests,
 * store requests, changes-feed lag, backend calls, conflicts resolved, embedded store restarts and
 * change streams. Any layer may import and increment them (like `auth/`, a leaf); `GET /metrics`
 * serves {@link METRICS_REGISTRY}. Metrics describe the process, so several servers started in one
 * process (tests) add up in the same series. Every label takes values from a small fixed set
 * (route templates, never raw paths; backend names from the configuration).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The registry `GET /metrics` serves: ocni's own, so nothing else registering metrics can collide. */
export const METRICS_REGISTRY = new Registry();
collectDefaultMetrics({ register: METRICS_REGISTRY, prefix: 'ocni_' });

/** HTTP requests by route template, method and status; `_count` is the number of requests. */
export const httpRequestDuration = new Histogram({
  name: 'ocni_http_request_duration_seconds',
  help: 'HTTP requests by route template, method and status: time until the response head (a change stream counts until it starts)',
  labelNames: ['route', 'method', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [METRICS_REGISTRY],
});

/** CouchDB requests by method and outcome (`ok`, `refused` for a 4xx answer, `failed` when unreachable, timed out or 5xx). */
export const storeRequests = new Counter({
  name: 'ocni_store_requests_total',
  help: 'CouchDB requests by HTTP method and outcome (ok, refused: CouchDB answered 4xx, failed: unreachable, timed out or 5xx)',
  labelNames: ['method', 'outcome'] as const,
  registers: [METRICS_REGISTRY],
});

/** CouchDB request latency by method (changes-feed long-polls excluded: they wait on purpose). */
export const storeRequestDuration = new Histogram({
  name: 'ocni_store_request_duration_seconds',
  help: 'CouchDB request latency by HTTP method (changes-feed long-polls excluded)',
  labelNames: ['method'] as const,
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  registers: [METRICS_REGISTRY],
});

/** Backend calls by backend name, operation and outcome (`ok` or the domain error code). */
export const backendCalls = new Counter({
  name: 'ocni_backend_calls_total',
  help: 'Backend calls by backend, operation and outcome (ok, or the domain error code of the failure)',
  labelNames: ['backend', 'operation', 'outcome'] as const,
  registers: [METRICS_REGISTRY],
});

/**
 * Conflicting revisions resolved by rule, by database (`entities`, `categories`). Incremented where
 * a conflict is resolved (the store's conflict handling); zero until then.
 */
export const conflictsResolved = new Counter({
  name: 'ocni_conflicts_resolved_total',
  help: 'Conflicting document revisions resolved by rule, by database',
  labelNames: ['database'] as const,
  registers: [METRICS_REGISTRY],
});

/** Restarts of the embedded store after it stopped (incremented by its supervisor). */
export const embeddedStoreRestarts = new Counter({
  name: 'ocni_embedded_store_restarts_total',
  help: 'Restarts of the embedded CouchDB-compatible store after it stopped',
  registers: [METRICS_REGISTRY],
});

/** Open change streams (`?watch=true`), by collection type. */
export const watchStreams = new Gauge({
  name: 'ocni_watch_streams',
  help: 'Open change streams (?watch=true) by collection type (kind, mixin, path, categories)',
  labelNames: ['collection'] as const,
  registers: [METRICS_REGISTRY],
});

/** Events sent on change streams, by type (added, changed, removed). */
export const watchEvents = new Counter({
  name: 'ocni_watch_events_total',
  help: 'Events sent on change streams by type (added, changed, removed)',
  labelNames: ['type'] as const,
  registers: [METRICS_REGISTRY],
});

/** Something that follows a changes feed and can say how far behind it is. */
export interface FeedLagSource {
  /** The feed's name, the metric's label (`categories`, `entities`). */
  readonly feed: string;
  /** Seconds behind the database: 0 while it follows, growing while it fails. */
  lagSeconds(): number;
}

const lagSources = new Set<FeedLagSource>();

/** Changes-feed lag by feed; the worst of the followers of that feed in this process. */
export const changesFeedLag = new Gauge({
  name: 'ocni_changes_feed_lag_seconds',
  help: 'Seconds a changes feed follower is behind its database: 0 while it follows, the time since it last answered while it fails',
  labelNames: ['feed'] as const,
  registers: [METRICS_REGISTRY],
  collect() {
    this.reset();
    const worst = new Map<string, number>();
    for (const source of lagSources) worst.set(source.feed, Math.max(worst.get(source.feed) ?? 0, source.lagSeconds()));
    for (const [feed, lag] of worst) this.set({ feed }, lag);
  },
});

/** Reports a feed follower's lag in `ocni_changes_feed_lag_seconds` until the returned function is called. */
export function reportFeedLag(source: FeedLagSource): () => void {
  lagSources.add(source);
  return () => lagSources.delete(source);
}

/** An in-process cache whose size `/metrics` reports (read by the gauges when asked). */
export interface CacheSizeSource {
  /** The cache's name, the metric's label (`read`: entities; `members`: collection member ids). */
  readonly cache: string;
  /** Items held now. */
  entries(): number;
  /** Bytes held now, where the cache counts them. */
  bytes?(): number;
}

const cacheSources = new Set<CacheSizeSource>();

/** Sums the sources' values by cache name (several servers may run in one process, as in tests). */
function sumByCache(read: (source: CacheSizeSource) => number | undefined): Map<string, number> {
  const sums = new Map<string, number>();
  for (const source of cacheSources) {
    const value = read(source);
    if (value !== undefined) sums.set(source.cache, (sums.get(source.cache) ?? 0) + value);
  }
  return sums;
}

/** Items held by the in-process caches, by cache: what the memory bound allows for (see README, Limits). */
export const cacheEntries = new Gauge({
  name: 'ocni_cache_entries',
  help: 'Items held by an in-process cache: read (entities of the read cache), members (member ids of the member index)',
  labelNames: ['cache'] as const,
  registers: [METRICS_REGISTRY],
  collect() {
    this.reset();
    for (const [cache, value] of sumByCache((s) => s.entries())) this.set({ cache }, value);
  },
});

/** Bytes held by the in-process caches that count them (the read cache: its documents as JSON). */
export const cacheBytes = new Gauge({
  name: 'ocni_cache_bytes',
  help: 'Bytes held by an in-process cache that counts them (read: its documents as JSON)',
  labelNames: ['cache'] as const,
  registers: [METRICS_REGISTRY],
  collect() {
    this.reset();
    for (const [cache, value] of sumByCache((s) => s.bytes?.())) this.set({ cache }, value);
  },
});

/** Reports a cache's size in `ocni_cache_entries` and `ocni_cache_bytes` until the returned function is called. */
export function reportCacheSize(source: CacheSizeSource): () => void {
  cacheSources.add(source);
  return () => cacheSources.delete(source);
}
