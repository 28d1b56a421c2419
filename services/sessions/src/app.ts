import {
  readinessOf,
  createHttpServer,
  createMetrics,
  openDatabase,
  serveRpcs,
  startConsumer,
  startOutboxRelay,
  type ConsumerOptions,
  type Database,
  type Logger,
  type Messaging,
  type OutboxRelay,
} from '@offramp/kit';
import type { SessionsConfig } from './config.ts';
import { createCall } from './call.ts';
import { exceptionsOpenGauge } from './exceptions/exception-metrics.ts';
import { exceptionRoutes } from './exceptions/exception-rpc.ts';
import { migrations } from './migrations/0001-sessions.ts';
import { SessionEntity } from './sessions/session-entity.ts';
import { createSessionsMetrics, transitionObserver } from './metrics.ts';
import { sessionsRoutes } from './rpc.ts';
import { ledgerHandlers, pspAlfredHandlers, riskHandlers } from './saga/saga-handlers.ts';
import type { InitiateDeps } from './sessions/initiate.ts';
import { startSweeper, type Sweeper } from './sweeper/sweeper.ts';
import { operatorActions } from './withdrawals/operator.ts';

export { migrations };
export { readSessionsConfig, sessionsConfig, type SessionsConfig } from './config.ts';
export { isLegal } from './withdrawals/state-machine.ts';
export { decide, type Decision, type WithdrawalEvent } from './withdrawals/decide.ts';
export { derivedId } from './withdrawals/messages.ts';

export interface SessionsDeps {
  config: SessionsConfig;
  db: Database;
  messaging: Messaging;
  log: Logger;
  /** Test hooks: crashes between the hold and the commit, consumer settlements, relay timing. */
  hooks?: {
    afterHold?: InitiateDeps['afterHold'];
    consumer?: Pick<ConsumerOptions, 'afterCommit' | 'onSettled' | 'backoffMs'>;
    relay?: { pollMs?: number };
  };
}

export interface SessionsApp {
  http: ReturnType<typeof createHttpServer>;
  relay: OutboxRelay;
  sweeper: Sweeper;
  close(): Promise<void>;
}

export const openSessionsDatabase = (config: SessionsConfig) =>
  openDatabase({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations, entities: [SessionEntity], poolMax: config.DB_POOL_MAX });

/** Wires the sessions service: rpcs, the saga consumers, the sweeper, the outbox relay and the HTTP health surface. */
export async function buildSessions(deps: SessionsDeps): Promise<SessionsApp> {
  const { config, db, messaging, log, hooks = {} } = deps;
  const metrics = createMetrics('sessions');
  const own = createSessionsMetrics(metrics);
  exceptionsOpenGauge(metrics, db, log);
  const observe = transitionObserver(own);
  const relay = startOutboxRelay({ db, messaging, log, metrics, ...hooks.relay });
  const call = createCall(messaging, config.RPC_TIMEOUT_MS);
  const initiate: InitiateDeps = { db, call, relay, log, ...(hooks.afterHold ? { afterHold: hooks.afterHold } : {}) };
  const rpc = serveRpcs(
    { messaging, log, metrics, queue: 'sessions' },
    [
      ...sessionsRoutes({ db, create: { db, call, ttlSeconds: config.SESSION_TTL_SECONDS }, initiate, operator: operatorActions({ db, relay, call, observe }) }),
      ...exceptionRoutes({ db, call, relay, log }),
    ],
  );
  const consumer = (name: string, filterSubject: string, handlers: ConsumerOptions['handlers']) =>
    startConsumer({
      db,
      messaging,
      log,
      metrics,
      name,
      stream: 'EVENTS',
      filterSubject,
      handlers,
      ...hooks.consumer,
      afterCommit: async (envelope) => {
        relay.wake();
        await hooks.consumer?.afterCommit?.(envelope);
      },
    });
  // One durable consumer per source: NATS 2.9 takes one filter subject per consumer.
  const saga = { log, call, observe };
  const consumers = [
    await consumer('sessions-risk', 'evt.risk.>', riskHandlers(saga)),
    await consumer('sessions-psp-alfred', 'evt.psp-alfred.>', pspAlfredHandlers(saga)),
    await consumer('sessions-ledger', 'evt.ledger.>', ledgerHandlers(saga)),
  ];
  const sweeper = startSweeper({ initiate, log, metrics: own, settings: config });
  const http = createHttpServer({
    log,
    metrics,
    readiness: readinessOf({ db, messaging }),
  });
  let closing: Promise<void> | undefined;
  // Stop taking work, finish what is in flight, publish what it wrote, then go.
  const close = async () => {
    http.setDraining();
    await rpc.drain();
    await sweeper.stop();
    for (const c of consumers) await c.stop();
    await relay.stop();
    await http.app.close();
  };
  return { http, relay, sweeper, close: () => (closing ??= close()) };
}
