/**
 * @module Request logging: one pino line per request (request id, method, path, status, duration).
 * The query string and headers are never logged, so tokens and credentials cannot leak.
 */
import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';

const ROOT = Symbol('root logger');
const CHILD = Symbol('request logger');

interface LogState {
  requestId?: string;
  principal?: { id: string };
  [ROOT]?: Logger;
  [CHILD]?: Logger;
}

/**
 * `ctx.state.log`, made on first use (one descriptor for every request: no closure per request):
 * a child of the server's logger bound to the request id and, once authenticated, the caller. Most
 * requests log nothing beyond their request line, and two pino children per request were a
 * measurable share of serving `GET /-/` (issue 10). Assigning `ctx.state.log` replaces it.
 */
const LOG: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: LogState): Logger | undefined {
    if (this[CHILD]) return this[CHILD];
    const bindings: Record<string, unknown> = { reqId: this.requestId };
    if (this.principal) bindings.user = this.principal.id;
    const child = this[ROOT]?.child(bindings);
    // Before authentication the caller is not known yet: keep asking until it is.
    if (this.principal) this[CHILD] = child;
    return child;
  },
  set(this: LogState, value: Logger | undefined) {
    this[CHILD] = value;
  },
};

/** Sets the request id, the `Server` and `X-Content-Type-Options` headers and the request's logger (`ctx.state.log`, bound to the caller once known), and logs the request when it ends. */
export function requestLog(logger: Logger, serverHeader: string) {
  return async function logRequest(ctx: Context, next: Next): Promise<void> {
    const started = process.hrtime.bigint();
    const requestId = randomUUID();
    ctx.state.requestId = requestId;
    (ctx.state as LogState)[ROOT] = logger;
    Object.defineProperty(ctx.state, 'log', LOG);
    ctx.set('X-Request-Id', requestId);
    ctx.set('Server', serverHeader);
    // Every response, errors included: browsers must not guess a type (a JSON error as HTML).
    ctx.set('X-Content-Type-Options', 'nosniff');
    // The first header of the response (ctx.vary would parse what is there, to add to it).
    ctx.set('Vary', 'Accept');
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info({ reqId: requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  };
}

/** The request's child logger (request id, then user), or undefined before {@link requestLog} ran. Koa types `ctx.state` as `any`. */
export function requestLogger(ctx: Context): Logger | undefined {
  return ctx.state.log as Logger | undefined;
}
