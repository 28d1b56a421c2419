import type { OpenAPIV3_1 } from 'openapi-types';
import { createLogger, type Messaging } from '@offramp/kit';
import { buildGateway } from '../app.ts';
import { readGatewayConfig } from '../config.ts';

/** Stands in for NATS while the document is built: building routes never sends a message. */
const noMessaging = new Proxy({} as Messaging, {
  get(_target, key) {
    if (key === 'then') return undefined;
    throw new Error(`the gateway's OpenAPI document is built without NATS (used: messaging.${String(key)})`);
  },
});

/**
 * The gateway's OpenAPI document as `/docs/json` serves it, with the QA routes (as with
 * DEV_ENDPOINTS=true), built without NATS or any network.
 */
export async function gatewayOpenApiDocument(): Promise<OpenAPIV3_1.Document> {
  const config = readGatewayConfig({
    JWT_SECRET: 'openapi-document-only-secret-0123456789',
    DEV_ENDPOINTS: 'true',
    DEV_SECRET: 'openapi-document-only',
  });
  const app = await buildGateway({ config, messaging: noMessaging, log: createLogger({ name: 'gateway-openapi', level: 'silent' }) });
  try {
    return app.http.app.swagger() as OpenAPIV3_1.Document;
  } finally {
    await app.close();
  }
}
