import { connectMessaging, createLogger, migrate, provisionStreams, runService } from '@offramp/kit';
import { readSessionsConfig } from './config.ts';
import { buildSessions, openSessionsDatabase } from './app.ts';

const config = readSessionsConfig();
const log = createLogger({ name: 'sessions', level: config.LOG_LEVEL });

await runService({
  name: 'sessions',
  log,
  graceMs: config.SHUTDOWN_GRACE_MS,
  async start() {
    const db = await openSessionsDatabase(config);
    if (process.env.MIGRATE_ON_START === 'true') await migrate(db);
    const messaging = await connectMessaging({ url: config.NATS_URL, name: 'sessions', namespace: config.NATS_NAMESPACE, log });
    await provisionStreams(messaging);
    const app = await buildSessions({ config, db, messaging, log });
    const address = await app.http.app.listen({ port: config.PORT, host: config.HOST });
    log.info({ address }, 'sessions listening');
    return {
      async close() {
        await app.close();
        await messaging.nc.drain();
        await db.close();
      },
    };
  },
});
