import { connectMessaging, createLogger, runService } from '@offramp/kit';
import { readGatewayConfig } from './config.ts';
import { algorithmOf } from './auth/auth.ts';
import { buildGateway } from './app.ts';

const config = readGatewayConfig();
const log = createLogger({ name: 'gateway', level: config.LOG_LEVEL });

await runService({
  name: 'gateway',
  log,
  graceMs: config.SHUTDOWN_GRACE_MS,
  async start() {
    const messaging = await connectMessaging({ url: config.NATS_URL, name: 'gateway', namespace: config.NATS_NAMESPACE, log });
    const app = await buildGateway({ config, messaging, log });
    const address = await app.http.app.listen({ port: config.PORT, host: config.HOST });
    // Settings worth seeing at start; secrets are never logged.
    log.info({ address, jwtAlgorithm: algorithmOf(config), devEndpoints: config.DEV_ENDPOINTS, rateLimitMax: config.RATE_LIMIT_MAX }, 'gateway listening');
    return {
      async close() {
        await app.close();
        await messaging.nc.drain();
      },
    };
  },
});
