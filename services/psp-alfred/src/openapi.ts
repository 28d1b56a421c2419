import type { OpenAPIV3_1 } from 'openapi-types';
import { createHttpServer, createLogger, createMetrics } from '@offramp/kit';
import { registerPspAlfredOpenApi } from './webhooks/webhook-openapi.ts';
import { registerWebhookRoute } from './webhooks/webhook-route.ts';

const unused = new Proxy(
  {},
  {
    get(_target, key) {
      if (key === 'then') return undefined;
      throw new Error(`psp-alfred's OpenAPI document is built without infrastructure (used: ${String(key)})`);
    },
  },
);

/** The document as served, built without a database, NATS or Alfred. */
export async function pspAlfredOpenApiDocument(): Promise<OpenAPIV3_1.Document> {
  const log = createLogger({ name: 'psp-alfred-openapi', level: 'silent' });
  const http = createHttpServer({
    log,
    metrics: createMetrics('psp-alfred'),
    readiness: {},
  });
  await registerPspAlfredOpenApi(http.app);
  registerWebhookRoute(http.app, {
    db: unused as never,
    relay: unused as never,
    // The route reads the logger's level when it is registered; a silent one is all it needs here.
    log,
    secret: 'unused',
    format: 'dot',
    toleranceSeconds: 300,
    fiatTolerancePct: 2,
  });
  await http.app.ready();
  const document = http.app.swagger() as OpenAPIV3_1.Document;
  await http.app.close();
  return document;
}
