/**
 * @module Request logging: one pino line per request (request id, method, path, status, duration).
 * The query string and headers are never logged, so tokens and credentials cannot leak.
 */
import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';

/** Sets the request id, the `Server` and `X-Content-Type-Options` headers and a child logger, and logs the request when it ends. */
export function requestLog(logger: Logger, serverHeader: string) {
  return async function logRequest(ctx: Context, next: Next): Promise<void> {
    const started = process.hrtime.bigint();
    const requestId = randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ reqId: requestId });
    ctx.set('X-Request-Id', requestId);
    ctx.set('Server', serverHeader);
    // Every response, errors included: browsers must not guess a type (a JSON error as HTML).
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.vary('Accept');
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info({ reqId: requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  };
}
