/**
 * @module The one door to CouchDB: every request goes through {@link CouchClient.request}, which
 * bounds it in time, records it (tests prove no request reads a whole database) and turns transport
 * failures into {@link StoreUnavailableError}. Only documented CouchDB 3 API is used.
 */
import nano, { type ServerScope } from 'nano';
import { StoreUnavailableError, ConfigError } from '../errors.ts';
import { storeRequestDuration, storeRequests } from '../metrics.ts';

/** One request as sent, for observers (tests, debugging). */
export interface CouchRequestRecord {
  method: string;
  db: string;
  path: string;
  qs: Record<string, unknown>;
  body?: unknown;
}

/** What CouchDB answered when it refused a request (404, 409, 412, 400…). */
export class CouchStatusError extends Error {
  override name = 'CouchStatusError';
  constructor(
    readonly statusCode: number,
    readonly error: string,
    readonly reason: string,
  ) {
    super(`CouchDB answered ${statusCode} ${error}: ${reason}`);
  }
}

/** Options of a CouchDB client. */
export interface CouchClientOptions {
  url: string;
  requestTimeoutMs: number;
}

/** Parameters of one request. */
export interface CouchRequest {
  db: string;
  method?: 'get' | 'post' | 'put' | 'delete' | 'head';
  path?: string;
  qs?: Record<string, unknown>;
  body?: unknown;
  /** Longer bound for long-polls of the changes feed. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

type Listener = (record: CouchRequestRecord) => void;

/** A thin, bounded wrapper around nano's raw request function. */
export class CouchClient {
  readonly server: ServerScope;
  readonly #timeoutMs: number;
  readonly #listeners = new Set<Listener>();

  constructor(options: CouchClientOptions) {
    this.server = nano({ url: options.url });
    this.#timeoutMs = options.requestTimeoutMs;
  }

  /** Calls `listener` for every request sent until the returned function is called. */
  observe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Sends one request.
   *
   * @throws CouchStatusError when CouchDB refuses it (4xx); StoreUnavailableError when it cannot be
   * reached, times out or fails (5xx)
   */
  async request<T>(req: CouchRequest): Promise<T> {
    const record: CouchRequestRecord = { method: req.method ?? 'get', db: req.db, path: req.path ?? '', qs: req.qs ?? {} };
    if (req.body !== undefined) record.body = req.body;
    for (const listener of this.#listeners) listener(record);
    const timeout = AbortSignal.timeout(req.timeoutMs ?? this.#timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    // Long-polls wait on purpose: their time is not latency.
    const timer = req.qs?.feed === undefined ? storeRequestDuration.startTimer({ method: record.method }) : undefined;
    try {
      const answer = (await this.server.relax({
        db: req.db,
        method: record.method,
        path: req.path,
        qs: req.qs,
        body: req.body,
        signal,
      } as Parameters<ServerScope['relax']>[0])) as T;
      storeRequests.inc({ method: record.method, outcome: 'ok' });
      return answer;
    } catch (err) {
      const translated = translate(err, record, req.signal?.aborted ?? false);
      if (!(req.signal?.aborted ?? false)) storeRequests.inc({ method: record.method, outcome: translated instanceof CouchStatusError ? 'refused' : 'failed' });
      throw translated;
    } finally {
      timer?.();
    }
  }

  /** The server's welcome document; used to check that CouchDB is reachable. */
  async info(): Promise<{ version?: string; vendor?: { name?: string } }> {
    return this.request({ db: '', path: '' });
  }
}

function translate(err: unknown, record: CouchRequestRecord, abortedByCaller: boolean): Error {
  const e = err as { statusCode?: number; error?: string; reason?: string; message?: string; name?: string };
  if (abortedByCaller) return err as Error;
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new CouchStatusError(e.statusCode, e.error ?? 'error', e.reason ?? e.message ?? '');
  }
  const what = `${record.method.toUpperCase()} /${record.db}${record.path ? `/${record.path}` : ''}`;
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return new StoreUnavailableError(`the store did not answer ${what} in time`, err);
  if (typeof e.statusCode === 'number') return new StoreUnavailableError(`the store failed ${what} with ${e.statusCode}`, err);
  return new StoreUnavailableError(`the store cannot be reached (${e.message ?? 'connection failed'})`, err);
}

/** True when `err` is CouchDB refusing a request with this status. */
export function isCouchStatus(err: unknown, status: number): boolean {
  return err instanceof CouchStatusError && err.statusCode === status;
}

/**
 * Waits until CouchDB answers, or fails with one clear line.
 *
 * @throws ConfigError naming the (password-redacted) URL
 */
export async function assertReachable(client: CouchClient, displayUrl: string): Promise<void> {
  try {
    await client.info();
  } catch (err) {
    const reason = err instanceof CouchStatusError ? `it answered ${err.statusCode} ${err.reason}` : (err as Error).message;
    throw new ConfigError(`CouchDB at ${displayUrl} is not usable: ${reason}`, err);
  }
}
