import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { readinessOf, createHttpServer, createMetrics, type HttpServer, type ServiceDeps } from '@offramp/kit';
import { registerAuth } from './auth/auth.ts';
import type { GatewayConfig } from './config.ts';
import { registerCors } from './edge/cors.ts';
import { registerOpenApi, type OpenApiOptions } from './edge/openapi.ts';
import { createServices } from './edge/services.ts';
import { gatewayRoutes } from './routes.ts';

export { readGatewayConfig, gatewayConfig, type GatewayConfig } from './config.ts';
export { gatewayOpenApiDocument } from './edge/openapi-document.ts';

/** The standard service deps but the database (the gateway has none) and the test hooks (nothing to hook). */
export interface GatewayDeps extends Omit<ServiceDeps<GatewayConfig>, 'db' | 'hooks'> {
  openApi?: OpenApiOptions;
}

export interface GatewayApp {
  http: HttpServer;
  close(): Promise<void>;
}

/**
 * The public HTTP edge: auth, validation, rate limits, CORS, OpenAPI, and rpc calls to the
 * services. It has no database, no consumers and no outbox, so it does not use the kit's
 * `startService`; its HTTP server is the kit's all the same (error envelope, `/readyz` on NATS).
 */
export async function buildGateway(deps: GatewayDeps): Promise<GatewayApp> {
  const { config, messaging, log } = deps;
  const metrics = createMetrics('gateway');
  const http = createHttpServer({
    log,
    metrics,
    bodyLimit: config.BODY_LIMIT_BYTES,
    readiness: readinessOf({ messaging }),
    // `request.ip` (rate limits, logs) is the client behind the proxies TRUST_PROXY names.
    trustProxy: config.TRUST_PROXY,
  });
  // Every route's zod schemas validate its input and check its answer (fastify-type-provider-zod).
  http.app.setValidatorCompiler(validatorCompiler);
  http.app.setSerializerCompiler(serializerCompiler);
  const services = createServices({ messaging, timeoutMs: config.RPC_TIMEOUT_MS, log });
  await registerCors(http.app, config.CORS_ORIGINS);
  await registerOpenApi(http.app, deps.openApi);
  await registerAuth(http.app, config);
  await http.app.register(gatewayRoutes({ config, services, messaging, metrics }));
  await http.app.ready();
  let closing: Promise<void> | undefined;
  // Readiness goes 503 first so that load balancers move away; Fastify then finishes the requests in flight.
  const close = async () => {
    http.setDraining();
    await http.app.close();
  };
  return { http, close: () => (closing ??= close()) };
}
