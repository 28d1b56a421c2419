import { z } from 'zod';
import { queryRowsBound, type EntityManager } from '@offramp/kit';
import {
  riskDecision,
  riskReason,
  type DecisionView,
  type RiskDecision,
  type RiskReason,
  type WithdrawalDebited,
} from '@offramp/contracts';
import { placeParams, type RulesExtra } from '../thresholds/thresholds.ts';
import type { Decision } from './decide.ts';
import { DecisionRecord } from './decisions-entity.ts';

/** The jsonb `reasons` of a recorded decision, checked on every read. */
const recordedReasons = z.array(riskReason);

/** The recorded reasons, checked: a row that does not hold the expected shape is a broken database. */
function reasonsOf(withdrawalId: string, value: unknown): RiskReason[] {
  const reasons = recordedReasons.safeParse(value);
  if (!reasons.success)
    throw new Error(
      `the reasons recorded for withdrawal ${withdrawalId} do not have the expected shape: ${reasons.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return reasons.data;
}

function toView(row: DecisionRecord): DecisionView {
  return {
    withdrawalId: row.withdrawalId,
    traderId: row.traderId,
    country: row.country,
    paymentRouteId: row.paymentRouteId,
    debitedMinor: row.debitedMinor,
    decision: row.decision,
    reasons: reasonsOf(row.withdrawalId, row.reasons),
    decidedAt: row.decidedAt.toISOString(),
  };
}

export async function findDecision(em: EntityManager, withdrawalId: string): Promise<DecisionView | null> {
  const row = await em.findOne(DecisionRecord, { withdrawalId });
  return row ? toView(row) : null;
}

/** The decision already recorded for a withdrawal (what a repeated message announces again), read with the rules (loadRules). */
export const recordedExtra = (withdrawalId: string): RulesExtra => ({
  name: 'recorded',
  sql: `select json_build_object('trader_id', trader_id, 'decision', decision, 'reasons', reasons) from decisions where withdrawal_id = $1`,
  params: [withdrawalId],
});

const recordedJson = z.object({ trader_id: z.string(), decision: riskDecision, reasons: z.unknown() }).nullable();

/** The decision `recordedExtra` read, or null when there is none; its reasons checked as on every read. */
export function recordedFrom(
  withdrawalId: string,
  value: unknown,
): { traderId: string; decision: RiskDecision; reasons: RiskReason[] } | null {
  const row = recordedJson.parse(value);
  if (!row) return null;
  return { traderId: row.trader_id, decision: row.decision, reasons: reasonsOf(withdrawalId, row.reasons) };
}

const decidedRow = z.object({ withdrawal_id: z.string() });

/**
 * Records the decision with all its reasons and, unless it is a reject, counts the withdrawal
 * against the trader's velocity limits: one statement, guarded. It writes nothing and answers false
 * when the withdrawal was decided meanwhile or when the trader's usage is no longer `usageRead`
 * (the value its SQL gave when the decision read it; a decision of the same trader came in
 * between): the caller decides again from a fresh read. The primary keys keep both to one per
 * withdrawal.
 */
export async function recordDecision(
  em: EntityManager,
  w: WithdrawalDebited,
  decision: Decision,
  messageId: string,
  usageRead: { sql: string; params: unknown[]; value: unknown },
): Promise<boolean> {
  // Bound parameters on a fixed text: prepared once per connection, not planned on every withdrawal.
  const rows = await queryRowsBound(
    em,
    decidedRow,
    `with decided as (
       insert into decisions (withdrawal_id, trader_id, country, payment_route_id, debited_minor, decision, reasons, message_id)
       select $1::uuid, $2::text, $3::text, $4::text, $5::numeric, $6::text, $7::jsonb, $8::uuid
       where (${placeParams(usageRead.sql, 8)})::jsonb = $${9 + usageRead.params.length}::jsonb
       on conflict (withdrawal_id) do nothing
       returning withdrawal_id, trader_id, debited_minor, decision),
     counted as (
       insert into velocity_usage (withdrawal_id, trader_id, amount_minor)
       select withdrawal_id, trader_id, debited_minor from decided where decision <> 'reject'
       on conflict do nothing)
     select withdrawal_id from decided`,
    [
      w.withdrawalId,
      w.traderId,
      w.country.toUpperCase(),
      w.paymentRouteId,
      w.debitedMinor.toString(),
      decision.decision,
      JSON.stringify(decision.reasons),
      messageId,
      ...usageRead.params,
      JSON.stringify(usageRead.value),
    ],
  );
  return rows.length === 1;
}
