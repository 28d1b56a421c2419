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
  // Set once started: a signal during the start has nothing to close yet.
  const started: { running?: Running } = {};
  closeWithGrace({ delay: opts.graceMs, logger: opts.log }, async ({ signal, err }) => {
    if (err) opts.log.error({ err }, `${opts.name}: closing after an error`);
    else opts.log.info({ signal }, `${opts.name}: closing`);
    await started.running?.close();
    opts.log.info(`${opts.name}: closed`);
  });
  started.running = await opts.start();
}

/** What every service process reads from its configuration to run. */
interface ProcessConfig {
  LOG_LEVEL: string;
  SHUTDOWN_GRACE_MS: number;
  NATS_URL: string;
  NATS_NAMESPACE: string;
  PORT: number;
  HOST: string;
}

/** What a service that owns a database schema reads besides (`baseConfig` has them all). */
interface DatabaseProcessConfig extends ProcessConfig {
  NATS_STREAM_REPLICAS: number;
  MIGRATE_ON_START: boolean;
}

/** The app a service builds: an HTTP server to listen on, and a close that drains it. */
interface ServiceApp {
  http: { app: FastifyInstance };
  close(): Promise<void>;
}

/** Listens on the configured host and port, logging the address (and `fields`: settings worth seeing at start, never secrets). */
async function listen(
  app: ServiceApp,
  config: ProcessConfig,
  log: Logger,
  name: string,
  fields: Record<string, unknown> = {},
): Promise<string> {
  const address = await app.http.app.listen({ port: config.PORT, host: config.HOST });
  log.info({ address, ...fields }, `${name} listening`);
  return address;
}

/**
 * Starts a service that owns a database schema: open it (migrating it first when the
 * configuration says MIGRATE_ON_START), connect to NATS, provision the streams, build the app,
 * listen. `close` closes the app (it drains), then NATS, then the database.
 */
export async function startDatabaseService<C extends DatabaseProcessConfig, A extends ServiceApp>(opts: {
  name: string;
  config: C;
  log: Logger;
  openDatabase: (config: C) => Promise<Database>;
  build: (deps: { config: C; db: Database; messaging: Messaging; log: Logger }) => Promise<A>;
}): Promise<Running & { app: A; address: string }> {
  const { name, config, log } = opts;
  const db = await opts.openDatabase(config);
  if (config.MIGRATE_ON_START) await migrate(db);
  const messaging = await connectMessaging({ url: config.NATS_URL, name, namespace: config.NATS_NAMESPACE, log });
  await provisionStreams(messaging, { replicas: config.NATS_STREAM_REPLICAS });
  const app = await opts.build({ config, db, messaging, log });
  const address = await listen(app, config, log, name);
  return {
    app,
    address,
    async close() {
      await app.close();
      await messaging.nc.drain();
      await db.close();
    },
  };
}

/** The process of a service that owns a database schema (`startDatabaseService`), until SIGINT/SIGTERM. */
export async function runDatabaseService<C extends DatabaseProcessConfig, A extends ServiceApp>(opts: {
  name: string;
  config: C;
  openDatabase: (config: C) => Promise<Database>;
  build: (deps: { config: C; db: Database; messaging: Messaging; log: Logger }) => Promise<A>;
}): Promise<void> {
  const log = createLogger({ name: opts.name, level: opts.config.LOG_LEVEL });
  await runService({ name: opts.name, log, graceMs: opts.config.SHUTDOWN_GRACE_MS, start: () => startDatabaseService({ ...opts, log }) });
}

/**
 * The process of a service with no database of its own (the gateway): connect to NATS, build the
 * app, listen; on SIGTERM close the app (it drains), then NATS. `listening` adds settings worth
 * seeing at start to the listening log line (never secrets).
 */
export async function runMessagingService<C extends ProcessConfig, A extends ServiceApp>(opts: {
  name: string;
  config: C;
  build: (deps: { config: C; messaging: Messaging; log: Logger }) => Promise<A>;
  listening?: Record<string, unknown>;
}): Promise<void> {
  const { name, config } = opts;
  const log = createLogger({ name, level: config.LOG_LEVEL });
  await runService({
    name,
    log,
    graceMs: config.SHUTDOWN_GRACE_MS,
    async start() {
      const messaging = await connectMessaging({ url: config.NATS_URL, name, namespace: config.NATS_NAMESPACE, log });
      const app = await opts.build({ config, messaging, log });
      await listen(app, config, log, name, opts.listening);
      return {
        async close() {
          await app.close();
          await messaging.nc.drain();
        },
      };
    },
  });
}
