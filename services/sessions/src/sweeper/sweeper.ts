import { inTransaction, newId, type Logger } from '@offramp/kit';
import type { SessionsConfig } from '../config.ts';
import type { SessionsMetrics } from '../metrics.ts';
import { finishInitiation, type InitiateDeps } from '../sessions/initiate.ts';
import { claimStaleInitiations, findSession, setSessionStatus, type Session } from '../sessions/sessions-store.ts';
import { sendCreateOfframp, sendDebited, sendReconcile, sendVoidHold } from '../withdrawals/messages.ts';
import { addNote } from '../withdrawals/transition.ts';
import { claimDueForReconcile, countStuck, flagStuck, lockStale, toWithdrawal } from '../withdrawals/withdrawals-store.ts';

export type SweeperSettings = Pick<
  SessionsConfig,
  | 'SWEEPER_INTERVAL_MS'
  | 'SWEEPER_INITIATING_STALE_MS'
  | 'SWEEPER_OFFRAMP_RESEND_MS'
  | 'SWEEPER_RISK_REPUBLISH_MS'
  | 'RECONCILE_AFTER_MS'
  | 'WITHDRAWAL_SLA_MS'
  | 'REVIEW_SLA_MS'
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
    deps.initiate.relay.wake();
    return { ...initiations, offrampsResent, debitedRepublished, reconcilesRequested, flaggedStuck };
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
