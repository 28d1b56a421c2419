import { runMessagingService } from '@offramp/kit';
import { buildGateway, readGatewayConfig } from './app.ts';
import { algorithmOf } from './auth/auth.ts';

const config = readGatewayConfig();

// Settings worth seeing at start go into the listening line; secrets are never logged.
await runMessagingService({
  name: 'gateway',
  config,
  build: buildGateway,
  listening: {
    jwtAlgorithm: algorithmOf(config),
    jwks: Boolean(config.JWT_JWKS_URL),
    devEndpoints: config.DEV_ENDPOINTS,
    rateLimitMax: config.RATE_LIMIT_MAX,
    rateLimitStore: config.RATE_LIMIT_STORE,
    trustProxy: config.TRUST_PROXY,
  },
});
