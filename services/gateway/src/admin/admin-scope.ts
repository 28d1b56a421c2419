import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { AppError } from '@offramp/kit';
import { identify } from '../auth/auth.ts';
import type { GatewayConfig } from '../config.ts';
import type { Services } from '../edge/services.ts';
import { adminActionRoutes } from './admin-action-routes.ts';
import { adminControlRoutes } from './admin-control-routes.ts';
import { adminExceptionRoutes } from './admin-exception-routes.ts';
import { adminQueryRoutes } from './admin-query-routes.ts';
import { requireAdmin } from './require-admin.ts';

/**
 * Everything under /api/admin (API.md "Operator"). Same order of hooks as the widget scope:
 * `identify`, the rate limiter keyed by the verified sub, then `requireAdmin`.
 */
export function adminScope(config: GatewayConfig, services: Services) {
  return async (app: FastifyInstance) => {
    // Bodies are parsed with zod in the handlers; the route schemas only describe the API.
    app.setValidatorCompiler(() => () => true);
    app.setSerializerCompiler(() => (data) => JSON.stringify(data));
    acceptEmptyJsonBodies(app);
    app.addHook('onRequest', identify);
    await app.register(fastifyRateLimit, {
      max: config.RATE_LIMIT_MAX,
      timeWindow: config.RATE_LIMIT_WINDOW_MS,
      keyGenerator: (request) => (request.trader ? `sub:${request.trader.id}` : `ip:${request.ip}`),
      errorResponseBuilder: (_request, context) =>
        new AppError('RATE_LIMITED', 'Too many requests, slow down', { details: { retryAfterSeconds: Math.ceil(context.ttl / 1000) } }),
    });
    app.addHook('preHandler', requireAdmin);
    await app.register(adminQueryRoutes({ services }));
    await app.register(adminActionRoutes({ services }));
    await app.register(adminControlRoutes({ services }));
    await app.register(adminExceptionRoutes({ services }));
  };
}

/**
 * Operator consoles post actions such as approve with `Content-Type: application/json` and no body
 * at all; Fastify's parser refuses that, so here an empty JSON body is no body. Anything else goes
 * through Fastify's own (prototype-poisoning safe) JSON parser.
 */
function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    return parseJson(request, text, done);
  });
}
