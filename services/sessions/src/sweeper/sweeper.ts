import { enqueue, inTransaction, newId, type Logger } from '@offramp/kit';
import type { SessionsConfig } from '../config.ts';
import type { SessionsMetrics } from '../metrics.ts';
import { finishInitiation, type InitiateDeps } from '../sessions/initiate.ts';
import { claimStaleInitiations, findSession, setSessionStatus, type Session } from '../sessions/sessions-store.ts';
import { sendCreateOfframp, sendDebited, sendReconcile, sendVoidHold } from '../withdrawals/messages.ts';
import { addNote } from '../withdrawals/transition.ts';
import {
  claimDelayedPayouts,
  claimDueForReconcile,
  countStuck,
  flagStuck,
  lockStale,
  toWithdrawal,
} from '../withdrawals/withdrawals-store.ts';
import { openException } from '../exceptions/exceptions.ts';
import { paymentRoutes, withdrawalEvents } from '@offramp/contracts';

export type SweeperSettings = Pick<
  SessionsConfig,
  | 'SWEEPER_INTERVAL_MS'
  | 'SWEEPER_INITIATING_STALE_MS'
  | 'SWEEPER_OFFRAMP_RESEND_MS'
  | 'SWEEPER_RISK_REPUBLISH_MS'
  | 'RECONCILE_AFTER_MS'
  | 'WITHDRAWAL_SLA_MS'
  | 'REVIEW_SLA_MS'
  | 'PAYOUT_SLA_MS'
  | 'PAYOUT_SLA_MS_BY_RAIL'
>;

export interface SweeperDeps {
  initiate: InitiateDeps;
  log: Logger;
  metrics: SessionsMetrics;
  settings: SweeperSettings;
}

export interface SweepReport {
  initiationsFinished: number;
  initiationsAbandoned: number;
  offrampsResent: number;
  debitedRepublished: number;
  reconcilesRequested: number;
  flaggedStuck: number;
  payoutsDelayed: number;
}

export interface Sweeper {
  /** One pass over everything; tests call it directly. */
  runOnce(): Promise<SweepReport>;
  /** Stops the interval and waits for a pass in progress. */
  stop(): Promise<void>;
}

const batch = 100;

/**
 * Moves on what a crash left behind: sessions stuck `initiating` (finished, or given up and the
 * hold voided once expired), approved withdrawals without an offramp (createOfframp re-sent),
 * pending ones without a risk decision (`debited` re-published), approved or processing ones whose
 * status has not moved (psp-alfred asked to reconcile their order with Alfred, so an outcome whose
 * webhook was lost or spent still arrives), and flags those past their SLA.
 */
