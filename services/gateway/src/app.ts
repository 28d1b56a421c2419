import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { readinessOf, AppError, createHttpServer, createMetrics, type HttpServer, type Logger, type Messaging } from '@offramp/kit';
import { adminScope } from './admin/admin-scope.ts';
import { algorithmOf, identify, registerAuth, requireTrader } from './auth/auth.ts';
import { balanceRoutes } from './balances/balances-routes.ts';
import type { GatewayConfig } from './config.ts';
import { devRoutes } from './dev/dev-routes.ts';
import { registerOpenApi } from './edge/openapi.ts';
import { createServices, type Services } from './edge/services.ts';
import { eligibilityRoutes } from './eligibility/eligibility-routes.ts';
import { eventRoutes } from './events/events-routes.ts';
import { fiatAccountRoutes } from './fiat-accounts/fiat-accounts-routes.ts';
import { pageRoutes } from './pages/pages-routes.ts';
import { sessionRoutes, withdrawalRoutes } from './withdrawals/withdrawals-routes.ts';

export { readGatewayConfig, gatewayConfig, type GatewayConfig } from './config.ts';

export interface GatewayDeps {
  config: GatewayConfig;
  messaging: Messaging;
  log: Logger;
}

export interface GatewayApp {
  http: HttpServer;
  close(): Promise<void>;
}

/** The public HTTP edge: auth, validation, rate limits, OpenAPI, and rpc calls to the services. */
export async function buildGateway(deps: GatewayDeps): Promise<GatewayApp> {
  const { config, messaging, log } = deps;
  const http = createHttpServer({
    log,
    metrics: createMetrics('gateway'),
    bodyLimit: config.BODY_LIMIT_BYTES,
    readiness: readinessOf({ messaging }),
  });
  const services = createServices({ messaging, timeoutMs: config.RPC_TIMEOUT_MS, log });
  await registerOpenApi(http.app);
  await registerAuth(http.app, config);
  await http.app.register(widgetScope(config, services), { prefix: '/psp/alfred' });
  await http.app.register(eventRoutes({ messaging }), { prefix: '/psp/alfred' });
  await http.app.register(pageRoutes({ playground: Boolean(config.DEV_ENDPOINTS && config.DEV_SECRET) }));
  await http.app.register(adminScope(config, services), { prefix: '/api/admin' });
  await http.app.ready();
  let closing: Promise<void> | undefined;
  // Readiness goes 503 first so that load balancers move away; Fastify then finishes the requests in flight.
  const close = async () => {
    http.setDraining();
    await http.app.close();
  };
  return { http, close: () => (closing ??= close()) };
}

/**
 * Everything under /psp/alfred. Hooks run in this order: `identify` (verifies the token, never
 * refuses), the rate limiter (keyed by the verified sub, else the IP), then `requireTrader` (401).
 */
function widgetScope(config: GatewayConfig, services: Services) {
  return async (app: FastifyInstance) => {
    // Bodies are parsed with zod in the handlers so that errors use our envelope; the route
    // schemas only describe the API for OpenAPI.
    app.setValidatorCompiler(() => () => true);
    app.setSerializerCompiler(() => (data) => JSON.stringify(data));
    app.addHook('onRequest', identify);
    await app.register(fastifyRateLimit, {
      max: config.RATE_LIMIT_MAX,
      timeWindow: config.RATE_LIMIT_WINDOW_MS,
      keyGenerator: (request) => (request.trader ? `sub:${request.trader.id}` : `ip:${request.ip}`),
      errorResponseBuilder: (_request, context) =>
        new AppError('RATE_LIMITED', 'Too many requests, slow down', { details: { retryAfterSeconds: Math.ceil(context.ttl / 1000) } }),
    });
    await app.register(async (widget) => {
      widget.addHook('preHandler', requireTrader);
      await widget.register(eligibilityRoutes({ services }));
      await widget.register(fiatAccountRoutes({ services }));
      await widget.register(sessionRoutes({ services }));
      await widget.register(withdrawalRoutes({ services }));
      await widget.register(balanceRoutes({ services }));
    });
    if (config.DEV_ENDPOINTS && config.DEV_SECRET) {
      const canSignTokens = algorithmOf(config) === 'HS256';
      await app.register(devRoutes({ services, secret: config.DEV_SECRET, canSignTokens }), { prefix: '/__dev' });
    }
  };
}
