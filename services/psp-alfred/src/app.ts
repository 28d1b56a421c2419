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
import { Gauge, Histogram } from 'prom-client';
import type { PspAlfredConfig, PspAlfredDatabaseConfig } from './config.ts';
import { migrations } from './migrations/index.ts';
import { entities } from './entities.ts';
import { alfredTransportFromConfig, createAlfredClient, type AlfredClient } from './alfred/client.ts';
import { createFiatAccounts } from './fiat-accounts/fiat-accounts.ts';
import { createQuotes } from './quotes/quotes.ts';
import { createOfframpHandlers, type OfframpHooks } from './offramps/create-offramp.ts';
import { createOrderState } from './offramps/order-state.ts';
import { reconcileOfframpHandlers } from './reconciliation/reconcile-offramp.ts';
import { createReconciler, type Reconciler } from './reconciliation/reconcile.ts';
import { createProvisioning } from './traders/provisioning.ts';
import { createKycActions } from './dev/kyc-actions.ts';
import { createSandboxDriver } from './dev/sandbox-driver.ts';
import { createOfframpActions } from './dev/offramp-actions.ts';
import { registerWebhookRoute } from './webhooks/webhook-route.ts';
import { registerPspAlfredOpenApi } from './webhooks/webhook-openapi.ts';
import { pspAlfredRoutes } from './rpc.ts';

export { migrations };
export { pspAlfredOpenApiDocument } from './openapi.ts';
export { readPspAlfredConfig, readPspAlfredDatabaseConfig, pspAlfredConfig, type PspAlfredConfig } from './config.ts';

export interface PspAlfredDeps {
  config: PspAlfredConfig;
  db: Database;
  messaging: Messaging;
  log: Logger;
  /** Hooks on the command consumer (tests shorten the backoff and watch settlements). */
  consumer?: Pick<ConsumerOptions, 'afterCommit' | 'onSettled' | 'backoffMs' | 'maxDeliver'>;
  relay?: { pollMs?: number };
  /** Whether the reconciliation poller runs on its own (tests drive it by hand). */
  reconcileOnTimer?: boolean;
  /** How long a dev action waits for Alfred's webhook before reading the status itself. */
  devSettleMs?: number;
  /** Test seams of the offramp path (e.g. a gate between Alfred's answer and the store of its id). */
  offrampHooks?: OfframpHooks;
}

export interface PspAlfredApp {
  http: ReturnType<typeof createHttpServer>;
  relay: OutboxRelay;
  alfred: AlfredClient;
  reconciler: Reconciler;
  close(): Promise<void>;
}

/** Opens the service's schema; `readPspAlfredDatabaseConfig(env)` is enough for migrations. */
export const openPspAlfredDatabase = (config: PspAlfredDatabaseConfig) =>
  openDatabase({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations, poolMax: config.DB_POOL_MAX, entities });

/**
 * A command that cannot reach Alfred waits in `approved` and is redelivered with a growing delay,
 * for about six hours before it is dead-lettered for an operator.
 */
const offrampBackoffMs = [1_000, 5_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000];
const offrampMaxDeliver = 40;