export function startSweeper(deps: SweeperDeps): Sweeper {
  const { log, settings } = deps;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<SweepReport> | null = null;

  async function pass(): Promise<SweepReport> {
    const initiations = await recoverInitiations(deps);
    const offrampsResent = await resendOfframps(deps);
    const debitedRepublished = await republishDebited(deps);
    const reconcilesRequested = await requestReconciliation(deps);
    const flaggedStuck = await flagStuckWithdrawals(deps);
    const payoutsDelayed = await noticeDelayedPayouts(deps);
    deps.initiate.relay.wake();
    return { ...initiations, offrampsResent, debitedRepublished, reconcilesRequested, flaggedStuck, payoutsDelayed };
  }

  function runOnce(): Promise<SweepReport> {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  }

  async function tick(): Promise<void> {
    timer = undefined;
    try {
      const report = await runOnce();
      if (Object.values(report).some((n) => n > 0)) log.info({ report }, 'sweeper moved withdrawals on');
    } catch (err) {
      log.warn({ err }, 'sweeper pass failed; next pass retries');
    }
    if (!stopped) timer = setTimeout(tick, settings.SWEEPER_INTERVAL_MS);
  }

  timer = setTimeout(tick, settings.SWEEPER_INTERVAL_MS);
  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

async function recoverInitiations(deps: SweeperDeps): Promise<{ initiationsFinished: number; initiationsAbandoned: number }> {
  const { db } = deps.initiate;
  const sessions = await inTransaction(db, (em) => claimStaleInitiations(em, deps.settings.SWEEPER_INITIATING_STALE_MS, batch));
  let initiationsFinished = 0;
  let initiationsAbandoned = 0;
  for (const session of sessions) {
    try {
      if (session.expiresAt.getTime() <= Date.now()) {
        if (await abandonSession(deps, session)) initiationsAbandoned++;
        continue;
      }
      const result = await finishInitiation(deps.initiate, session, {
        actor: 'system',
        reason: 'initiation finished by the sweeper',
        traceId: newId(),
      });
      deps.metrics.sweeperActions.inc({ action: result.ok ? 'initiation_finished' : 'initiation_refused' });
      if (result.ok) initiationsFinished++;
    } catch (err) {
      deps.log.warn({ err, sessionId: session.id }, 'sweeper could not finish an initiation; next pass retries');
    }
  }
  return { initiationsFinished, initiationsAbandoned };
}

/** Gives up an expired initiation: the session is abandoned and the hold it may have placed is voided. */
async function abandonSession(deps: SweeperDeps, session: Session): Promise<boolean> {
  const abandoned = await inTransaction(deps.initiate.db, async (em) => {
    const current = await findSession(em, session.id, { lock: true });
    if (current?.status !== 'initiating') return false;
    await setSessionStatus(em, session.id, 'abandoned');
    // The ledger refuses a void of a hold that was never placed (hold_not_found): nothing to undo then.
    await sendVoidHold(em, session.withdrawalId, { correlationId: session.withdrawalId, causationId: null, traceId: newId() });
    return true;
  });
  if (abandoned) {
    deps.metrics.sweeperActions.inc({ action: 'initiation_abandoned' });
    deps.log.warn({ sessionId: session.id, withdrawalId: session.withdrawalId }, 'expired initiation given up; hold voided');
  }
  return abandoned;
}

async function resendOfframps(deps: SweeperDeps): Promise<number> {
  return inTransaction(deps.initiate.db, async (em) => {
    const rows = await lockStale(em, 'approved', 'offramp_requested_at', deps.settings.SWEEPER_OFFRAMP_RESEND_MS, batch);
    for (const row of rows) {
      await sendCreateOfframp(em, toWithdrawal(row), { correlationId: row.id, causationId: null, traceId: newId() });
      await addNote(em, row.id, row.status, 'system', 'no offramp yet: PSP request re-sent by the sweeper');
    }
    deps.metrics.sweeperActions.inc({ action: 'offramp_resent' }, rows.length);
    return rows.length;
  });
}

async function republishDebited(deps: SweeperDeps): Promise<number> {
  return inTransaction(deps.initiate.db, async (em) => {
    const rows = await lockStale(em, 'pending', 'debited_published_at', deps.settings.SWEEPER_RISK_REPUBLISH_MS, batch);
    for (const row of rows) {
      await sendDebited(em, toWithdrawal(row), { correlationId: row.id, causationId: null, traceId: newId() });
      await em.execute('update withdrawals set debited_published_at = now() where id = ?', [row.id], 'run');
    }
    deps.metrics.sweeperActions.inc({ action: 'debited_republished' }, rows.length);
    return rows.length;
  });
}

async function requestReconciliation(deps: SweeperDeps): Promise<number> {
  return inTransaction(deps.initiate.db, async (em) => {
    const ids = await claimDueForReconcile(em, deps.settings.RECONCILE_AFTER_MS, batch);
    for (const id of ids) await sendReconcile(em, id, { correlationId: id, causationId: null, traceId: newId() });
    deps.metrics.sweeperActions.inc({ action: 'reconcile_requested' }, ids.length);
    return ids.length;
  });
}

async function flagStuckWithdrawals(deps: SweeperDeps): Promise<number> {
  const em = deps.initiate.db.em.fork();
  const flagged = await flagStuck(em, deps.settings.WITHDRAWAL_SLA_MS, deps.settings.REVIEW_SLA_MS);
  for (const w of flagged) deps.log.warn({ withdrawalId: w.id, status: w.status, since: w.since }, 'withdrawal stuck past its SLA');
  deps.metrics.stuck.reset();
  for (const { status, n } of await countStuck(em)) deps.metrics.stuck.set({ status }, n);
  return flagged.length;
}

/** The SLA of each route's rail (PAYOUT_SLA_MS_BY_RAIL over PAYOUT_SLA_MS), routes grouped by SLA. */
export function payoutSlas(
  settings: Pick<SweeperSettings, 'PAYOUT_SLA_MS' | 'PAYOUT_SLA_MS_BY_RAIL'>,
): { slaMs: number; routeIds: string[] }[] {
  const byRail = new Map(
    settings.PAYOUT_SLA_MS_BY_RAIL.split(',')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), Number(pair.slice(pair.indexOf('=') + 1))] as const),
  );
  const groups = new Map<number, string[]>();
  for (const route of paymentRoutes) {
    const slaMs = byRail.get(route.rail) ?? settings.PAYOUT_SLA_MS;
    groups.set(slaMs, [...(groups.get(slaMs) ?? []), route.id]);
  }
  return [...groups].map(([slaMs, routeIds]) => ({ slaMs, routeIds }));
}

/**
 * Payouts `processing` past their rail's SLA, each once: the trader is told it is delayed
 * (`withdrawals.payout-delayed`: stream and e-mail), an exception opened for the operators, the order
 * reconciled with Alfred, and a note on the timeline; all in the transaction that stamps it.
 */
async function noticeDelayedPayouts(deps: SweeperDeps): Promise<number> {
  let total = 0;
  for (const { slaMs, routeIds } of payoutSlas(deps.settings)) {
    total += await inTransaction(deps.initiate.db, async (em) => {
      const delayed = await claimDelayedPayouts(em, routeIds, slaMs, batch);
      for (const w of delayed) {
        const cause = { correlationId: w.id, causationId: null, traceId: newId() };
        const processingSince = w.since.toISOString();
        await enqueue(
          em,
          withdrawalEvents.payoutDelayed,
          {
            withdrawalId: w.id,
            traderId: w.trader_id,
            country: w.country,
            paymentRouteId: w.payment_route_id,
            slaMs,
            processingSince,
            debitedMinor: BigInt(w.debited_minor),
            fiatAmount: w.fiat_amount,
            fiatCurrency: w.fiat_currency,
          },
          cause,
        );
        await openException(
          em,
          {
            kind: 'payout_past_sla',
            key: `payout_past_sla:${w.id}`,
            withdrawalId: w.id,
            traderId: w.trader_id,
            partnerReference: w.psp_transaction_id,
            facts: { paymentRouteId: w.payment_route_id, slaMs, processingSince, withdrawalStatus: 'processing' },
            exposure: 'none',
            amountMinor: 0n,
          },
          cause,
        );
        await sendReconcile(em, w.id, cause);
        await addNote(
          em,
          w.id,
          'processing',
          'system',
          `payout past its SLA (${slaMs} ms on ${w.payment_route_id}): trader told, reconciliation asked`,
        );
        deps.log.warn({ withdrawalId: w.id, paymentRouteId: w.payment_route_id, slaMs, since: processingSince }, 'payout past its SLA');
      }
      deps.metrics.sweeperActions.inc({ action: 'payout_delayed' }, delayed.length);
      return delayed.length;
    });
  }
  return total;
}
