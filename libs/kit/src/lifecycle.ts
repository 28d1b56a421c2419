import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { createLogger, type Logger } from './logger.ts';
import { migrate, type Database } from './database.ts';
import { connectMessaging, provisionStreams, type Messaging } from './nats.ts';

export interface Running {
  /** Stops taking work, finishes what is in flight, releases connections. */
  close(): Promise<void>;
}

/**
 * Runs a service until SIGINT/SIGTERM, then closes it within `graceMs`; a second signal or the
 * grace running out exits at once.
 */
export async function runService(opts: { name: string; log: Logger; graceMs: number; start: () => Promise<Running> }): Promise<void> {
  let running: Running | undefined;
  closeWithGrace({ delay: opts.graceMs, logger: opts.log }, async ({ signal, err }) => {
    if (err) opts.log.error({ err }, `${opts.name}: closing after an error`);
    else opts.log.info({ signal }, `${opts.name}: closing`);
    await running?.close();
    opts.log.info(`${opts.name}: closed`);
  });
  running = await opts.start();
}

interface ProcessConfig {
  LOG_LEVEL: string;
  SHUTDOWN_GRACE_MS: number;
  NATS_URL: string;
  NATS_NAMESPACE: string;
  NATS_STREAM_REPLICAS: number;
  PORT: number;
  HOST: string;
}

/**
 * The process of a service that owns a database schema: open it (migrating when
 * MIGRATE_ON_START=true), connect to NATS, provision the streams, build the app, listen; on
 * SIGTERM close the app (it drains), then NATS, then the database.
 */
export async function runDatabaseService<C extends ProcessConfig, A extends { http: { app: FastifyInstance }; close(): Promise<void> }>(opts: {
  name: string;
  config: C;
  openDatabase: (config: C) => Promise<Database>;
  build: (deps: { config: C; db: Database; messaging: Messaging; log: Logger }) => Promise<A>;
}): Promise<void> {
  const { name, config } = opts;
  const log = createLogger({ name, level: config.LOG_LEVEL });
  await runService({
    name,
    log,
    graceMs: config.SHUTDOWN_GRACE_MS,
    async start() {
      const db = await opts.openDatabase(config);
      if (process.env.MIGRATE_ON_START === 'true') await migrate(db);
      const messaging = await connectMessaging({ url: config.NATS_URL, name, namespace: config.NATS_NAMESPACE, log });
      await provisionStreams(messaging, { replicas: config.NATS_STREAM_REPLICAS });
      const app = await opts.build({ config, db, messaging, log });
      const address = await app.http.app.listen({ port: config.PORT, host: config.HOST });
      log.info({ address }, `${name} listening`);
      return {
        async close() {
          await app.close();
          await messaging.nc.drain();
          await db.close();
        },
      };
    },
  });
}
