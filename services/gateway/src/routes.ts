import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, type Messaging, type Metrics } from '@offramp/kit';
import { adminScope } from './admin/admin-scope.ts';
import { algorithmOf, identify, requireTrader } from './auth/auth.ts';
import { balanceRoutes } from './balances/balances-routes.ts';
import type { GatewayConfig } from './config.ts';
import { devSecretMatches } from './dev/dev-gate.ts';
import { devRoutes } from './dev/dev-routes.ts';
import { beforeBody } from './edge/hooks.ts';
import { rateLimitStoreOption } from './edge/rate-limit-store.ts';
import type { Services } from './edge/services.ts';
import { eligibilityRoutes } from './eligibility/eligibility-routes.ts';
import { eventRoutes } from './events/events-routes.ts';
import { fiatAccountRoutes } from './fiat-accounts/fiat-accounts-routes.ts';
import { pageRoutes } from './pages/pages-routes.ts';
import { partnerScope } from './partners/partner-routes.ts';
import { sessionRoutes, withdrawalRoutes } from './withdrawals/withdrawals-routes.ts';

/**
 * The gateway's routes, as a service's `rpc.ts` lists its rpcs: the widget, QA and operator routes
 * in the protected scope, the event stream (its own auth: a token or a ticket) and the pages.
 */
export function gatewayRoutes(deps: { config: GatewayConfig; services: Services; messaging: Messaging; metrics: Metrics }) {
  return async (app: FastifyInstance) => {
    await app.register(protectedScope(deps.config, deps.services, deps.messaging));
    await app.register(eventRoutes({ messaging: deps.messaging, rateLimitStore: deps.config.RATE_LIMIT_STORE, metrics: deps.metrics }), {
      prefix: '/psp/alfred',
    });
    await app.register(pageRoutes({ playground: Boolean(deps.config.DEV_ENDPOINTS && deps.config.DEV_SECRET) }));
    // The partner API: no JWT; the partner's key and signature (checked in sessions), its own rate limits.
    await app.register(partnerScope(deps.config, deps.services, deps.messaging), { prefix: '/partner/v1' });
  };
}

/**
 * The protected scope: every widget, QA and operator route. It registers authentication and rate
 * limits once. In order: `identify` (onRequest: verifies the bearer token, never refuses), the
 * rate limiter (onRequest of each route: a verified caller's bucket is its `sub`, QA's with the dev
 * secret is one bucket; a request without a valid credential is counted per IP in a bucket apart,
 * with its own smaller limit `RATE_LIMIT_ANON_MAX`; the counts are shared by every replica unless
 * RATE_LIMIT_STORE=memory), then each part's
 * own refusal (`requireTrader`, `requireAdmin`: preParsing, before the body is read or validated).
 */
function protectedScope(config: GatewayConfig, services: Services, messaging: Messaging) {
  return async (app: FastifyInstance) => {
    app.addHook('onRequest', identify);
    const bucketOf = (request: FastifyRequest) => {
      if (request.trader) return `sub:${request.trader.id}`;
      // QA with the dev secret (e.g. minting dev tokens) is a known caller too, in one bucket of its own.
      if (config.DEV_ENDPOINTS && config.DEV_SECRET && devSecretMatches(request.headers['x-dev-secret'], config.DEV_SECRET))
        return 'qa:dev-secret';
      return `anonymous-ip:${request.ip}`;
    };
    await app.register(fastifyRateLimit, {
      ...rateLimitStoreOption(config, messaging, 'api'),
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
    await app.register(adminScope(services, config), { prefix: '/api/admin' });
  };
}
