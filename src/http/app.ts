/**
 * @module The Koa application: middleware in order (request log, errors, request type, body
 * parser), the routes, and the router's 405/`Allow` handling.
 */
import Koa from 'koa';
import Router from '@koa/router';
import bodyParser from 'koa-bodyparser';
import { errorMiddleware } from './errors.ts';
import { hasBody, occiProtocol, requestTypeGuard } from './negotiate.ts';
import { requestLog } from './request-log.ts';
import { pathNormaliser } from './path-normaliser.ts';
import { loggableError } from './error-log.ts';
import { queryInterfaceRoutes } from './routes/query-interface.ts';
import { entityRoutes } from './routes/entities.ts';
import { descriptionRoutes } from './routes/descriptions.ts';
import { cycladesDriftRoutes } from './routes/cyclades-drift.ts';
import type { Services } from './services.ts';
import { itemCountGuard } from './request-body.ts';
import { callerView } from './caller.ts';
import { createAuthenticator } from '../auth/authenticate.ts';
import { httpMetrics } from './http-metrics.ts';
import { healthRoutes, metricsRoutes } from './routes/operations.ts';
import { changeStreams } from './routes/watch.ts';

/**
 * Builds the Koa app over the given services. It opens no port: `app.callback()` serves requests.
 *
 * @example
 * const app = createApp(services);
 * http.createServer(app.callback()).listen(8090, '127.0.0.1');
 */
export function createApp(services: Services): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true;
  // Every request's context reaches the server's names (request-context.ts reads them).
  app.context.serverNames = services.serverNames;
  // Reduced here too, whatever logger the app was given: no raw request or attached object is logged.
  app.on('error', (err: unknown) => services.logger.error({ err: loggableError(err) }, 'unexpected error'));

  const limit = services.config.limits.bodyBytes;
  app.use(requestLog(services.logger, `ocni/${services.version} OCCI/1.2`));
  app.use(httpMetrics(services.categories.registry));
  app.use(errorMiddleware());
  app.use(occiProtocol());
  app.use(pathNormaliser());
  app.use(requestTypeGuard());
  const parseBody = bodyParser({
    enableTypes: ['json', 'text', 'form'],
    extendTypes: { json: ['application/occi+json', 'application/json'], text: ['text/plain', 'text/occi'] },
    jsonLimit: `${limit}b`,
    textLimit: `${limit}b`,
    formLimit: `${limit}b`,
    strict: true,
    // Let the error middleware answer: the default handler would answer plain text.
    onerror: (err) => {
      throw err;
    },
  });
  // Most requests (GET, DELETE) carry no body: koa-bodyparser would still try each of its types on them.
  app.use((ctx, next) => {
    if (hasBody(ctx)) return parseBody(ctx, next) as Promise<void>;
    ctx.request.body = {};
    return next();
  });

  // Health and readiness come before authentication: load balancers carry no credentials.
  const health = new Router();
  healthRoutes(health, services);
  app.use(health.routes());

  app.use(itemCountGuard(services.config.limits.itemsPerRequest));
  app.use(callerView(createAuthenticator(services.config.auth), services.categories.registry, services.backends, services.config));
  app.use(changeStreams(services));

  const router = new Router();
  metricsRoutes(router, services);
  queryInterfaceRoutes(router, services);
  descriptionRoutes(router, services);
  cycladesDriftRoutes(router, services);
  entityRoutes(router, services);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
