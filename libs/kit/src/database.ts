import type { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migration, Migrator } from '@mikro-orm/migrations';
import type { EntityManager } from '@mikro-orm/postgresql';
import { databaseTimeoutsConfig, loadConfig } from './config.ts';
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
  /** Missing ones come from the environment (`DB_*_TIMEOUT_MS`, see `databaseTimeoutsConfig`). */
  timeouts?: Partial<DatabaseTimeouts>;
  entities?: Options['entities'];
}

/** How long the database may keep a caller waiting; every wait on it is bounded by one of these. */
export interface DatabaseTimeouts {
  /** Longest wait for a connection, from the pool or a new one. */
  acquireMs: number;
  /** Longest a new connection may take to be established (within the acquire timeout). */
  connectMs: number;
  /** Server-side `statement_timeout`. */
  statementMs: number;
  /** Server-side `idle_in_transaction_session_timeout`. */
  idleInTransactionMs: number;
}

/** The timeouts the environment asks for (or the defaults); fails naming a bad variable. */
export function databaseTimeoutsFromEnv(env: Record<string, string | undefined> = process.env): DatabaseTimeouts {
  const c = loadConfig(databaseTimeoutsConfig, env);
  return {
    acquireMs: c.DB_ACQUIRE_TIMEOUT_MS,
    connectMs: c.DB_CONNECT_TIMEOUT_MS,
    statementMs: c.DB_STATEMENT_TIMEOUT_MS,
    idleInTransactionMs: c.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  };
}

const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/** Connections the pool keeps however idle it is, and how long one beyond them may stay idle. */
const poolMin = 2;
const poolIdleTimeoutMs = 30_000;

/** Connects with `search_path` set to the service schema, so raw SQL stays unqualified. */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (!schemaPattern.test(opts.schema)) throw new Error(`invalid schema name: ${opts.schema}`);
  const timeouts = { ...databaseTimeoutsFromEnv(), ...opts.timeouts };
  return MikroORM.init({
    clientUrl: opts.url,
    // MikroORM 7 runs on kysely over a `pg` Pool; these go to that pool (and each of its clients).
    driverOptions: {
      // Prepared statements (the kit's bound texts, plpgsql's) keep one generic plan per connection:
      // with the default mode Postgres plans a statement for its values on each of its first five
      // runs on a connection and, where the generic plan's estimate is the higher, on every run
      // after (measured on bench:statements: the initiation planned on 4 calls in 5, 2.5 ms each).
      // Every prepared text is a fixed statement of this code base, found by keys and indexes the
      // same whatever the values. Statements sent with their values inlined are planned as before.
      options: `-c search_path=${opts.schema} -c plan_cache_mode=force_generic_plan`,
      // pg-pool bounds both the wait for a pooled client and the connect of a new one by this.
      connectionTimeoutMillis: Math.max(timeouts.acquireMs, timeouts.connectMs),
      statement_timeout: timeouts.statementMs,
      idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
      keepAlive: true,
      onPoolCreated: (pool: PgPool) => healPool(pool, timeouts),
    },
    schema: opts.schema,
    entities: opts.entities ?? [],
    discovery: { warnWhenNoEntities: false },
    extensions: [Migrator],
    // Kept open however idle: the relay's and the loops' polls reuse them instead of connecting
    // anew (with a minimum of 0 a backend was started every few seconds once a burst had grown the
    // pool); connections beyond the minimum close after a quiet half minute.
    pool: { min: Math.min(poolMin, opts.poolMax ?? 10), max: opts.poolMax ?? 10, idleTimeoutMillis: poolIdleTimeoutMs },
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
    // A migration may rightly run longer than any request (an index on a big table): no statement
    // timeout for it. So that this applies, the migrations run in this very transaction.
    await conn.execute('set local statement_timeout = 0', [], 'run', trx);
    const applied = await db.migrator.up({ transaction: trx });
    return applied.map((m) => m.name);
  });
}

/** A plain, unit-of-work-free handle on the database for raw SQL in a transaction. */
export async function inTransaction<T>(db: Database, fn: (em: EntityManager) => Promise<T>): Promise<T> {
  return db.em.fork().transactional(fn);
}

/** The slices of `pg`'s Pool and Client this module relies on (the kit does not depend on `pg` directly). */
interface PgClient extends EventEmitter {
  release?: (err?: Error | boolean) => void;
  query(...args: unknown[]): unknown;
}

/** Statement texts sent as named prepared statements, by text; at most `maxPrepared` of them. */
const preparedNames = new Map<string, string>();
/** Their lengths: a text of another length is not looked up (hashing a long inlined statement costs). */
const preparedLengths = new Set<number>();
const maxPrepared = 256;

