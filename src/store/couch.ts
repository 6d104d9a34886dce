/**
 * @module The one door to CouchDB: every request goes through {@link CouchClient.request}, which
 * bounds it in time, records it (tests prove no request reads a whole database) and turns transport
 * failures into {@link StoreUnavailableError}. Only documented CouchDB 3 API is used.
 *
 * Requests go out through undici's `request` on a keep-alive connection pool: nano's transport
 * (WHATWG `fetch`) cost ocni more CPU per store request than a whole `GET` of a resource costs the
 * store (issue 10's profile), and ocni needs nothing of nano beyond sending JSON. undici also gives
 * every answer's status, which tells a confirmed write (201) from an accepted one (202).
 */
import { Agent, request as send } from 'undici';
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

/** Query parameters CouchDB reads as JSON (the others are plain strings). */
const JSON_PARAMS = new Set(['startkey', 'endkey', 'key', 'keys', 'start_key', 'end_key']);

/** The query string of a request, JSON-encoding the view keys as CouchDB expects. */
function queryString(qs: Record<string, unknown> | undefined): string {
  if (!qs) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(qs)) {
    if (value === undefined) continue;
    params.set(name, JSON_PARAMS.has(name) || typeof value === 'object' ? JSON.stringify(value) : String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** A thin, bounded client for CouchDB's HTTP API. */
export class CouchClient {
  readonly #timeoutMs: number;
  readonly #listeners = new Set<Listener>();
  readonly #base: string;
  readonly #headers: Record<string, string> = { accept: 'application/json' };
  readonly #agent: Agent;

  constructor(options: CouchClientOptions) {
    const url = new URL(options.url);
    if (url.username) {
      this.#headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
      url.username = '';
      url.password = '';
    }
    this.#base = url.toString().replace(/\/+$/, '');
    this.#timeoutMs = options.requestTimeoutMs;
    // Keep-alive connections, reused across requests; the changes feed's long-poll holds one.
    // Every request is bounded by its own timeout (below): undici's own 300 s header and body
    // timeouts would cut a long view build short.
    this.#agent = new Agent({ keepAliveTimeout: 30_000, connections: 32, headersTimeout: 0, bodyTimeout: 0 });
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
    return (await this.exchange<T>(req)).body;
  }

  /**
   * Sends one request and also returns the HTTP status, which tells a write a cluster confirmed
   * (201) from one it only accepted (202).
   *
   * @throws as {@link request}
   */
  async exchange<T>(req: CouchRequest): Promise<CouchAnswer<T>> {
    const method = req.method ?? 'get';
    // Long-polls wait on purpose: their time is not latency.
    const timer = req.qs?.feed === undefined ? storeRequestDuration.startTimer({ method }) : undefined;
    try {
      const answer = await this.#exchange<T>(req);
      storeRequests.inc({ method, outcome: 'ok' });
      return answer;
    } catch (err) {
      if (!(req.signal?.aborted ?? false)) storeRequests.inc({ method, outcome: err instanceof CouchStatusError ? 'refused' : 'failed' });
      throw err;
    } finally {
      timer?.();
    }
  }

  /** Sends one request (see {@link exchange}), unmeasured. */
  async #exchange<T>(req: CouchRequest): Promise<CouchAnswer<T>> {
    const record: CouchRequestRecord = { method: req.method ?? 'get', db: req.db, path: req.path ?? '', qs: req.qs ?? {} };
    if (req.body !== undefined) record.body = req.body;
    for (const listener of this.#listeners) listener(record);
    const timeout = AbortSignal.timeout(req.timeoutMs ?? this.#timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    let url = this.#base;
    if (req.db) url += `/${encodeURIComponent(req.db)}`;
    if (req.path) url += `/${req.path}`;
    url += queryString(req.qs);
    const headers = req.body === undefined ? this.#headers : { ...this.#headers, 'content-type': 'application/json' };
    let status: number;
    let text: string;
    try {
      const res = await send(url, {
        method: record.method.toUpperCase() as 'GET',
        headers,
        ...(req.body !== undefined ? { body: typeof req.body === 'string' ? req.body : JSON.stringify(req.body) } : {}),
        signal,
        dispatcher: this.#agent,
      });
      status = res.statusCode;
      try {
        text = await res.body.text();
      } catch (err) {
        if (timeout.aborted || req.signal?.aborted) throw err;
        // Headers came, the body did not: the answer was cut off in transit.
        throw new StoreUnavailableError(`the store's answer to ${describe(record)} was cut off`, err);
      }
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      if (timeout.aborted && !(req.signal?.aborted ?? false)) throw new StoreTimeoutError(`the store did not answer ${describe(record)} in time`, err);
      throw translate(err, record, req.signal?.aborted ?? false);
    }
    let answer: unknown;
    try {
      answer = text ? JSON.parse(text) : undefined;
    } catch {
      answer = undefined;
    }
    if (status >= 400) {
      const refusal = (answer ?? {}) as { error?: string; reason?: string };
      throw translate({ statusCode: status, error: refusal.error, reason: refusal.reason, message: `status ${status}` }, record, false);
    }
    // Every answer ocni asks for is a JSON object or array; a body cut off in transit must not
    // pass for an answer.
    if (typeof answer !== 'object' || answer === null) throw new StoreUnavailableError(`the store's answer to ${describe(record)} was cut off or is not JSON`);
    return { status, body: answer as T };
  }

  /** Closes the pooled connections (a stopped server keeps none open). */
  close(): Promise<void> {
    return this.#agent.close();
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
