import { openDatabase, startService, type Service, type ServiceDeps, type ServiceHooks } from '@offramp/kit';
import { withdrawalEvents } from '@offramp/contracts';
import { approvals } from './approvals/approvals.ts';
import type { SessionsConfig } from './config.ts';
import { createCall } from './call.ts';
import { sessionsConsumers } from './consumers.ts';
import { exceptionsOpenGauge } from './exceptions/exception-metrics.ts';
import { migrations } from './migrations/0001-sessions.ts';
import { SessionEntity } from './sessions/sessions-entity.ts';
import { createSessionsMetrics, transitionObserver } from './metrics.ts';
import { sessionsRoutes } from './rpc.ts';
import type { InitiateDeps } from './sessions/initiate.ts';
import { startSweeper, type Sweeper } from './sweeper/sweeper.ts';
import { operatorActions } from './withdrawals/operator.ts';
import { partnerRegistry } from './partners/partners.ts';
import { startPartnerWebhookDispatcher, type PartnerWebhookDispatcher } from './partner-webhooks/dispatcher.ts';
import { createPartnerWebhooksMetrics } from './partner-webhooks/partner-webhooks-metrics.ts';
import { PartnerWithdrawals } from './partner-webhooks/partner-webhooks.ts';

export { migrations };
export { readSessionsConfig, sessionsConfig, type SessionsConfig } from './config.ts';
export { isLegal } from './withdrawals/state-machine.ts';
export { decide, type Decision, type WithdrawalEvent } from './withdrawals/decide.ts';
export { derivedId } from './withdrawals/messages.ts';

/** The kit's test hooks, and a crash between an initiation's hold and its commit. */
export interface SessionsHooks extends ServiceHooks {
  afterHold?: InitiateDeps['afterHold'];
}

export interface SessionsDeps extends ServiceDeps<SessionsConfig> {
  hooks?: SessionsHooks;
}

export interface SessionsApp extends Service {
  /** Tests run a pass at once instead of waiting for its timer. */
  sweeper: Sweeper;
  /** The partner webhooks' sender; tests flush it to see what is due sent (or left waiting). */
  partnerWebhooks: PartnerWebhookDispatcher;
}

export const openSessionsDatabase = (config: SessionsConfig) =>
  openDatabase({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations, entities: [SessionEntity], poolMax: config.DB_POOL_MAX });

/** The sessions service: the widget's, operators' and exception queue's rpcs, the saga's consumers and the sweeper. */
export async function buildSessions(deps: SessionsDeps): Promise<SessionsApp> {
  const { config, db, messaging, log, hooks = {} } = deps;
  const call = createCall(messaging, config.RPC_TIMEOUT_MS);
  // Started with the parts (it needs the kit's relay and metrics); handed back on the app for the tests' runOnce.
  let sweeper: Sweeper | undefined;
  let partnerWebhooks: PartnerWebhookDispatcher | undefined;
  const service = await startService('sessions', deps, ({ metrics, relay }) => {
    const own = createSessionsMetrics(metrics);
    exceptionsOpenGauge(metrics, db, log);
    const observe = transitionObserver(own);
    const partnerWithdrawals = new PartnerWithdrawals();
    const initiate: InitiateDeps = {
      db,
      call,
      relay,
      log,
      onCreated: (withdrawalId, partner) => partnerWithdrawals.learn(withdrawalId, partner),
      ...(hooks.afterHold ? { afterHold: hooks.afterHold } : {}),
    };
    sweeper = startSweeper({ initiate, log, metrics: own, settings: config });
    const operator = operatorActions({ db, relay, call, observe });
    const webhooks = {
      db,
      log,
      metrics: createPartnerWebhooksMetrics(metrics, db, log),
      backoff: {
        baseMs: config.PARTNER_WEBHOOK_BACKOFF_MS,
        maxMs: config.PARTNER_WEBHOOK_BACKOFF_MAX_MS,
        maxAttempts: config.PARTNER_WEBHOOK_MAX_ATTEMPTS,
      },
      replayTimeoutMs: config.PARTNER_WEBHOOK_REPLAY_TIMEOUT_MS,
    };
    const dispatcher = startPartnerWebhookDispatcher({
      ...webhooks,
      timeoutMs: config.PARTNER_WEBHOOK_TIMEOUT_MS,
      concurrency: config.PARTNER_WEBHOOK_CONCURRENCY,
      pollMs: config.PARTNER_WEBHOOK_POLL_MS,
      idlePollMs: config.PARTNER_WEBHOOK_IDLE_POLL_MS,
    });
    partnerWebhooks = dispatcher;
    const create = { db, call, ttlSeconds: config.SESSION_TTL_SECONDS };
    return {
      rpcs: sessionsRoutes({
        db,
        create,
        initiate,
        operator,
        resolve: { db, call, relay, log },
        approvals: approvals({ db, call, operator, ttlMinutes: config.FOUR_EYES_TTL_MINUTES }),
        reports: { db, call },
        partners: partnerRegistry(db),
        partnerRequests: { db, create, initiate, windowMs: config.PARTNER_REQUEST_WINDOW_MS },
        partnerWebhooks: webhooks,
      }),
      consumers: sessionsConsumers({ call, observe, redispatchMax: config.PAYOUT_REDISPATCH_MAX, partnerWithdrawals }),
      loops: [sweeper, dispatcher],
      // A status change may have recorded a partner's webhook: send it without waiting for the next poll.
      afterConsume: (envelope) => {
        if (envelope.type === withdrawalEvents.statusChanged.type) dispatcher.wake();
      },
    };
  });
  return { ...service, sweeper: sweeper!, partnerWebhooks: partnerWebhooks! };
}
