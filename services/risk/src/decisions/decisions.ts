import { enqueue, type Cause, type EntityManager, type Logger } from '@offramp/kit';
import { riskEvents, type WithdrawalDebited } from '@offramp/contracts';
import { freezeFlags } from '../freeze/freeze.ts';
import { countUsage, usageOf } from '../limits/limits-store.ts';
import { lockUntilCommit } from '../locks.ts';
import { entriesFor } from '../screening/screening.ts';
import { loadRules } from '../thresholds/thresholds.ts';
import { decide, type DecisionInput } from './decide.ts';
import { findDecision, insertDecision } from './decisions-store.ts';

/** Where a debited withdrawal came from: its message (recorded with the decision) and the cause of what it sends. */
export interface Debit {
  withdrawal: WithdrawalDebited;
  messageId: string;
  cause: Cause;
}

/**
 * One decision per withdrawal, announced through the outbox, in the caller's transaction (the
 * inbox's, so a redelivered message never gets here). A second message for a withdrawal already
 * decided (a sender retrying with a new message) is not decided again: the recorded decision is
 * announced again, unchanged, so the sender can move on.
 */
export async function decideWithdrawal(em: EntityManager, debit: Debit, log: Logger): Promise<void> {
  const w = debit.withdrawal;
  // Decisions of one trader are serialized, so two withdrawals cannot both fit under the same limit.
  await lockUntilCommit(em, `risk:trader:${w.traderId}`);
  const existing = await findDecision(em, w.withdrawalId);
  if (existing) {
    await enqueue(
      em,
      riskEvents.decided,
      { withdrawalId: w.withdrawalId, traderId: existing.traderId, decision: existing.decision, reasons: existing.reasons },
      debit.cause,
    );
    log.info(
      { withdrawalId: w.withdrawalId, decision: existing.decision },
      'withdrawal already decided; the recorded decision is announced again',
    );
    return;
  }
  const result = decide(await decisionInput(em, w));
  await insertDecision(em, w, result, debit.messageId);
  if (result.decision !== 'reject') await countUsage(em, w.withdrawalId, w.traderId, w.debitedMinor);
  await enqueue(
    em,
    riskEvents.decided,
    { withdrawalId: w.withdrawalId, traderId: w.traderId, decision: result.decision, reasons: result.reasons },
    debit.cause,
  );
  log.info({ withdrawalId: w.withdrawalId, decision: result.decision, reasons: result.reasons.map((r) => r.code) }, 'withdrawal decided');
}

async function decisionInput(em: EntityManager, w: WithdrawalDebited): Promise<DecisionInput> {
  // The thresholds and the freeze in one read.
  const { thresholds, freeze } = await loadRules(em);
  return {
    withdrawal: w,
    freeze: freezeFlags(freeze),
    route: thresholds.routes.get(w.paymentRouteId) ?? null,
    limits: thresholds.trader,
    travelRuleThresholdMinor: thresholds.travelRuleThresholdMinor,
    screening: await entriesFor(em, w.traderId, w.destinationFingerprint),
    usage: await usageOf(em, w.traderId),
  };
}
