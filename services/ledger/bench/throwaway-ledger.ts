import { randomBytes } from 'node:crypto';
import {
  callRpc,
  connectMessaging,
  createLogger,
  deleteStreams,
  migrate,
  newId,
  provisionStreams,
  queryRow,
  type Database,
  type Messaging,
} from '@offramp/kit';
import { ledgerRpc, type AccountRef, type RpcDef } from '@offramp/contracts';
import { z } from 'zod';
import { buildLedger, openLedgerDatabase, type LedgerApp } from '../src/app.ts';
import { readLedgerConfig } from '../src/config.ts';

export const currency = 'USDT';
export const usdt = (owner: string): AccountRef => ({ owner, currency });
export const fundingSource = usdt('external:deposits');

export type CallLedger = <D extends RpcDef>(def: D, req: z.output<D['request']>) => Promise<z.output<D['response']>>;

export interface ThrowawayLedger {
  schema: string;
  namespace: string;
  db: Database;
  /** The ledger's own connection, as a deployed ledger would have. */
  serverMessaging: Messaging;
  /** A second connection the benchmark clients share, as a calling service would. */
  clientMessaging: Messaging;
  app: LedgerApp;
  call: CallLedger;
  /** Tears down whatever was set up, in reverse order; returns the failures instead of throwing. */
  stop(): Promise<string[]>;
}

type Teardown = [name: string, run: () => Promise<unknown>];

/** Runs teardowns newest first, each on its own, so one failure does not leave the rest behind. */
async function runTeardowns(teardowns: Teardown[]): Promise<string[]> {
  const failures: string[] = [];
  for (const [name, run] of teardowns.reverse()) {
    try {
      await run();
    } catch (err) {
      failures.push(`${name}: ${String(err)}`);
    }
  }
  return failures;
}

/**
 * Starts the ledger in this process on a fresh schema and NATS namespace, serving its rpcs over the
 * real NATS server. Anything set up before a failure is torn down before the error is rethrown.
 */
export async function startThrowawayLedger(opts: {
  databaseUrl: string;
  natsUrl: string;
  poolMax: number;
  timeoutMs: number;
  logLevel: string;
  /** More of the ledger's configuration (the group commit's settings). */
  ledgerEnv: Record<string, string>;
}): Promise<ThrowawayLedger> {
  const suffix = randomBytes(5).toString('hex');
  const schema = `ledger_bench_${suffix}`;
  const namespace = `bench_${suffix}`;
  const config = readLedgerConfig({
    DATABASE_URL: opts.databaseUrl,
    NATS_URL: opts.natsUrl,
    NATS_NAMESPACE: namespace,
    DB_SCHEMA: schema,
    DB_POOL_MAX: String(opts.poolMax),
    LOG_LEVEL: opts.logLevel,
    ...opts.ledgerEnv,
  });
  const log = createLogger({ name: 'ledger-bench', level: config.LOG_LEVEL });
  const teardowns: Teardown[] = [];
  try {
    const db = await openLedgerDatabase(config);
    teardowns.push(['close database', () => db.close()]);
    teardowns.push(['drop schema', () => db.em.fork().execute(`drop schema if exists "${schema}" cascade`)]);
    await migrate(db);

    const serverMessaging = await connectMessaging({ url: config.NATS_URL, name: 'ledger-bench-server', namespace, log });
    teardowns.push(['drain server connection', () => serverMessaging.nc.drain()]);
    teardowns.push(['delete streams', () => deleteStreams(serverMessaging)]);
    await provisionStreams(serverMessaging);

    const clientMessaging = await connectMessaging({ url: config.NATS_URL, name: 'ledger-bench-clients', namespace, log });
    teardowns.push(['drain client connection', () => clientMessaging.nc.drain()]);

    const app = await buildLedger({ config, db, messaging: serverMessaging, log });
    teardowns.push(['close ledger', () => app.close()]);

    const call: CallLedger = (def, req) => callRpc(clientMessaging, def, req, { timeoutMs: opts.timeoutMs });
    return { schema, namespace, db, serverMessaging, clientMessaging, app, call, stop: () => runTeardowns(teardowns) };
  } catch (err) {
    await runTeardowns(teardowns);
    throw err;
  }
}

/** Runs `task` over `items` with at most `concurrency` in flight. */
export async function forEachLimited<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Opens accounts that may go negative: the funding source and the PSP clearing accounts. */
export async function openSystemAccounts(call: CallLedger, refs: readonly AccountRef[], concurrency: number): Promise<void> {
  await forEachLimited(refs, concurrency, async (ref) => {
    const r = await call(ledgerRpc.openAccount, { ...ref, allowNegative: true });
    if (r.outcome !== 'ok' && r.outcome !== 'exists') throw new Error(`opening ${ref.owner} failed: ${r.outcome}`);
  });
}

/** Opens trader accounts (never negative) and funds each from the deposits account. */
export async function openFundedTraders(
  call: CallLedger,
  owners: readonly string[],
  amountMinor: bigint,
  concurrency: number,
  signal: AbortSignal,
): Promise<void> {
  await forEachLimited(owners, concurrency, async (owner) => {
    signal.throwIfAborted();
    const opened = await call(ledgerRpc.openAccount, { ...usdt(owner), allowNegative: false });
    if (opened.outcome !== 'ok') throw new Error(`opening ${owner} failed: ${opened.outcome}`);
    const funded = await call(ledgerRpc.transfer, {
      id: newId(),
      debit: fundingSource,
      credit: usdt(owner),
      amountMinor,
      metadata: { reason: 'bench-funding' },
    });
    if (funded.outcome !== 'ok') throw new Error(`funding ${owner} failed: ${funded.outcome}`);
  });
}

export interface OutboxState {
  published: number;
  unsent: number;
}

/** How many of the ledger's events the outbox relay has published to JetStream so far. */
export async function readOutbox(db: Database): Promise<OutboxState> {
  const row = await queryRow(
    db.em.fork(),
    z.object({ published: z.string(), unsent: z.string() }),
    'select count(*) filter (where sent_at is not null) as published, count(*) filter (where sent_at is null) as unsent from outbox',
  );
  return { published: Number(row?.published ?? 0), unsent: Number(row?.unsent ?? 0) };
}

/** Nudges the relay until every event is published or `timeoutMs` passes; returns the last state. */
export async function drainOutbox(ledger: ThrowawayLedger, timeoutMs: number): Promise<OutboxState> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    await ledger.app.relay.flush().catch(() => 0);
    const state = await readOutbox(ledger.db);
    if (state.unsent === 0 || performance.now() > deadline) return state;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
