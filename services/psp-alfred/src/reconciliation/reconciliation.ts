import { inTransaction, newId, type Database, type EntityManager, type Logger, type OutboxRelay } from '@offramp/kit';
import type { OfframpStatus } from '@offramp/contracts';
import { AlfredUnavailable, type AlfredClient } from '../alfred/client.ts';
import { reportAmountMismatch, reportDiscrepancy, reportStatusMismatch } from '../discrepancies/discrepancies.ts';
import { orderMetadata } from '../offramps/offramps.ts';
import { storeTransactionId } from '../offramps/reference.ts';
import { findOfframp, listKeptUnknown, listStale, lockWithdrawal, markChecked, type Offramp } from '../offramps/offramps-store.ts';
import { isNewerStatus } from '../offramps/offramp-status.ts';
import { applyKeptEvents, ingestPartnerEvent, lockReference, type IngestOutcome } from '../webhooks/ingest.ts';

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
  /** An OFFRAMP event whose reference is still unknown after this long is a discrepancy. */
  unknownAfterSeconds: number;
  tolerancePct: number;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reconciliation: orders whose status has not moved for a while are read at Alfred, and a newer
 * status goes through the webhook path (same dedupe, same events, source `reconciliation`), so a
 * lost webhook cannot leave a withdrawal stuck. An order whose mirror is final although its final
 * status was never published is read too, and its status published. Readings that contradict the
 * mirror, or amounts that differ from the withdrawal's, are reported as discrepancies.
 */
