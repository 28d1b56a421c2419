import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { connectMessaging, deleteStreams, provisionStreams, type Messaging } from './nats.ts';
import { createLogger, type Logger } from './logger.ts';
import { migrate, type Database, type EntityManager } from './database.ts';
import { verifyChain, type HashChain } from './hash-chain.ts';
import { callRpc } from './rpc.ts';
import { queryRow, queryRows } from './sql.ts';
import { freePort } from './testing-postgres.ts';
import { streams, type RpcDef } from '@offramp/contracts';
import { z } from 'zod';

/** Test helpers: where the infrastructure is, and names no other test uses. */
export function testInfra(): { databaseUrl: string; natsUrl: string } {
  return { databaseUrl: inject('databaseUrl'), natsUrl: inject('natsUrl') };
}

export const uniqueName = (prefix: string) => `${prefix}_${randomBytes(5).toString('hex')}`;

export const testLogger = (name: string): Logger => createLogger({ name, level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A NATS connection under a namespace of its own, with its streams provisioned. */
export async function testMessaging(name: string): Promise<Messaging & { cleanup(): Promise<void> }> {
  const namespace = uniqueName('t').toLowerCase();
  const m = await connectMessaging({ url: testInfra().natsUrl, name, namespace, log: testLogger(name) });
  await provisionStreams(m);
  return Object.assign(m, {
    async cleanup() {
      await deleteStreams(m);
      await m.nc.drain();
    },
  });
}

/**
 * The one polling helper of the tests: checks `check` until it returns a value other than
 * `undefined` (or `true` for a predicate), or fails after `timeoutMs` naming what it waited for and
 * the last value seen. It synchronises on a condition, never on elapsed time.
 */
export async function eventually<T>(
  what: string | (() => string),
  check: () => T | undefined | false | Promise<T | undefined | false>,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<Exclude<T, false>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as Exclude<T, false>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}

/** What is still in flight: unsent outbox rows per schema, undelivered or unacknowledged messages per consumer. */
export interface Backlog {
  outbox: Record<string, number>;
  consumers: Record<string, { pending: number; ackPending: number }>;
}

/** Reads the backlog of the given databases' outboxes and of every durable consumer of the namespace's streams. */
export async function backlogOf(opts: { databases: Database[]; messaging: Messaging }): Promise<Backlog> {
  const outbox: Backlog['outbox'] = {};
  for (const db of opts.databases) {
    const row = await queryRow(db.em.fork(), z.object({ n: z.number() }), 'select count(*)::int as n from outbox where sent_at is null');
    outbox[db.config.get('schema') ?? 'public'] = row?.n ?? 0;
  }
  const consumers: Backlog['consumers'] = {};
  const { jsm } = opts.messaging;
  for (const stream of [streams.events.name, streams.commands.name]) {
    const name = opts.messaging.streamName(stream);
    const infos = await jsm.consumers
      .list(name)
      .next()
      .catch(() => []);
    for (const info of infos) consumers[`${stream}/${info.name}`] = { pending: info.num_pending, ackPending: info.num_ack_pending };
  }
  return { outbox, consumers };
}

const isQuiet = (b: Backlog) =>
  Object.values(b.outbox).every((n) => n === 0) && Object.values(b.consumers).every((c) => c.pending === 0 && c.ackPending === 0);

/**
 * Waits until the system has nothing left to do: every outbox drained and every durable consumer
 * with nothing pending nor unacknowledged, seen twice in a row (a handler that committed between
 * two reads shows up as new backlog in the second). "Nothing happened" assertions run after it:
 * whatever a message could have caused has happened by then. Timers (sweepers, reconcilers) are
 * not covered: a test that depends on one waits for its effect instead.
 */
export async function waitUntilQuiet(opts: { databases: Database[]; messaging: Messaging; timeoutMs?: number }): Promise<void> {
  let last: Backlog | undefined;
  let quietReads = 0;
  await eventually(
    () => `a quiet system; last backlog: ${JSON.stringify(last)}`,
    async () => {
      last = await backlogOf(opts);
      quietReads = isQuiet(last) ? quietReads + 1 : 0;
      return quietReads >= 2;
    },
    { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 20 },
  );
}

/** The app a test starts: anything that closes. */
interface Closable {
  close(): Promise<void>;
}

/**
 * The one way a service's tests start it: on a schema and NATS namespace of its own against the
 * real Postgres and NATS, migrated, with `restart` (close, then build again on the same schema, as
 * a process restart would) and `cleanup` (close, drop the schema, delete the streams).
 */
export async function startTestService<C extends { DB_SCHEMA: string }, A extends Closable, H = undefined>(opts: {
  name: string;
  readConfig: (env: Record<string, string>) => C;
  env?: Record<string, string>;
  openDatabase: (config: C) => Promise<Database>;
  build: (deps: { config: C; db: Database; messaging: Messaging; log: Logger; hooks?: H }) => Promise<A>;
  hooks?: H;
  /** A namespace shared with other services of the same test; its owner cleans it up. */
  messaging?: Messaging;
}) {
  const { databaseUrl, natsUrl } = testInfra();
  const own = opts.messaging ? null : await testMessaging(`${opts.name}-test`);
  const messaging: Messaging = opts.messaging ?? own!;
  const config = opts.readConfig({
    DATABASE_URL: databaseUrl,
    NATS_URL: natsUrl,
    DB_SCHEMA: uniqueName(`${opts.name.replace(/[^a-z]/g, '_')}_t`),
    ...opts.env,
  });
  const db = await opts.openDatabase(config);
  await migrate(db);
  const log = testLogger(opts.name);
  const build = (hooks: H | undefined) => opts.build({ config, db, messaging, log, ...(hooks === undefined ? {} : { hooks }) });
  let app: A | null = await build(opts.hooks);
  return {
    config,
    db,
    messaging,
    log,
    get app(): A {
      if (!app) throw new Error(`${opts.name} is stopped`);
      return app;
    },
    /** Answers an rpc of the namespace, as another service would ask it. */
    call: <D extends RpcDef>(def: D, req: z.output<D['request']>) => callRpc(messaging, def, req, { timeoutMs: 30_000 }),
    /** Rows of a query against the service's schema, parsed with the given row schema. */
    rows: <S extends z.ZodType>(row: S, query: string, params: unknown[] = []) => queryRows(db.em.fork(), row, query, params),
    /** Runs a statement that returns no rows (an update a test ages data with, a delete that must be refused). */
    run: async (statement: string, params: unknown[] = []) => {
      await db.em.fork().execute(statement, params, 'run');
    },
    /** Closes the app, as a process stop would (its rpcs then get no responders). */
    async stop() {
      await app?.close();
      app = null;
    },
    /** Builds the app again on the same schema and namespace (closing it first if running). */
    async restart(hooks?: H) {
      await app?.close();
      app = await build(hooks);
    },
    async cleanup() {
      await app?.close();
      app = null;
      await db.em.fork().execute(`drop schema if exists "${config.DB_SCHEMA}" cascade`);
      await db.close();
      await own?.cleanup();
    },
  };
}

/** Reads every message of a stream with the given logical subject, through an ephemeral ordered consumer. */
export async function readStream(messaging: Messaging, stream: string, subject: string): Promise<{ id: string; data: unknown }[]> {
  const name = messaging.streamName(stream);
  const info = await messaging.jsm.streams.info(name);
  const out: { id: string; data: unknown }[] = [];
  if (info.state.messages === 0) return out;
  // An unfiltered ordered consumer: subject filters on consumers vary across server versions.
  const consumer = await messaging.js.consumers.get(name);
  for (;;) {
    const m = await consumer.next({ expires: 1_000 });
    if (!m) break;
    if (m.subject === messaging.wire(subject)) out.push({ id: m.headers?.get('Nats-Msg-Id') ?? '', data: m.json() });
    if (m.info.pending === 0) break;
  }
  // Not left to expire (5 minutes): its pending count would read as backlog to waitUntilQuiet.
  await consumer.delete().catch(() => undefined);
  return out;
}

export { freePort };
export { startHttpReceiver, type HttpReceiver, type ReceivedRequest } from './testing-receiver.ts';

/**
 * A service's `server.ts` run as its own Node process, as production runs it: on a free port of
 * 127.0.0.1 with the given environment, its output kept for the failure messages.
 */
export async function spawnServer(entry: string, env: Record<string, string>) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    port,
    url,
    child,
    /** The exit code, once the process has ended. */
    exited,
    output: () => output,
    running,
    /** Waits until /readyz answers 200 and answers that response; fails at once, with the output, if the process ends first. */
    ready: () =>
      eventually(
        () => `${entry} to be ready: ${output}`,
        async () => {
          if (!running()) throw new Error(`${entry} exited early: ${output}`);
          const res = await fetch(`${url}/readyz`).catch(() => null);
          return res?.status === 200 && res;
        },
        { intervalMs: 100 },
      ),
    /** Kills it if it still runs and waits for its end: a test's cleanup. */
    async kill() {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * For the tests of a hash chain: `tamper` runs statements with the table's append-only trigger off,
 * as someone with the table owner's rights could, then turns it on again; `verify` checks the chain.
 */
export function chainTampering(opts: {
  run: (sql: string) => Promise<unknown>;
  em: () => EntityManager;
  chain: HashChain;
  table: string;
  immutableTrigger: string;
}) {
  return {
    async tamper(...statements: string[]): Promise<void> {
      await opts.run(`alter table ${opts.table} disable trigger ${opts.immutableTrigger}`);
      try {
        for (const s of statements) await opts.run(s);
      } finally {
        await opts.run(`alter table ${opts.table} enable trigger ${opts.immutableTrigger}`);
      }
    },
    verify: () => verifyChain(opts.em(), opts.chain),
  };
}
