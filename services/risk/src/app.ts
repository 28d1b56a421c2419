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
import { withdrawalEvents } from '@offramp/contracts';
import type { RiskConfig } from './config.ts';
import { migrations } from './migrations/0001-risk.ts';
import { riskRoutes } from './rpc.ts';
import { decisionHandlers } from './decisions/decisions.ts';
import { riskEntities } from './entities.ts';

export { migrations };
export { readRiskConfig, riskConfig, type RiskConfig } from './config.ts';
export { decide, type Decision, type DecisionInput } from './decisions/decide.ts';
export { namesMatch } from './decisions/name-match.ts';

/** The durable consumer of `withdrawals.debited` on the EVENTS stream; also the inbox key. */
export const withdrawalsConsumerName = 'risk-withdrawals';

export interface RiskDeps {
  config: RiskConfig;
  db: Database;
  messaging: Messaging;
  log: Logger;
  /** Hooks on the consumer (tests inject crashes and watch settlements with them). */
  consumer?: Pick<ConsumerOptions, 'afterCommit' | 'onSettled' | 'backoffMs'>;
  relay?: { pollMs?: number };
}

export interface RiskApp {
  http: ReturnType<typeof createHttpServer>;
  relay: OutboxRelay;
  close(): Promise<void>;
}

export const openRiskDatabase = (config: RiskConfig) =>
  openDatabase({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations, entities: riskEntities, poolMax: config.DB_POOL_MAX });

/** Wires risk: rpc server, the decision consumer, the outbox relay and the HTTP health surface. */
export async function buildRisk(deps: RiskDeps): Promise<RiskApp> {
  const { db, messaging, log } = deps;
  const metrics = createMetrics('risk');
  const relay = startOutboxRelay({ db, messaging, log, metrics, ...deps.relay });
  const rpc = serveRpcs({ messaging, log, metrics, queue: 'risk' }, riskRoutes({ db }));
  const consumer = await startConsumer({
    db,
    messaging,
    log,
    metrics,
    name: withdrawalsConsumerName,
    stream: 'EVENTS',
    filterSubject: withdrawalEvents.debited.subject,
    handlers: decisionHandlers(),
    ...deps.consumer,
    afterCommit: async (envelope) => {
      // The decision's event is in the outbox now; publish it without waiting for the next poll.
      relay.wake();
      await deps.consumer?.afterCommit?.(envelope);
    },
  });
  const http = createHttpServer({
    log,
    metrics,
    readiness: readinessOf({ db, messaging }),
  });
  let closing: Promise<void> | undefined;
  // Order matters: stop taking work, finish what is in flight, publish what it wrote, then go.
  const close = async () => {
    http.setDraining();
    await rpc.drain();
    await consumer.stop();
    await relay.stop();
    await http.app.close();
  };
  return { http, relay, close: () => (closing ??= close()) };
}
