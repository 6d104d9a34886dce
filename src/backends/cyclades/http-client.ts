/**
 * @module The HTTP client for Cyclades and Astakos: global `fetch`, one timeout per request
 * (`AbortSignal.timeout`), JSON in and out, and every failure turned into a domain error (see
 * `faults.ts`). The token travels in `X-Auth-Token` and nowhere else: it is neither logged nor
 * kept here.
 */
import { faultError, transportError } from './faults.ts';

/** What `fetch` looks like to the client (injectable for tests). */
export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

/** One request. */
export interface CycladesRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  /** `X-Auth-Token`; absent only for the public catalog call. */
  token?: string;
  /** Sent as JSON; absent means no body (and no Content-Type). */
  body?: unknown;
  /** A short name of the service, for error messages (`compute`, `identity`). */
  service: string;
}

/** Options of {@link CycladesHttp}. */
export interface CycladesHttpOptions {
  timeoutMs: number;
  fetch?: FetchFn;
}

/** Sends requests to Cyclades; see the module comment. */
export class CycladesHttp {
  readonly #timeoutMs: number;
  readonly #fetch: FetchFn;

  constructor(options: CycladesHttpOptions) {
    this.#timeoutMs = options.timeoutMs;
    // Looked up at call time so a test's stub of the global is honoured too.
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /**
   * Sends one request and returns the parsed JSON body (undefined when empty, as for 202/204).
   *
   * @throws OcciError with Cyclades' fault mapped (`faults.ts`), `backend-timeout` after the
   * timeout, `backend-unavailable` when the service cannot be reached
   */
  async request(request: CycladesRequest): Promise<unknown> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (request.token !== undefined) headers['X-Auth-Token'] = request.token;
    let payload: string | undefined;
    if (request.body !== undefined) {
      payload = JSON.stringify(request.body);
      headers['Content-Type'] = 'application/json';
    }
    let status: number;
    let statusText: string;
    let body: string;
    try {
      // One signal covers connecting, the headers and the body, so a slow body times out too.
      const response = await this.#fetch(request.url, { method: request.method, headers, body: payload, signal: AbortSignal.timeout(this.#timeoutMs) });
      status = response.status;
      statusText = response.statusText;
      body = await response.text();
    } catch (error) {
      throw transportError(error, request.service, this.#timeoutMs);
    }
    if (status < 200 || status >= 300) throw faultError(status, statusText, body, request.service);
    if (body.trim() === '') return undefined;
    try {
      return JSON.parse(body) as unknown;
    } catch {
      // A success status with a body that is not JSON is still a broken answer.
      throw faultError(502, `(was ${status}) ${statusText}`, body, request.service);
    }
  }
}
