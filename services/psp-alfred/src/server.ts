import { connectMessaging, createLogger, migrate, provisionStreams, runService } from '@offramp/kit';
import { readPspAlfredConfig } from './config.ts';
import { buildPspAlfred, openPspAlfredDatabase } from './app.ts';

const config = readPspAlfredConfig();
const log = createLogger({ name: 'psp-alfred', level: config.LOG_LEVEL });

await runService({
  name: 'psp-alfred',
  log,
  graceMs: config.SHUTDOWN_GRACE_MS,
  async start() {
    const db = await openPspAlfredDatabase(config);
    if (process.env.MIGRATE_ON_START === 'true') await migrate(db);
    const messaging = await connectMessaging({ url: config.NATS_URL, name: 'psp-alfred', namespace: config.NATS_NAMESPACE, log });
    await provisionStreams(messaging);
    const app = await buildPspAlfred({ config, db, messaging, log });
    const address = await app.http.app.listen({ port: config.PORT, host: config.HOST });
    log.info({ address }, 'psp-alfred listening (webhook, health, metrics)');
    return {
      async close() {
        await app.close();
        await messaging.nc.drain();
        await db.close();
      },
    };
  },
});
