import type { EntityManager } from '@offramp/kit';
import type { DecisionView, RiskReason, WithdrawalDebited } from '@offramp/contracts';
import type { Decision } from './decide.ts';

interface DecisionRow {
  withdrawal_id: string;
  trader_id: string;
  country: string;
  payment_route_id: string;
  debited_minor: string;
  decision: DecisionView['decision'];
  reasons: RiskReason[];
  decided_at: Date | string;
}

const columns = 'withdrawal_id, trader_id, country, payment_route_id, debited_minor::text as debited_minor, decision, reasons, decided_at';

function toView(row: DecisionRow): DecisionView {
  return {
    withdrawalId: row.withdrawal_id,
    traderId: row.trader_id,
    country: row.country,
    paymentRouteId: row.payment_route_id,
    debitedMinor: BigInt(row.debited_minor),
    decision: row.decision,
    reasons: row.reasons,
    decidedAt: new Date(row.decided_at).toISOString(),
  };
}

export async function findDecision(em: EntityManager, withdrawalId: string): Promise<DecisionView | null> {
  const [row] = await em.execute<DecisionRow[]>(`select ${columns} from decisions where withdrawal_id = ?`, [withdrawalId]);
  return row ? toView(row) : null;
}

/** Records the decision with all its reasons; the primary key keeps it to one per withdrawal. */
export async function insertDecision(em: EntityManager, w: WithdrawalDebited, decision: Decision, messageId: string): Promise<void> {
  await em.execute(
    `insert into decisions (withdrawal_id, trader_id, country, payment_route_id, debited_minor, decision, reasons, message_id)
     values (?, ?, ?, ?, ?, ?, ?::jsonb, ?)`,
    [w.withdrawalId, w.traderId, w.country.toUpperCase(), w.paymentRouteId, w.debitedMinor.toString(), decision.decision, JSON.stringify(decision.reasons), messageId],
    'run',
  );
}