/** Wires psp-alfred: rpcs, the offramp command consumer, the outbox relay, the webhook and health surface, reconciliation. */
export async function buildPspAlfred(deps: PspAlfredDeps): Promise<PspAlfredApp> {
  const { config, db, messaging, log } = deps;
  const metrics = createMetrics('psp-alfred');
  const relay = startOutboxRelay({ db, messaging, log, metrics, ...deps.relay });
  // One transport (credentials, breaker) for the partner API and, for the QA actions, the sandbox driver.
  const transport = alfredTransportFromConfig(config, log);
  const alfred = createAlfredClient(transport);
  const breakerCode = { closed: 0, half_open: 1, open: 2 } as const;
  // Read at scrape time from the breaker itself, so the figure can never drift from opossum's state.
  new Gauge({
    name: 'alfred_breaker_state',
    help: 'Alfred circuit breaker: 0 closed, 1 half-open, 2 open',
    registers: [metrics.registry],
    collect() {
      this.set(breakerCode[alfred.breakerState()]);
    },
  });
  const webhookLag = new Histogram({
    name: 'webhook_lag_seconds',
    help: 'Time from Alfred signing a webhook to it being stored',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [metrics.registry],
  });
  const reconciler = createReconciler({
    db,
    alfred,
    relay,
    log: log.child({ feature: 'reconciliation' }),
    afterSeconds: config.RECONCILE_AFTER_SECONDS,
    intervalMs: config.RECONCILE_INTERVAL_MS,
    batch: config.RECONCILE_BATCH,
    unknownAfterSeconds: config.UNKNOWN_REFERENCE_AFTER_SECONDS,
    tolerancePct: config.ALFRED_FIAT_TOLERANCE_PCT,
  });
  const offrampDeps = {
    db,
    alfred,
    log,
    chain: config.ALFRED_CHAIN,
    originAddress: config.ALFRED_ORIGIN_ADDRESS,
    tolerancePct: config.ALFRED_FIAT_TOLERANCE_PCT,
    ...(deps.offrampHooks ? { hooks: deps.offrampHooks } : {}),
  };
  const provisioning = createProvisioning({ db, alfred, emailDomain: config.DEV_EMAIL_DOMAIN });
  const devDeps = {
    db,
    alfred,
    driver: createSandboxDriver(transport),
    provisioning,
    relay,
    settleMs: deps.devSettleMs ?? 2_000,
    fiatTolerancePct: config.ALFRED_FIAT_TOLERANCE_PCT,
  };
  const rpc = serveRpcs(
    { messaging, log, metrics, queue: 'psp-alfred' },
    pspAlfredRoutes({
      db,
      fiatAccounts: createFiatAccounts({ db, alfred }),
      quotes: createQuotes({ db, alfred, chain: config.ALFRED_CHAIN }),
      reconciler,
      kyc: createKycActions(devDeps),
      offramps: createOfframpActions({ ...devDeps, reconciler }),
      orderState: createOrderState({ db, alfred, tolerancePct: config.ALFRED_FIAT_TOLERANCE_PCT }),
    }),
  );
  const consumer = await startConsumer({
    db,
    messaging,
    log,
    metrics,
    name: 'psp-alfred-commands',
    stream: 'COMMANDS',
    filterSubject: 'cmd.psp-alfred.>',
    handlers: [...createOfframpHandlers(offrampDeps), ...reconcileOfframpHandlers({ ...offrampDeps, reconciler })],
    backoffMs: offrampBackoffMs,
    maxDeliver: offrampMaxDeliver,
    // One delivery may wait on several Alfred calls, each up to ALFRED_TIMEOUT_MS.
    ackWaitMs: Math.max(30_000, config.ALFRED_TIMEOUT_MS * 8),
    ...deps.consumer,
  });
  const http = createHttpServer({
    log,
    metrics,
    readiness: readinessOf({ db, messaging }),
  });
  await registerPspAlfredOpenApi(http.app);
  registerWebhookRoute(http.app, {
    db,
    relay,
    log,
    secret: config.ALFRED_WEBHOOK_SECRET,
    format: config.ALFRED_WEBHOOK_SIGNATURE_FORMAT,
    toleranceSeconds: config.ALFRED_WEBHOOK_TOLERANCE_SECONDS,
    fiatTolerancePct: config.ALFRED_FIAT_TOLERANCE_PCT,
    lag: webhookLag,
  });
  if (deps.reconcileOnTimer ?? true) reconciler.start();
  let closing: Promise<void> | undefined;
  // Stop taking work, finish what is in flight, publish what it wrote, then let go of Alfred.
  const close = async () => {
    http.setDraining();
    await reconciler.stop();
    await rpc.drain();
    await consumer.stop();
    await http.app.close();
    await relay.stop();
    alfred.close();
  };
  return { http, relay, alfred, reconciler, close: () => (closing ??= close()) };
}
