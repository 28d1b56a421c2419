import { enqueue, type Cause, type EntityManager, type Logger } from '@offramp/kit';
import { riskEvents, type WithdrawalDebited } from '@offramp/contracts';
import { freezeFlags } from '../freeze/freeze.ts';
import { usageExtra, usageFrom } from '../limits/limits-store.ts';
import { lockUntilCommit } from '../locks.ts';
import { screeningExtra, screeningFrom } from '../screening/screening.ts';
import { loadRules } from '../thresholds/thresholds.ts';
import { decide, type DecisionInput } from './decide.ts';
import { recordDecision, recordedExtra, recordedFrom } from './decisions-store.ts';

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
 * announced again, unchanged, so the sender can move on. Three statements of risk's own: the
 * trader's lock; one read of the rules, the usage, the screening entries and any recorded
 * decision; one write of the decision and its usage.
 */
export async function decideWithdrawal(em: EntityManager, debit: Debit, log: Logger): Promise<void> {
  const w = debit.withdrawal;
  // Decisions of one trader are serialized, so two withdrawals cannot both fit under the same limit.
  // The lock is a statement of its own: what is read after it must be read after it was granted
  // (a statement reads the snapshot taken when it started).
  await lockUntilCommit(em, `risk:trader:${w.traderId}`);
  const { input, existing } = await decisionInput(em, w);
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
  const result = decide(input);
  await recordDecision(em, w, result, debit.messageId);
  await enqueue(
    em,
    riskEvents.decided,
    { withdrawalId: w.withdrawalId, traderId: w.traderId, decision: result.decision, reasons: result.reasons },
    debit.cause,
  );
  log.info({ withdrawalId: w.withdrawalId, decision: result.decision, reasons: result.reasons.map((r) => r.code) }, 'withdrawal decided');
}

/** What the decision depends on, and the decision already recorded for the withdrawal if any: one statement. */
async function decisionInput(em: EntityManager, w: WithdrawalDebited) {
  const { thresholds, freeze, extras } = await loadRules(em, [
    usageExtra(w.traderId),
    screeningExtra(w.traderId, w.destinationFingerprint),
    recordedExtra(w.withdrawalId),
  ]);
  const input: DecisionInput = {
    withdrawal: w,
    freeze: freezeFlags(freeze),
    route: thresholds.routes.get(w.paymentRouteId) ?? null,
    limits: thresholds.trader,
    travelRuleThresholdMinor: thresholds.travelRuleThresholdMinor,
    screening: screeningFrom(extras.screening),
    usage: usageFrom(extras.usage),
  };
  return { input, existing: recordedFrom(w.withdrawalId, extras.recorded) };
}
