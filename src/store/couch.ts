/**
 * @module The one door to CouchDB: every request goes through {@link CouchClient.request}, which
 * bounds it in time, records it (tests prove no request reads a whole database) and turns transport
 * failures into {@link StoreUnavailableError}. Only documented CouchDB 3 API is used.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import nano, { type ServerScope } from 'nano';
import { StoreUnavailableError, ConfigError } from '../errors.ts';

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

/** The store did not answer within the request's time bound (it may still have done the work). */
export class StoreTimeoutError extends StoreUnavailableError {
  override name = 'StoreTimeoutError';
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

/** An answer with its HTTP status. */
export interface CouchAnswer<T> {
  /**
   * 201 when a write reached its quorum; 202 when fewer copies of a cluster accepted it, so that
   * it may still lose to a concurrent write (CouchDB docs, "Cluster theory" and the 202 of
   * `PUT /{db}/{docid}` and `POST /{db}/_bulk_docs`).
   */
  status: number;
  body: T;
}

/**
 * nano resolves a request with its body only; its `log` hook sees every response's status. The
 * hook runs in the async context of the request that caused it, which is where a caller of
 * {@link CouchClient.exchange} waits for that status.
 */
const statusOfRequest = new AsyncLocalStorage<{ status?: number }>();

/** A thin, bounded wrapper around nano's raw request function. */
export class CouchClient {
  readonly server: ServerScope;
  readonly #timeoutMs: number;
  readonly #listeners = new Set<Listener>();

  constructor(options: CouchClientOptions) {
    this.server = nano({
      url: options.url,
      log: (entry: unknown) => {
        const status = (entry as { headers?: { statusCode?: unknown } } | undefined)?.headers?.statusCode;
        const holder = statusOfRequest.getStore();
        if (holder && typeof status === 'number') holder.status = status;
      },
    });
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
    let answer: unknown;
    try {
      answer = await this.server.relax({
        db: req.db,
        method: record.method,
        path: req.path,
        qs: req.qs,
        body: req.body,
        signal,
      } as Parameters<ServerScope['relax']>[0]);
    } catch (err) {
      // nano wraps an aborted fetch in a plain Error: the timeout signal tells a timeout apart.
      if (timeout.aborted && !(req.signal?.aborted ?? false)) throw new StoreTimeoutError(`the store did not answer ${describe(record)} in time`, err);
      throw translate(err, record, req.signal?.aborted ?? false);
    }
    // Every answer ocni asks for is a JSON object or array; nano turns a body cut off in transit
    // into '' (it swallows the parse error), which must not pass for an answer.
    if (typeof answer !== 'object' || answer === null || Buffer.isBuffer(answer)) {
      throw new StoreUnavailableError(`the store's answer to ${describe(record)} was cut off or is not JSON`);
    }
    return answer as T;
  }

  /**
   * Sends one request and also returns the HTTP status, which tells a write a cluster confirmed
   * (201) from one it only accepted (202).
   *
   * @throws as {@link request}
   */
  async exchange<T>(req: CouchRequest): Promise<CouchAnswer<T>> {
    const holder: { status?: number } = {};
    const body = await statusOfRequest.run(holder, () => this.request<T>(req));
    if (holder.status === undefined) throw new StoreUnavailableError(`the store's status for ${describe({ method: req.method ?? 'get', db: req.db, path: req.path ?? '', qs: {} })} is unknown`);
    return { status: holder.status, body };
  }

  /** The server's welcome document; used to check that CouchDB is reachable. */
  async info(): Promise<{ version?: string; vendor?: { name?: string } }> {
    return this.request({ db: '', path: '' });
  }
}

function describe(record: CouchRequestRecord): string {
  return `${record.method.toUpperCase()} /${record.db}${record.path ? `/${record.path}` : ''}`;
}

function translate(err: unknown, record: CouchRequestRecord, abortedByCaller: boolean): Error {
  const e = err as { statusCode?: number; error?: string; reason?: string; message?: string; name?: string };
  if (abortedByCaller) return err as Error;
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new CouchStatusError(e.statusCode, e.error ?? 'error', e.reason ?? e.message ?? '');
  }
  const what = describe(record);
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