export function createReconciler(deps: Deps) {
  const { db, alfred, log } = deps;
  const within = <T>(em: EntityManager | undefined, fn: (em: EntityManager) => Promise<T>) => (em ? fn(em) : inTransaction(db, fn));

  /**
   * Reads one order at Alfred and feeds what it says through the ingest path. `republish` publishes
   * the status even when its key was taken already. In `em` when given (the command's transaction).
   */
  async function syncOne(offramp: Offramp, traceId: string, opts: { republish?: boolean; em?: EntityManager } = {}): Promise<SyncDetail> {
    const transactionId = offramp.transactionId!;
    const base = { withdrawalId: offramp.withdrawalId, transactionId, previousStatus: offramp.alfredStatus };
    const cause = { correlationId: offramp.withdrawalId, causationId: null, traceId };
    const answer = await alfred.getOfframp(transactionId);
    if (!answer.ok) {
      // Alfred does not know an order it gave us: nobody can tell where the money is.
      if (answer.status === 404 && offramp.state === 'created')
        await within(opts.em, (em) => reportStatusMismatch(em, offramp, transactionId, 'NOT_FOUND', cause));
      return { ...base, status: null, outcome: 'failed', error: `alfred answered ${answer.status} ${answer.error.errorCode}` };
    }
    const order = answer.data;
    const outcome: IngestOutcome | 'unchanged' = await within(opts.em, async (em) => {
      await lockReference(em, transactionId);
      const current = (await findOfframp(em, offramp.withdrawalId, { lock: true })) ?? offramp;
      await markChecked(em, offramp.withdrawalId);
      await applyKeptEvents(em, transactionId, { traceId, tolerancePct: deps.tolerancePct });
      const failureReason = typeof order.metadata?.failureReason === 'string' ? order.metadata.failureReason : null;
      await reportStatusMismatch(em, current, transactionId, order.status, cause, failureReason);
      await reportAmountMismatch(em, current, transactionId, order, { tolerancePct: deps.tolerancePct, seenIn: 'reconciliation', cause });
      if (!opts.republish && !isNewerStatus(order.status, current.alfredStatus)) return 'unchanged';
      const event = { eventType: 'OFFRAMP' as const, referenceId: transactionId, status: order.status, metadata: orderMetadata(order) };
      return ingestPartnerEvent(em, event, {
        source: 'reconciliation',
        rawBody: null,
        traceId,
        tolerancePct: deps.tolerancePct,
        republish: opts.republish ?? false,
      });
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
        // A final status the withdrawal never heard of is published again, whatever its key says.
        details.push(await syncOne(offramp, traceId, { republish: offramp.finalUnpublished }));
      } catch (err) {
        if (!(err instanceof AlfredUnavailable)) throw err;
        details.push({
          withdrawalId: offramp.withdrawalId,
          transactionId: offramp.transactionId!,
          previousStatus: offramp.alfredStatus,
          status: null,
          outcome: 'failed',
          error: err.reason,
        });
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

  /**
   * OFFRAMP events still kept for an unknown reference: the order is looked up at Alfred, and when
   * its memo names an intent of ours whose create went out with an unknown outcome, the reference
   * is adopted (which applies the kept events). One still unknown past `unknownAfterSeconds` is
   * reported as `unknown_partner_reference`, once per reference, and no longer looked up.
   */
  async function sweepUnknownReferences(opts: { traceId?: string } = {}): Promise<{ adopted: string[]; reported: string[] }> {
    const traceId = opts.traceId ?? newId();
    const kept = await listKeptUnknown(db.em.fork(), deps.afterSeconds, deps.batch);
    const byReference = new Map<string, typeof kept>();
    for (const event of kept) byReference.set(event.referenceId, [...(byReference.get(event.referenceId) ?? []), event]);
    const adopted: string[] = [];
    const reported: string[] = [];
    for (const [referenceId, events] of byReference) {
      if (await adopt(referenceId, traceId)) {
        adopted.push(referenceId);
        continue;
      }
      const first = events[0]!;
      if (Date.parse(first.receivedAt) > Date.now() - deps.unknownAfterSeconds * 1000) continue;
      const last = events.at(-1)!;
      const isNew = await inTransaction(db, (em) =>
        reportDiscrepancy(
          em,
          {
            key: `unknown_partner_reference:${referenceId}`,
            kind: 'unknown_partner_reference',
            withdrawalId: null,
            transactionId: referenceId,
            facts: {
              referenceId,
              status: last.status,
              statuses: events.map((e) => e.status),
              receivedAt: first.receivedAt,
              source: first.source,
            },
          },
          { correlationId: referenceId, causationId: null, traceId },
        ),
      );
      if (isNew) reported.push(referenceId);
    }
    if (adopted.length + reported.length > 0) {
      deps.relay.wake();
      log.warn({ adopted, reported, traceId }, 'events of unknown references swept');
    }
    return { adopted, reported };
  }

  async function adopt(referenceId: string, traceId: string): Promise<boolean> {
    let answer;
    try {
      answer = await alfred.getOfframp(referenceId);
    } catch (err) {
      if (err instanceof AlfredUnavailable) return false;
      throw err;
    }
    if (!answer.ok || !answer.data.memo || !uuid.test(answer.data.memo)) return false;
    const order = answer.data;
    const withdrawalId = order.memo!;
    return inTransaction(db, async (em) => {
      // Under the withdrawal's lock, as every create and replay of it.
      await lockWithdrawal(em, withdrawalId);
      const intent = await findOfframp(em, withdrawalId);
      const ours =
        intent?.state === 'requested' &&
        intent.transactionId === null &&
        intent.lastRequest !== null &&
        intent.fiatAccountId === order.fiatAccountId;
      if (!ours) return false;
      await storeTransactionId(em, withdrawalId, referenceId, { traceId, tolerancePct: deps.tolerancePct });
      log.warn(
        { withdrawalId, transactionId: referenceId },
        'order of an unknown-outcome create found by its early events; reference adopted',
      );
      return true;
    });
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | null = null;
  let stopped = true;

  const tick = () => {
    timer = undefined;
    if (stopped) return;
    running = run()
      .then(() => sweepUnknownReferences())
      .catch((err: unknown) => log.warn({ err }, 'reconciliation pass failed'))
      .finally(() => {
        running = null;
        if (!stopped) timer = setTimeout(tick, deps.intervalMs);
      });
  };

  return {
    run,
    syncWithdrawal,
    /** reconcile-offramp: reads a created order and publishes its current status even when already published. */
    reconcileOrder: (offramp: Offramp, traceId: string, em: EntityManager) => syncOne(offramp, traceId, { republish: true, em }),
    sweepUnknownReferences,
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
