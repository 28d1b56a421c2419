import { enqueue, on, type EntityManager, type HandlerEntry } from '@offramp/kit';
import { riskEvents, withdrawalEvents, type Envelope, type WithdrawalDebited } from '@offramp/contracts';
import { freezeFlags, readFreeze } from '../freeze/freeze.ts';
import { countUsage, usageOf } from '../limits/usage.ts';
import { lockUntilCommit } from '../locks.ts';
import { entriesFor } from '../screening/screening.ts';
import { loadThresholds } from '../thresholds/thresholds.ts';
import { decide, type DecisionInput } from './decide.ts';
import { findDecision, insertDecision } from './decision-store.ts';

/** The consumer of `withdrawals.debited`: one decision per withdrawal, announced through the outbox. */
export function decisionHandlers(): HandlerEntry[] {
  return [on(withdrawalEvents.debited, decideWithdrawal)];
}

/**
 * Runs inside the inbox transaction, so a redelivered envelope is skipped before it gets here. A
 * second envelope for a withdrawal already decided (a sender retrying with a new message) is not
 * decided again: the recorded decision is announced again, unchanged, so the sender can move on.
 */
async function decideWithdrawal(em: EntityManager, env: Envelope<WithdrawalDebited>): Promise<void> {
  const w = env.payload;
  // Decisions of one trader are serialized, so two withdrawals cannot both fit under the same limit.
  await lockUntilCommit(em, `risk:trader:${w.traderId}`);
  const cause = { correlationId: w.withdrawalId, causationId: env.id, traceId: env.traceId };
  const existing = await findDecision(em, w.withdrawalId);
  if (existing) {
    await enqueue(em, riskEvents.decided, { withdrawalId: w.withdrawalId, traderId: existing.traderId, decision: existing.decision, reasons: existing.reasons }, cause);
    return;
  }
  const result = decide(await decisionInput(em, w));
  await insertDecision(em, w, result, env.id);
  if (result.decision !== 'reject') await countUsage(em, w.withdrawalId, w.traderId, w.debitedMinor);
  await enqueue(em, riskEvents.decided, { withdrawalId: w.withdrawalId, traderId: w.traderId, decision: result.decision, reasons: result.reasons }, cause);
}

async function decisionInput(em: EntityManager, w: WithdrawalDebited): Promise<DecisionInput> {
  const thresholds = await loadThresholds(em);
  return {
    withdrawal: w,
    freeze: freezeFlags(await readFreeze(em)),
    route: thresholds.routes.get(w.paymentRouteId) ?? null,
    limits: thresholds.trader,
    travelRuleThresholdMinor: thresholds.travelRuleThresholdMinor,
    screening: await entriesFor(em, w.traderId, w.destinationFingerprint),
    usage: await usageOf(em, w.traderId),
  };
}
