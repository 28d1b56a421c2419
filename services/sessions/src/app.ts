import { openDatabase, startService, type Service, type ServiceDeps, type ServiceHooks } from '@offramp/kit';
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
}

export const openSessionsDatabase = (config: SessionsConfig) =>
  openDatabase({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations, entities: [SessionEntity], poolMax: config.DB_POOL_MAX });

/** The sessions service: the widget's, operators' and exception queue's rpcs, the saga's consumers and the sweeper. */
export async function buildSessions(deps: SessionsDeps): Promise<SessionsApp> {
  const { config, db, messaging, log, hooks = {} } = deps;
  const call = createCall(messaging, config.RPC_TIMEOUT_MS);
  // Started with the parts (it needs the kit's relay and metrics); handed back on the app for the tests' runOnce.
  let sweeper: Sweeper | undefined;
  const service = await startService('sessions', deps, ({ metrics, relay }) => {
    const own = createSessionsMetrics(metrics);
    exceptionsOpenGauge(metrics, db, log);
    const observe = transitionObserver(own);
    const initiate: InitiateDeps = { db, call, relay, log, ...(hooks.afterHold ? { afterHold: hooks.afterHold } : {}) };
    sweeper = startSweeper({ initiate, log, metrics: own, settings: config });
    const operator = operatorActions({ db, relay, call, observe });
    return {
      rpcs: sessionsRoutes({
        db,
        create: { db, call, ttlSeconds: config.SESSION_TTL_SECONDS },
        initiate,
        operator,
        resolve: { db, call, relay, log },
        approvals: approvals({ db, call, operator, ttlMinutes: config.FOUR_EYES_TTL_MINUTES }),
        reports: { db, call },
      }),
      consumers: sessionsConsumers({ call, observe, redispatchMax: config.PAYOUT_REDISPATCH_MAX }),
      loops: [sweeper],
    };
  });
  return { ...service, sweeper: sweeper! };
}
