import {
  readinessOf,
  createHttpServer,
  sendData,
  createMetrics,
  openDatabase,
  serveRpcs,
  startConsumer,
  startOutboxRelay,
  type Database,
  type Logger,
  type Messaging,
  type ConsumerOptions,
  type OutboxRelay,
} from '@offramp/kit';
import type { LedgerConfig } from './config.ts';
import { migrations } from './migrations/0001-ledger.ts';
import { ledgerRoutes } from './rpc.ts';
import { ledgerCommandHandlers } from './commands.ts';
import { checkLedger } from './check/check.ts';
import { createAccountDirectory } from './transfers/store.ts';

export { migrations };
export { checkLedger };
export { readLedgerConfig, ledgerConfig, type LedgerConfig } from './config.ts';

export interface LedgerDeps {
  config: LedgerConfig;
  db: Database;
  messaging: Messaging;
  log: Logger;
  /** Hooks on the command consumer (tests inject crashes and watch settlements with them). */
  consumer?: Pick<ConsumerOptions, 'afterCommit' | 'onSettled' | 'backoffMs'>;
  relay?: { pollMs?: number; afterPublish?: () => Promise<void> | void };
}

export interface LedgerApp {
  http: ReturnType<typeof createHttpServer>;
  relay: OutboxRelay;
  close(): Promise<void>;
}

export const openLedgerDatabase = (config: LedgerConfig) =>
  openDatabase({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations, poolMax: config.DB_POOL_MAX });

/** Wires the ledger: rpc server, command consumer, outbox relay and the HTTP health surface. */
export async function buildLedger(deps: LedgerDeps): Promise<LedgerApp> {
  const { db, messaging, log } = deps;
  const metrics = createMetrics('ledger');
  const relay = startOutboxRelay({ db, messaging, log, metrics, ...deps.relay });
  const accounts = createAccountDirectory();
  const rpc = serveRpcs({ messaging, log, metrics, queue: 'ledger' }, ledgerRoutes({ db, relay, accounts }));
  const consumer = await startConsumer({
    db,
    messaging,
    log,
    metrics,
    name: 'ledger-commands',
    stream: 'COMMANDS',
    filterSubject: 'cmd.ledger.>',
    handlers: ledgerCommandHandlers(accounts),
    ...deps.consumer,
  });
  const http = createHttpServer({
    log,
    metrics,
    readiness: readinessOf({ db, messaging }),
  });
  http.app.get('/ledger/check', async (request, reply) => sendData(request, reply, await checkLedger(db)));
  let closing: Promise<void> | undefined;
  // Order matters: stop taking work, finish what is in flight, publish what it wrote, then go.
  const close = async () => {
    http.setDraining();
    await rpc.drain();
    await consumer.stop();
    await relay.stop();
    await http.app.close();
  };
  return {
    http,
    relay,
    close: () => (closing ??= close()),
  };
}
