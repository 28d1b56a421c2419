import { inTransaction, newId, type Database, type Logger, type OutboxRelay } from '@offramp/kit';
import type { OfframpStatus } from '@offramp/contracts';
import { AlfredUnavailable, type AlfredClient } from '../alfred/client.ts';
import { findOfframp, isNewerStatus, listStale, markChecked, type Offramp } from '../offramps/store.ts';
import { ingestPartnerEvent, type IngestOutcome } from '../webhooks/ingest.ts';

export interface SyncDetail {
  withdrawalId: string;
  transactionId: string;
  previousStatus: OfframpStatus | null;
  status: OfframpStatus | null;
  outcome: 'updated' | 'unchanged' | 'failed';
  error?: string;
}

export interface SyncReport {
  syncedCount: number;
  failedCount: number;
  details: SyncDetail[];
}

interface Deps {
  db: Database;
  alfred: AlfredClient;
  relay: OutboxRelay;
  log: Logger;
  /** An order is polled once its status has not moved for this long. */
  afterSeconds: number;
  intervalMs: number;
  batch: number;
}

/**
 * Reconciliation: orders whose status has not moved for a while are read at Alfred, and a newer
 * status goes through the webhook path (same dedupe, same events, source `reconciliation`), so a
 * lost webhook cannot leave a withdrawal stuck.
 */
export function createReconciler(deps: Deps) {
  const { db, alfred, log } = deps;

  async function syncOne(offramp: Offramp, traceId: string): Promise<SyncDetail> {
    const transactionId = offramp.transactionId!;
    const base = { withdrawalId: offramp.withdrawalId, transactionId, previousStatus: offramp.alfredStatus };
    const answer = await alfred.getOfframp(transactionId);
    if (!answer.ok) return { ...base, status: null, outcome: 'failed', error: `alfred answered ${answer.status} ${answer.error.errorCode}` };
    const order = answer.data;
    const outcome: IngestOutcome | 'unchanged' = await inTransaction(db, async (em) => {
      await markChecked(em, offramp.withdrawalId);
      if (!isNewerStatus(order.status, offramp.alfredStatus)) return 'unchanged';
      const metadata = { ...(order.metadata ?? {}), ...(order.txHash ? { txHash: order.txHash } : {}) };
      return ingestPartnerEvent(em, { eventType: 'OFFRAMP', referenceId: transactionId, status: order.status, metadata }, { source: 'reconciliation', rawBody: null, traceId });
    });
    return { ...base, status: order.status, outcome: outcome === 'applied' ? 'updated' : 'unchanged' };
  }

  /** Polls the stale orders now; `olderThanSeconds` 0 polls every open one. */
  async function run(opts: { olderThanSeconds?: number; traceId?: string } = {}): Promise<SyncReport> {
    const traceId = opts.traceId ?? newId();
    const stale = await listStale(db.em.fork(), opts.olderThanSeconds ?? deps.afterSeconds, deps.batch);
    const details: SyncDetail[] = [];
    for (const offramp of stale) {
      try {
        details.push(await syncOne(offramp, traceId));
      } catch (err) {
        if (!(err instanceof AlfredUnavailable)) throw err;
        details.push({ withdrawalId: offramp.withdrawalId, transactionId: offramp.transactionId!, previousStatus: offramp.alfredStatus, status: null, outcome: 'failed', error: err.reason });
      }
    }
    if (details.some((d) => d.outcome === 'updated')) deps.relay.wake();
    const failedCount = details.filter((d) => d.outcome === 'failed').length;
    if (details.length > 0) log.info({ polled: details.length, failed: failedCount, traceId }, 'reconciliation pass');
    return { syncedCount: details.length - failedCount, failedCount, details };
  }

  /** Reads one withdrawal's order at Alfred now (dev actions, when a webhook is late). */
  async function syncWithdrawal(withdrawalId: string, traceId: string): Promise<SyncDetail | null> {
    const offramp = await findOfframp(db.em.fork(), withdrawalId);
    if (!offramp?.transactionId || offramp.state !== 'created') return null;
    const detail = await syncOne(offramp, traceId);
    if (detail.outcome === 'updated') deps.relay.wake();
    return detail;
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | null = null;
  let stopped = true;

  const tick = () => {
    timer = undefined;
    if (stopped) return;
    running = run()
      .catch((err: unknown) => log.warn({ err }, 'reconciliation pass failed'))
      .finally(() => {
        running = null;
        if (!stopped) timer = setTimeout(tick, deps.intervalMs);
      });
  };

  return {
    run,
    syncWithdrawal,
    start() {
      stopped = false;
      timer = setTimeout(tick, deps.intervalMs);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

export type Reconciler = ReturnType<typeof createReconciler>;
