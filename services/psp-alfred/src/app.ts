import { openDatabase, startService, type Service, type ServiceDeps, type ServiceHooks } from '@offramp/kit';
import type { PspAlfredConfig, PspAlfredDatabaseConfig } from './config.ts';
import { migrations } from './migrations/index.ts';
import { entities } from './entities.ts';
import { alfredTransportFromConfig, createAlfredClient, type AlfredClient } from './alfred/client.ts';
import { offrampConcurrency, pspAlfredConsumers } from './consumers.ts';
import { createKycActions } from './dev/kyc-actions.ts';
import { createOfframpActions } from './dev/offramp-actions.ts';
import { createStoredSignal } from './dev/wait.ts';
import { createSandboxDriver } from './dev/sandbox-driver.ts';
import { createFiatAccounts } from './fiat-accounts/fiat-accounts.ts';
import { createPspAlfredMetrics } from './metrics.ts';
import type { OfframpHooks } from './offramps/offramps.ts';
import { createOrderState } from './offramps/order-state.ts';
import { createQuotes } from './quotes/quotes.ts';
import { createReconciler, type Reconciler } from './reconciliation/reconciliation.ts';
import { pspAlfredRoutes } from './rpc.ts';
import { createPartnerOrders } from './reports/partner-orders.ts';
import { createProvisioning } from './traders/provisioning.ts';
import { registerPspAlfredOpenApi } from './webhooks/webhook-openapi.ts';
import { registerWebhookRoute } from './webhooks/webhook-route.ts';

export { migrations };
export { pspAlfredOpenApiDocument } from './openapi.ts';
export { readPspAlfredConfig, readPspAlfredDatabaseConfig, pspAlfredConfig, type PspAlfredConfig } from './config.ts';

/** The kit's test hooks, and psp-alfred's own seams. */
export interface PspAlfredHooks extends ServiceHooks {
  /** Whether the reconciler runs on its own timer; true by default (tests drive it by hand). */
  reconcileOnTimer?: boolean;
  /** How long a dev action waits for Alfred's webhook before reading the status itself; 2s by default. */
  devSettleMs?: number;
  /** Seams of the offramp path (e.g. a gate between Alfred's answer and the store of its id). */
  offramp?: OfframpHooks;
}

export interface PspAlfredDeps extends ServiceDeps<PspAlfredConfig> {
  hooks?: PspAlfredHooks;
}

export interface PspAlfredApp extends Service {
  /** Tests watch its breaker. */
  alfred: AlfredClient;
  /** Tests run a pass at once instead of waiting for its timer. */
  reconciler: Reconciler;
}

/** Opens the service's schema; `readPspAlfredDatabaseConfig(env)` is enough for migrations. */
export const openPspAlfredDatabase = (config: PspAlfredDatabaseConfig) =>
  openDatabase({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations, poolMax: config.DB_POOL_MAX, entities });

/** psp-alfred: its rpcs, the offramp command consumer, Alfred's webhook, and the reconciler on its timer. */
export async function buildPspAlfred(deps: PspAlfredDeps): Promise<PspAlfredApp> {
  const { config, db, log, hooks = {} } = deps;
  // One transport (credentials, breaker) for the partner API and, for the QA actions, the sandbox driver.
  const transport = alfredTransportFromConfig(config, log);
  const alfred = createAlfredClient(transport);
  const tolerancePct = config.ALFRED_FIAT_TOLERANCE_PCT;
  let reconciler: Reconciler | undefined;
  const service = await startService('psp-alfred', deps, ({ metrics, relay }) => {
    const own = createPspAlfredMetrics(metrics, alfred);
    const reconciling = createReconciler({
      db,
      alfred,
      relay,
      log: log.child({ feature: 'reconciliation' }),
      afterSeconds: config.RECONCILE_AFTER_SECONDS,
      intervalMs: config.RECONCILE_INTERVAL_MS,
      batch: config.RECONCILE_BATCH,
      unknownAfterSeconds: config.UNKNOWN_REFERENCE_AFTER_SECONDS,
      tolerancePct,
    });
    reconciler = reconciling;
    const offramps = {
      db,
      alfred,
      chain: config.ALFRED_CHAIN,
      originAddress: config.ALFRED_ORIGIN_ADDRESS,
      tolerancePct,
      ...(hooks.offramp ? { hooks: hooks.offramp } : {}),
    };
    // The QA actions that wait for Alfred's webhook check again when webhooks were stored.
    const stored = createStoredSignal();
    const dev = {
      stored,
      db,
      alfred,
      driver: createSandboxDriver(transport),
      provisioning: createProvisioning({ db, alfred, emailDomain: config.DEV_EMAIL_DOMAIN }),
      relay,
      settleMs: hooks.devSettleMs ?? 2_000,
      fiatTolerancePct: tolerancePct,
    };
    return {
      rpcs: pspAlfredRoutes({
        db,
        fiatAccounts: createFiatAccounts({ db, alfred }),
        quotes: createQuotes({ db, alfred, chain: config.ALFRED_CHAIN }),
        reconciler: reconciling,
        kyc: createKycActions(dev),
        offramps: createOfframpActions({ ...dev, reconciler: reconciling }),
        orderState: createOrderState({ db, alfred, tolerancePct }),
        partnerOrders: createPartnerOrders({ db, alfred }),
      }),
      consumers: pspAlfredConsumers({
        ...offramps,
        reconciler: reconciling,
        alfredTimeoutMs: config.ALFRED_TIMEOUT_MS,
        concurrency: offrampConcurrency(config.CONSUMER_CONCURRENCY, config.DB_POOL_MAX),
      }),
      loops: [reconciling],
      http: async (app) => {
        await registerPspAlfredOpenApi(app);
        registerWebhookRoute(app, {
          db,
          relay,
          log,
          secret: config.ALFRED_WEBHOOK_SECRET,
          format: config.ALFRED_WEBHOOK_SIGNATURE_FORMAT,
          toleranceSeconds: config.ALFRED_WEBHOOK_TOLERANCE_SECONDS,
          fiatTolerancePct: tolerancePct,
          lag: own.webhookLag,
          stored: stored.notify,
        });
      },
      // Last: nothing is sent to Alfred once the rpcs, the consumer and the reconciler stopped.
      release: () => alfred.close(),
    };
  });
  // Started once everything else is up: a start that failed half-way leaves no timer behind.
  if (hooks.reconcileOnTimer ?? true) reconciler!.start();
  return { ...service, alfred, reconciler: reconciler! };
}
