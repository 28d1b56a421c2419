import { connectMessaging, createLogger, migrate, provisionStreams, runService } from '@offramp/kit';
import { readRiskConfig } from './config.ts';
import { buildRisk, openRiskDatabase } from './app.ts';

const config = readRiskConfig();
const log = createLogger({ name: 'risk', level: config.LOG_LEVEL });

await runService({
  name: 'risk',
  log,
  graceMs: config.SHUTDOWN_GRACE_MS,
  async start() {
    const db = await openRiskDatabase(config);
    if (process.env.MIGRATE_ON_START === 'true') await migrate(db);
    const messaging = await connectMessaging({ url: config.NATS_URL, name: 'risk', namespace: config.NATS_NAMESPACE, log });
    await provisionStreams(messaging);
    const app = await buildRisk({ config, db, messaging, log });
    const address = await app.http.app.listen({ port: config.PORT, host: config.HOST });
    log.info({ address }, 'risk listening');
    return {
      async close() {
        await app.close();
        await messaging.nc.drain();
        await db.close();
      },
    };
  },
});
