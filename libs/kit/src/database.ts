import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migration, Migrator } from '@mikro-orm/migrations';
import type { EntityManager } from '@mikro-orm/postgresql';
import { outboxMigration } from './outbox.ts';
import { inboxMigration } from './inbox.ts';

export type { EntityManager };
export { Migration };

export type Database = MikroORM;

export interface DatabaseOptions {
  url: string;
  /** The service's own Postgres schema; every unqualified table name resolves there. */
  schema: string;
  /** The service's migrations, in order; the kit's outbox and inbox tables come first. */
  migrations: { name: string; class: new (...args: never[]) => Migration }[];
  poolMax?: number;
  entities?: Options['entities'];
}

const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/** Connects with `search_path` set to the service schema, so raw SQL stays unqualified. */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (!schemaPattern.test(opts.schema)) throw new Error(`invalid schema name: ${opts.schema}`);
  return MikroORM.init({
    clientUrl: opts.url,
    driverOptions: { options: `-c search_path=${opts.schema}` },
    schema: opts.schema,
    entities: opts.entities ?? [],
    discovery: { warnWhenNoEntities: false },
    extensions: [Migrator],
    pool: { min: 0, max: opts.poolMax ?? 10 },
    allowGlobalContext: false,
    debug: false,
    migrations: {
      tableName: 'schema_migrations',
      schema: opts.schema,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
      migrationsList: [
        { name: '0000_kit_outbox', class: outboxMigration },
        { name: '0001_kit_inbox', class: inboxMigration },
        ...(opts.migrations as { name: string; class: typeof Migration }[]).map((m) => ({
          name: m.name,
          class: m.class as unknown as new (...args: ConstructorParameters<typeof Migration>) => Migration,
        })),
      ],
    },
  });
}

/** Creates the schema when missing and applies pending migrations; concurrent runs serialize on an advisory lock. */
export async function migrate(db: Database): Promise<string[]> {
  const schema = db.config.get('schema')!;
  const em = db.em.fork();
  await em.execute(`create schema if not exists "${schema}"`);
  const conn = db.em.getConnection();
  return conn.transactional(async (trx) => {
    await conn.execute('select pg_advisory_xact_lock(hashtext(?))', [`migrate:${schema}`], 'run', trx);
    const applied = await db.migrator.up();
    return applied.map((m) => m.name);
  });
}

/** A plain, unit-of-work-free handle on the database for raw SQL in a transaction. */
export async function inTransaction<T>(db: Database, fn: (em: EntityManager) => Promise<T>): Promise<T> {
  return db.em.fork().transactional(fn);
}
