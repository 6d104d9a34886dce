/**
 * @module What operators and load balancers ask of a running process: `/healthz` (the process
 * lives), `/readyz` (it should get traffic) and `/metrics` (Prometheus text format).
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { METRICS_REGISTRY } from '../../metrics.ts';
import { ForbiddenError } from '../../errors.ts';
import type { Principal } from '../../auth/principal.ts';
import type { Services } from '../services.ts';

/** True when the request comes over the loopback interface. */
function fromLoopback(ctx: Context): boolean {
  const address = ctx.req.socket.remoteAddress ?? '';
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/**
 * Registers `/healthz` and `/readyz`: answered before authentication, since load balancers and
 * container health checks carry no credentials, and they reveal nothing about entities.
 */
export function healthRoutes(router: Router, services: Services): void {
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const report = await services.readiness.evaluate();
    ctx.set('Cache-Control', 'no-store');
    ctx.status = report.ready ? 200 : 503;
    ctx.body = { status: report.ready ? 'ready' : 'not ready', checks: report.checks };
  });
}

/**
 * Registers `/metrics`, for operators only. With authentication off (`auth.mode` `none`) every
 * caller counts as an operator, so the metrics are then answered only over loopback, unless
 * `metrics.withoutAuth` is `any` (e.g. for a Prometheus on a private network).
 */
export function metricsRoutes(router: Router, services: Services): void {
  const { config } = services;
  router.get('/metrics', async (ctx) => {
    const principal = ctx.state.principal as Principal | undefined;
    if (!principal?.operator) throw new ForbiddenError('metrics are for operators only');
    if (config.auth.mode === 'none' && config.metrics.withoutAuth === 'loopback' && !fromLoopback(ctx)) {
      throw new ForbiddenError('with authentication off, metrics are answered over loopback only (set metrics.withoutAuth to "any" to change that)');
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.type = METRICS_REGISTRY.contentType;
    ctx.body = await METRICS_REGISTRY.metrics();
  });
}
