import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  baseConfig,
  createHttpServer,
  createMetrics,
  deleteStreams,
  loadConfig,
  Migration,
  openDatabase,
  readinessOf,
  startDatabaseService,
  type Database,
  type Messaging,
} from '../src/index.ts';
import { testInfra, testLogger, uniqueName } from '../src/testing.ts';

class Widgets extends Migration {
  override up(): void {
    this.addSql('create table widgets (id int primary key)');
  }
}

const config = z.object({ ...baseConfig.shape, PORT: z.coerce.number().int().default(0), DB_SCHEMA: z.string() });

/** Starts a tiny service through the kit's process start, reading its configuration from `env` only. */
async function start(env: Record<string, string>) {
  const schema = uniqueName('lifecycle_t');
  const c = loadConfig(config, {
    DATABASE_URL: testInfra().databaseUrl,
    NATS_URL: testInfra().natsUrl,
    NATS_NAMESPACE: uniqueName('t').toLowerCase(),
    DB_SCHEMA: schema,
    ...env,
  });
  let messaging: Messaging | undefined;
  let database: Database | undefined;
  const running = await startDatabaseService({
    name: 'lifecycle-test',
    config: c,
    log: testLogger('lifecycle-test'),
    openDatabase: async (cfg) =>
      (database = await openDatabase({
        url: cfg.DATABASE_URL,
        schema: cfg.DB_SCHEMA,
        migrations: [{ name: '0001_widgets', class: Widgets }],
        poolMax: 2,
      })),
    build: async (deps) => {
      messaging = deps.messaging;
      const http = createHttpServer({ log: deps.log, metrics: createMetrics('lifecycle_test'), readiness: readinessOf(deps) });
      return { http, close: () => http.app.close() };
    },
  });
  /** Whether the service's migration ran: its table exists in the service's schema. */
  const migrated = async () =>
    (
      await database!.em
        .fork()
        .execute("select 1 from information_schema.tables where table_schema = ? and table_name = 'widgets'", [schema])
    ).length > 0;
  return {
    running,
    migrated,
    async cleanup() {
      await deleteStreams(messaging!);
      // Closes the app, NATS and the database, as a SIGTERM would; the schema is dropped through a connection of its own.
      const admin = await openDatabase({ url: testInfra().databaseUrl, schema, migrations: [], poolMax: 1 });
      await running.close();
      await admin.em.fork().execute(`drop schema if exists "${schema}" cascade`);
      await admin.close();
    },
  };
}

describe('a database service process', () => {
  const cleanups: (() => Promise<void>)[] = [];
  const saved = process.env.MIGRATE_ON_START;
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
    if (saved === undefined) delete process.env.MIGRATE_ON_START;
    else process.env.MIGRATE_ON_START = saved;
  });

  it('when its configuration says MIGRATE_ON_START=true, then its schema is migrated before it listens, and it answers ready', async () => {
    const service = await start({ MIGRATE_ON_START: 'true' });
    cleanups.push(service.cleanup);
    expect(await service.migrated()).toBe(true);
    expect(service.running.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${service.running.address}/readyz`)).status).toBe(200);
  });

  it('when the process environment says MIGRATE_ON_START=true but its configuration does not, then nothing is migrated: the configuration decides', async () => {
    process.env.MIGRATE_ON_START = 'true';
    const service = await start({});
    cleanups.push(service.cleanup);
    expect(await service.migrated()).toBe(false);
  });
});
