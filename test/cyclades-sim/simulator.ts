/**
 * @module The Cyclades (Synnefo) API simulator: one Koa app answering the Astakos identity
 * subset and the Cyclades compute, network and volume subsets on the production paths, with
 * asynchronous state changes driven by an injectable clock, plus the `/_sim` control API. See
 * §4 of `cyclades-api.md` for the specification.
 */

import { createServer, type IncomingMessage } from 'node:http';
import Koa from 'koa';
import type { ClockMode } from './clock.ts';
import { attachmentRoutes } from './compute-attachments.ts';
import { actionRoutes } from './compute-actions.ts';
import { catalogRoutes } from './compute-catalog.ts';
import { serverRoutes } from './compute-servers.ts';
import { handleControl } from './control.ts';
import { dispatch, type Route, type SimResponse } from './http.ts';
import { identityRoutes } from './identity.ts';
import type { FaultRule } from './injection.ts';
import { networkRoutes } from './network.ts';
import { portRoutes } from './network-ports.ts';
import { DEFAULT_TIMINGS, demoSeed, type SimSeed, type SimTimings } from './seed.ts';
import { SimState } from './state.ts';
import { volumeRoutes } from './volume.ts';

export * from './seed.ts';
export { SimState } from './state.ts';
export type { ClockMode } from './clock.ts';

/** Options of {@link createCycladesSimulator}. */
export interface CycladesSimulatorOptions {
  /** Overrides of the demo seed, merged key by key over {@link demoSeed}. */
  seed?: Partial<SimSeed>;
  /** Overrides of the default job durations (ms). */
  timings?: Partial<SimTimings>;
  /** `realtime` (default): jobs fire from timers; `manual`: only `/_sim/advance` and `/_sim/settle` move time. */
  mode?: ClockMode;
  /** External base URL for the catalog and links; defaults to the URL `listen` binds. */
  baseUrl?: string;
}

/** A simulator bound to a port. */
export interface ListeningSimulator {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  url: string;
  /** Identity endpoint for discovery (`<url>/identity/v2.0`). */
  identityUrl: string;
  /** Stops listening, drops open connections and pending timers. */
  close(): Promise<void>;
}

/** A simulator instance. */
export interface CycladesSimulator {
  app: Koa;
  state: SimState;
  routes: readonly Route[];
  /** Binds the app (port 0 picks a free port). */
  listen(port?: number, host?: string): Promise<ListeningSimulator>;
  /** Moves the clock forward, completing due jobs; returns how many ran. */
  advance(ms: number): number;
  /** Completes every pending job; returns how many ran. */
  settle(): number;
  /** Returns to the seed. */
  reset(): void;
}

/** Request bodies larger than this are refused; nothing legitimate comes close. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Every API route, in matching order (literal paths such as `/detail` before id patterns). */
export function allRoutes(): Route[] {
  return [...identityRoutes(), ...catalogRoutes(), ...serverRoutes(), ...actionRoutes(), ...attachmentRoutes(), ...networkRoutes(), ...portRoutes(), ...volumeRoutes()];
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function loggedBody(raw: string): unknown {
  if (raw === '') return null;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function injectedResponse(rule: FaultRule): SimResponse {
  const headers = { 'Content-Type': rule.contentType, ...rule.headers };
  return typeof rule.body === 'string' ? { status: rule.status, text: rule.body, headers } : { status: rule.status, json: rule.body, headers };
}

function write(ctx: Koa.Context, response: SimResponse, api: boolean): void {
  ctx.status = response.status;
  if (api) {
    // The Cyclades views add these to every reply (`update_response_headers`).
    ctx.set('Vary', 'X-Auth-Token');
    ctx.set('Cache-Control', 'no-cache, no-store, must-revalidate, max-age=0');
  }
  ctx.set('Content-Type', 'application/json; charset=UTF-8');
  for (const [name, value] of Object.entries(response.headers ?? {})) ctx.set(name, value);
  ctx.body = response.json !== undefined ? JSON.stringify(response.json) : (response.text ?? '');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Creates a simulator seeded with the demo world (or the given overrides). */
export function createCycladesSimulator(options: CycladesSimulatorOptions = {}): CycladesSimulator {
  const seed: SimSeed = { ...demoSeed(), ...options.seed };
  const state = new SimState({
    seed,
    timings: { ...DEFAULT_TIMINGS, ...options.timings },
    mode: options.mode ?? 'realtime',
    baseUrl: options.baseUrl ?? 'http://127.0.0.1',
  });
  const routes = allRoutes();
  const app = new Koa();

  app.use(async (ctx) => {
    const raw = await readBody(ctx.req);
    const url = new URL(ctx.originalUrl, 'http://simulator.invalid');
    const method = ctx.method.toUpperCase();
    const path = url.pathname;
    if (path === '/_sim' || path.startsWith('/_sim/')) {
      write(ctx, handleControl(state, method, path, url.searchParams, raw), false);
      return;
    }
    const delay = state.injection.latencyFor(path);
    if (delay > 0) await sleep(delay);
    const rule = state.injection.takeFault(method, path);
    let response: SimResponse;
    if (rule === null || rule.after) {
      const real = dispatch(routes, state, { method, path, query: url.searchParams, headers: ctx.req.headers, rawBody: raw });
      if (rule !== null && rule.hangMs > 0) await sleep(rule.hangMs);
      response = rule === null || rule.hangMs > 0 ? real : injectedResponse(rule);
    } else {
      response = injectedResponse(rule);
    }
    write(ctx, response, true);
    state.record({
      at: new Date(state.now()).toISOString(),
      method,
      path,
      query: url.search,
      headers: flatHeaders(ctx.req),
      body: loggedBody(raw),
      status: response.status,
    });
  });

  return {
    app,
    state,
    routes,
    advance: (ms) => state.jobs.advance(ms),
    settle: () => state.jobs.settle(),
    reset: () => state.reset(),
    async listen(port = 0, host = '127.0.0.1') {
      const server = createServer(app.callback());
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('simulator: unexpected listen address');
      const url = `http://${host}:${address.port}`;
      if (options.baseUrl === undefined) state.baseUrl = url;
      return {
        url,
        identityUrl: `${state.baseUrl}/identity/v2.0`,
        close: () =>
          new Promise<void>((resolve, reject) => {
            state.jobs.dispose();
            server.close((error) => (error === undefined ? resolve() : reject(error)));
            server.closeAllConnections();
          }),
      };
    },
  };
}
