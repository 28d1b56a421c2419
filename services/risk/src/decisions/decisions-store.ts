import { z } from 'zod';
import type { EntityManager } from '@offramp/kit';
import { riskReason, type DecisionView, type WithdrawalDebited } from '@offramp/contracts';
import type { Decision } from './decide.ts';
import { DecisionRecord } from './decisions-entity.ts';

/** The jsonb `reasons` of a recorded decision, checked on every read. */
const recordedReasons = z.array(riskReason);

function toView(row: DecisionRecord): DecisionView {
  const reasons = recordedReasons.safeParse(row.reasons);
  if (!reasons.success)
    throw new Error(
      `the reasons recorded for withdrawal ${row.withdrawalId} do not have the expected shape: ${reasons.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return {
    withdrawalId: row.withdrawalId,
    traderId: row.traderId,
    country: row.country,
    paymentRouteId: row.paymentRouteId,
    debitedMinor: row.debitedMinor,
    decision: row.decision,
    reasons: reasons.data,
    decidedAt: row.decidedAt.toISOString(),
  };
}

export async function findDecision(em: EntityManager, withdrawalId: string): Promise<DecisionView | null> {
  const row = await em.findOne(DecisionRecord, { withdrawalId });
  return row ? toView(row) : null;
}

/** Records the decision with all its reasons; the primary key keeps it to one per withdrawal. */
export async function insertDecision(em: EntityManager, w: WithdrawalDebited, decision: Decision, messageId: string): Promise<void> {
  em.create(DecisionRecord, {
    withdrawalId: w.withdrawalId,
    traderId: w.traderId,
    country: w.country.toUpperCase(),
    paymentRouteId: w.paymentRouteId,
    debitedMinor: w.debitedMinor,
    decision: decision.decision,
    reasons: decision.reasons,
    messageId,
  });
  await em.flush();
}
