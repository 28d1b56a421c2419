import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { readinessOf, AppError, createHttpServer, createMetrics, type HttpServer, type Logger, type Messaging } from '@offramp/kit';
import { adminScope } from './admin/admin-scope.ts';
import { algorithmOf, identify, registerAuth, requireTrader } from './auth/auth.ts';
import { balanceRoutes } from './balances/balances-routes.ts';
import type { GatewayConfig } from './config.ts';
import { devSecretMatches } from './dev/dev-gate.ts';
import { devRoutes } from './dev/dev-routes.ts';
import { registerCors } from './edge/cors.ts';
import { beforeBody } from './edge/hooks.ts';
import { registerOpenApi, type OpenApiOptions } from './edge/openapi.ts';
import { createServices, type Services } from './edge/services.ts';
import { eligibilityRoutes } from './eligibility/eligibility-routes.ts';
import { eventRoutes } from './events/events-routes.ts';
import { fiatAccountRoutes } from './fiat-accounts/fiat-accounts-routes.ts';
import { pageRoutes } from './pages/pages-routes.ts';
import { sessionRoutes, withdrawalRoutes } from './withdrawals/withdrawals-routes.ts';

export { readGatewayConfig, gatewayConfig, type GatewayConfig } from './config.ts';
export { gatewayOpenApiDocument } from './openapi-document.ts';

export interface GatewayDeps {
  config: GatewayConfig;
  messaging: Messaging;
  log: Logger;
  openApi?: OpenApiOptions;
}

export interface GatewayApp {
  http: HttpServer;
  close(): Promise<void>;
}

/** The public HTTP edge: auth, validation, rate limits, CORS, OpenAPI, and rpc calls to the services. */
export async function buildGateway(deps: GatewayDeps): Promise<GatewayApp> {
  const { config, messaging, log } = deps;
  const http = createHttpServer({
    log,
    metrics: createMetrics('gateway'),
    bodyLimit: config.BODY_LIMIT_BYTES,
    readiness: readinessOf({ messaging }),
  });
  // Every route's zod schemas validate its input and check its answer (fastify-type-provider-zod).
  http.app.setValidatorCompiler(validatorCompiler);
  http.app.setSerializerCompiler(serializerCompiler);
  const services = createServices({ messaging, timeoutMs: config.RPC_TIMEOUT_MS, log });
  await registerCors(http.app, config.CORS_ORIGINS);
  await registerOpenApi(http.app, deps.openApi);
  await registerAuth(http.app, config);
  await http.app.register(protectedScope(config, services));
  await http.app.register(eventRoutes({ messaging }), { prefix: '/psp/alfred' });
  await http.app.register(pageRoutes({ playground: Boolean(config.DEV_ENDPOINTS && config.DEV_SECRET) }));
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
 * The protected scope: every widget, QA and operator route. It registers authentication and rate
 * limits once. In order: `identify` (onRequest: verifies the bearer token, never refuses), the
 * rate limiter (onRequest of each route: a verified caller's bucket is its `sub`, QA's with the dev
 * secret is one bucket; a request without a valid credential is counted per IP in a bucket apart,
 * with its own smaller limit `RATE_LIMIT_ANON_MAX`), then each part's
 * own refusal (`requireTrader`, `requireAdmin`: preParsing, before the body is read or validated).
 */
function protectedScope(config: GatewayConfig, services: Services) {
  return async (app: FastifyInstance) => {
    app.addHook('onRequest', identify);
    const bucketOf = (request: FastifyRequest) => {
      if (request.trader) return `sub:${request.trader.id}`;
      // QA with the dev secret (e.g. minting dev tokens) is a known caller too, in one bucket of its own.
      if (config.DEV_ENDPOINTS && config.DEV_SECRET && devSecretMatches(request.headers['x-dev-secret'], config.DEV_SECRET)) return 'qa:dev-secret';
      return `anonymous-ip:${request.ip}`;
    };
    await app.register(fastifyRateLimit, {
      timeWindow: config.RATE_LIMIT_WINDOW_MS,
      keyGenerator: bucketOf,
      max: (_request, key) => (key.startsWith('anonymous-ip:') ? config.RATE_LIMIT_ANON_MAX : config.RATE_LIMIT_MAX),
      errorResponseBuilder: (_request, context) =>
        new AppError('RATE_LIMITED', 'Too many requests, slow down', { details: { retryAfterSeconds: Math.ceil(context.ttl / 1000) } }),
    });
    await app.register(
      async (widget) => {
        widget.addHook('preParsing', beforeBody(requireTrader));
        await widget.register(eligibilityRoutes({ services }));
        await widget.register(fiatAccountRoutes({ services }));
        await widget.register(sessionRoutes({ services }));
        await widget.register(withdrawalRoutes({ services }));
        await widget.register(balanceRoutes({ services }));
      },
      { prefix: '/psp/alfred' },
    );
    if (config.DEV_ENDPOINTS && config.DEV_SECRET) {
      const canSignTokens = algorithmOf(config) === 'HS256';
      await app.register(devRoutes({ services, secret: config.DEV_SECRET, canSignTokens }), { prefix: '/psp/alfred/__dev' });
    }
    await app.register(adminScope(services), { prefix: '/api/admin' });
  };
}
