import type { z } from 'zod';
import {
  failureMessage,
  messageLanguage,
  type DecisionView,
  type offrampSyncDetail,
  type TimelineEntry,
  type WithdrawalView,
} from '@offramp/contracts';
import { quoteToWire, usdt } from '../edge/wire.ts';

type SyncDetail = z.output<typeof offrampSyncDetail>;

const kindOf = (t: TimelineEntry) => t.kind ?? (t.refusedCode ? 'refused' : 'transition');

function timelineToWire(t: TimelineEntry) {
  return { kind: kindOf(t), from: t.from, to: t.to, actor: t.actor, reason: t.reason, refused_code: t.refusedCode, at: t.at };
}

/** The risk decision as risk recorded it when known, else the copy the withdrawal keeps. */
function riskDecisionToWire(w: WithdrawalView, recorded: DecisionView | null | undefined) {
  if (recorded) return { decision: recorded.decision, reasons: recorded.reasons, decided_at: recorded.decidedAt };
  if (w.riskDecision) return { decision: w.riskDecision.decision, reasons: w.riskDecision.reasons, decided_at: w.riskDecision.at };
  return null;
}

/** Who approved (risk or an operator) and when: the last transition into `approved`. */
function approvalOf(w: WithdrawalView) {
  const approval = w.timeline.findLast((t) => t.to === 'approved' && kindOf(t) === 'transition');
  return { approved_by: approval?.actor ?? null, approved_at: approval?.at ?? null };
}

type OperatorAction = 'approve' | 'reject' | 'process' | 'complete' | 'override';

/**
 * The operator actions legal in each status, as the state machine of sessions has them
 * (services/sessions/src/withdrawals/state-machine.ts): approve from in_review, re-dispatch an
 * approved one, complete a processing one, reject and override wherever an edge leaves the status.
 */
const allowedActions: Record<WithdrawalView['status'], OperatorAction[]> = {
  pending: ['reject', 'override'],
  in_review: ['approve', 'reject', 'override'],
  approved: ['reject', 'process', 'override'],
  processing: ['reject', 'complete', 'override'],
  completed: [],
  rejected: [],
};

/**
 * A withdrawal as operators see it (snake_case): amounts, quote, masked fiat account, risk
 * decision, PSP transaction and the full audit timeline. `recorded` is risk's own decision record.
 */
export function adminWithdrawalToWire(w: WithdrawalView, recorded?: DecisionView | null) {
  const account = w.fiatAccount;
  return {
    withdrawal_id: w.withdrawalId,
    user_id: w.traderId,
    status: w.status,
    country: w.country ?? null,
    payment_route_id: w.paymentRouteId,
    fiat_amount: w.fiatAmount,
    fiat_currency: w.fiatCurrency,
    crypto_amount: usdt(w.debitedMinor),
    crypto_currency: 'USDT' as const,
    quote: w.quote ? quoteToWire(w.quote) : null,
    fiat_account: account
      ? {
          fiat_account_id: w.fiatAccountId,
          type: account.type,
          masked_number: account.maskedNumber,
          account_holder_name: account.accountHolderName,
          bank_name: account.bankName,
        }
      : null,
    risk_decision: riskDecisionToWire(w, recorded),
    psp_transaction: w.pspTransactionId
      ? { provider: 'alfred' as const, transaction_id: w.pspTransactionId, settlement_reference: w.settlementReference ?? null }
      : null,
    psp_transaction_id: w.pspTransactionId,
    failure_reason: w.failureReason ?? null,
    // The class, the message the trader is shown (in the trader's country's language) and Alfred's raw reason.
    failure: w.failureClass
      ? {
          class: w.failureClass,
          message: failureMessage(w.failureClass, messageLanguage(null, w.country)),
          raw_reason: w.failureReason ?? null,
        }
      : null,
    settlement_reference: w.settlementReference ?? null,
    stuck_since: w.stuckSince ?? null,
    ...approvalOf(w),
    allowed_actions: allowedActions[w.status],
    created_at: w.createdAt,
    updated_at: w.updatedAt,
    timeline: w.timeline.map(timelineToWire),
    // The detail links the exceptions opened about the withdrawal (sessions fills them for operators).
    ...(w.exceptions && { exceptions: w.exceptions.map((e) => ({ exception_id: e.exceptionId, kind: e.kind, status: e.status })) }),
  };
}

/** One order looked at by reconciliation; `synced` is false when Alfred could not be read. */
export function syncDetailToWire(d: SyncDetail) {
  return {
    withdrawal_id: d.withdrawalId,
    transaction_id: d.transactionId,
    previous_status: d.previousStatus,
    status: d.status,
    outcome: d.outcome,
    synced: d.outcome !== 'failed',
    error: d.error ?? null,
  };
}
