import { connectMessaging, createLogger, migrate, provisionStreams, runService } from '@offramp/kit';
import { readLedgerConfig } from './config.ts';
import { buildLedger, openLedgerDatabase } from './app.ts';

const config = readLedgerConfig();
const log = createLogger({ name: 'ledger', level: config.LOG_LEVEL });

await runService({
  name: 'ledger',
  log,
  graceMs: config.SHUTDOWN_GRACE_MS,
  async start() {
    const db = await openLedgerDatabase(config);
    if (process.env.MIGRATE_ON_START === 'true') await migrate(db);
    const messaging = await connectMessaging({ url: config.NATS_URL, name: 'ledger', namespace: config.NATS_NAMESPACE, log });
    await provisionStreams(messaging);
    const app = await buildLedger({ config, db, messaging, log });
    const address = await app.http.app.listen({ port: config.PORT, host: config.HOST });
    log.info({ address }, 'ledger listening');
    return {
      async close() {
        await app.close();
        await messaging.nc.drain();
        await db.close();
      },
    };
  },
});