/**
 * Marks a statement text, sent with its parameters bound, to be a named prepared statement on every
 * connection of every pool of this process: Postgres parses it once per connection and, after its
 * first five runs, keeps one generic plan when that costs no more than the custom ones (the
 * default `plan_cache_mode`), instead of planning it again on every call (measured: planning was
 * the largest share of Postgres's CPU per withdrawal that work could remove). Only fixed texts
 * belong here (their values are parameters), and only so many: past `maxPrepared` distinct texts a
 * text is sent unnamed, as before.
 */
export function preparedName(text: string): string | undefined {
  let name = preparedNames.get(text);
  if (name === undefined && preparedNames.size < maxPrepared) {
    name = `offramp_${preparedNames.size + 1}`;
    preparedNames.set(text, name);
    preparedLengths.add(text.length);
  }
  return name;
}
/** Postgres's refusal of a prepared statement whose result type a schema change altered (SQLSTATE 0A000). */
function isStalePlan(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === '0A000' && typeof e.message === 'string' && e.message.includes('cached plan must not change result type');
}

type PgClientClass = new (config: Record<string, unknown>) => PgClient;
interface PgPool extends EventEmitter {
  Client: PgClientClass;
}

/**
 * Makes a pool that never keeps a dead connection.
 *
 * kysely (under MikroORM) gives a transaction's connection back only after its COMMIT or ROLLBACK
 * succeeded. When Postgres ends the session in the middle of a transaction (`pg_terminate_backend`,
 * a restart, `idle_in_transaction_session_timeout`), the ROLLBACK fails too, so the client stays
 * checked out forever: a pool of 4 and 4 such transactions, and every later query waits for a
 * connection that never comes. Here a client whose connection ended while checked out releases
 * itself to pg-pool as broken (pg-pool then drops it and opens a new one on demand); the release
 * the library may still make later is a no-op. Idle clients that die are already dropped by
 * pg-pool itself.
 */
function healPool(pool: PgPool, timeouts: DatabaseTimeouts): void {
  const Base = pool.Client;
  pool.Client = class HealingClient extends Base {
    #release: ((err?: Error | boolean) => void) | undefined;
    #checkedOut = false;
    /** A prepared statement of this connection no longer fits its tables (see `query`): dropped at release. */
    #stalePlan: Error | undefined;

    constructor(config: Record<string, unknown>) {
      // Copied with descriptors: pg-pool keeps the password as a non-enumerable property.
      super(
        Object.defineProperties(
          {},
          { ...Object.getOwnPropertyDescriptors(config), connectionTimeoutMillis: { value: timeouts.connectMs, enumerable: true } },
        ),
      );
      this.on('end', () => {
        if (this.#checkedOut) this.release?.(new Error('database connection ended while checked out'));
      });
    }

    // A statement the kit sends with bound parameters (`queryRowsBound`, `executeBound`) goes as a
    // named prepared statement: parsed once per connection, and planned once Postgres finds its
    // generic plan as good as the custom ones (see `preparedName`). A statement with parameters
    // is four or five protocol messages (parse, bind, describe, execute, sync), each its own
    // socket write in pg; the socket is corked while they are written, so they leave in one
    // (measured: 21.6 -> 7.8 µs of CPU per statement's writes on this machine class).
    override query(...args: unknown[]): unknown {
      const [text, values, callback] = args;
      const query = super.query as (...a: unknown[]) => unknown;
      if (typeof text !== 'string' || !Array.isArray(values)) return query.apply(this, args);
      const name = preparedLengths.has(text.length) ? preparedNames.get(text) : undefined;
      // Without parameters and unprepared: one simple-query message, one write already.
      if (name === undefined && values.length === 0) return query.apply(this, args);
      const stream = (this as { connection?: { stream?: Writable } }).connection?.stream;
      stream?.cork();
      try {
        if (name === undefined) return query.apply(this, args);
        const result = query.call(this, { name, text, values }, ...(callback === undefined ? [] : [callback]));
        // A migration that changes what a prepared statement returns (a column's type, say) makes
        // Postgres refuse it on every connection that prepared it before: "cached plan must not
        // change result type", until that connection ends. Such a connection is dropped when it is
        // given back, so the caller's retry (a redelivery, the next request) prepares it afresh on
        // a new one: a rolling deploy's old processes heal instead of failing forever.
        if (result instanceof Promise)
          result.catch((err: unknown) => {
            if (isStalePlan(err)) this.#stalePlan = err as Error;
          });
        return result;
      } finally {
        if (stream) process.nextTick(() => stream.uncork());
      }
    }

    // pg-pool lends a client by assigning its `release`; wrap each one so it runs once, and as
    // broken once the connection has ended, whoever calls it first.
    override set release(fn: ((err?: Error | boolean) => void) | undefined) {
      this.#checkedOut = fn !== undefined;
      this.#release = fn;
    }

    override get release(): ((err?: Error | boolean) => void) | undefined {
      const fn = this.#release;
      if (!fn) return undefined;
      return (err?: Error | boolean) => {
        if (!this.#checkedOut) return;
        this.#checkedOut = false;
        fn(err || this.#stalePlan);
      };
    }
  };
}
