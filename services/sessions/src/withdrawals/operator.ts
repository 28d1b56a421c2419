import type { z } from 'zod';
import { inTransaction, isInfrastructureError, type Database, type OutboxRelay } from '@offramp/kit';
import { ok, pspAlfredRpc, refuse, type ServiceResult, type WithdrawalView, type withdrawalOperatorRpc } from '@offramp/contracts';
import type { Call } from '../call.ts';
import type { PartnerOrder, WithdrawalEvent } from './decide.ts';
import { applyEvent, type TransitionDeps, type TransitionOutcome } from './transition.ts';
import { viewOf } from './withdrawals-store.ts';

type Req<K extends keyof typeof withdrawalOperatorRpc> = z.output<(typeof withdrawalOperatorRpc)[K]['request']>;

export interface OperatorDeps {
  db: Database;
  relay: OutboxRelay;
  call: Call;
  observe?: TransitionDeps['observe'];
}

/**
 * Operator actions, each audited as `operator:<operatorId>`. An action that may diverge from the
 * partner (a reject or complete of a withdrawal that may have an order at Alfred) first asks
 * psp-alfred for the order's state, and `decide` weighs the answer. Outcomes: the withdrawal after
 * the action, WITHDRAWAL_NOT_FOUND, ALFRED_INCORRECT_STATUS_CHANGE or PARTNER_ORDER_LIVE (written to
 * the timeline as a refused entry; no money moves), or PSP_UNAVAILABLE when psp-alfred, Alfred or
 * the ledger cannot be reached (nothing changed).
 */
export function operatorActions(deps: OperatorDeps) {
  const transitionDeps: TransitionDeps = { call: deps.call, ...(deps.observe ? { observe: deps.observe } : {}) };

  async function act(
    withdrawalId: string,
    traceId: string,
    eventOf: (partner: PartnerOrder | null) => WithdrawalEvent,
    fence = false,
  ): Promise<ServiceResult<WithdrawalView>> {
    const cause = { correlationId: withdrawalId, causationId: null, traceId };
    let partner: PartnerOrder | null = null;
    // Decided under the row lock without Alfred's answer first; asked (outside any transaction) only when the rules need it.
    for (let attempt = 0; attempt < 2; attempt++) {
      let outcome: TransitionOutcome;
      try {
        outcome = await inTransaction(deps.db, (em) => applyEvent(em, transitionDeps, withdrawalId, eventOf(partner), cause));
      } catch (err) {
        // The ledger (or the database) not answering rolled the transaction back: nothing changed.
        if (isInfrastructureError(err))
          return refuse('PSP_UNAVAILABLE', 'The ledger or the database did not answer; nothing was changed, try again');
        throw err;
      }
      deps.relay.wake();
      if (outcome.outcome !== 'ask_partner') return answer(withdrawalId, outcome);
      const asked = await orderState(withdrawalId, fence, traceId);
      if (!asked.ok) return asked;
      partner = asked.data;
    }
    return refuse('PSP_UNAVAILABLE', 'The withdrawal kept changing while Alfred was asked; try again');
  }

  async function orderState(withdrawalId: string, fence: boolean, traceId: string): Promise<ServiceResult<PartnerOrder>> {
    try {
      return await deps.call(pspAlfredRpc.orderState, { withdrawalId, fence }, traceId);
    } catch (err) {
      if (isInfrastructureError(err))
        return refuse('PSP_UNAVAILABLE', 'Alfred could not be asked for the order; nothing was changed, try again');
      throw err;
    }
  }

  async function answer(
    withdrawalId: string,
    outcome: Exclude<TransitionOutcome, { outcome: 'ask_partner' }>,
  ): Promise<ServiceResult<WithdrawalView>> {
    if (outcome.outcome === 'not_found') return refuse('WITHDRAWAL_NOT_FOUND', 'Withdrawal not found');
    if (outcome.outcome === 'refused') {
      const { code, message, from, to } = outcome.refusal;
      return refuse(code, message, { details: { from, to } });
    }
    return ok((await viewOf(deps.db.em.fork(), withdrawalId))!);
  }

  return {
    approve: (req: Req<'approve'>, traceId: string) =>
      act(req.withdrawalId, traceId, () => ({
        kind: 'operator_approve',
        operatorId: req.operatorId,
        reason: req.reason ?? 'approved after review',
      })),
    /** Fenced: psp-alfred makes no order after it answered `none`, so the refund cannot race a late order. */
    reject: (req: Req<'reject'>, traceId: string) =>
      act(
        req.withdrawalId,
        traceId,
        (partner) => ({ kind: 'operator_reject', operatorId: req.operatorId, reason: req.reason, partner }),
        true,
      ),
    complete: (req: Req<'complete'>, traceId: string) =>
      act(req.withdrawalId, traceId, (partner) => ({
        kind: 'operator_complete',
        operatorId: req.operatorId,
        reference: req.reference,
        notes: req.notes ?? null,
        confirmedOutOfBand: req.confirmedOutOfBand === true,
        partner,
      })),
    overrideStatus: (req: Req<'overrideStatus'>, traceId: string) =>
      act(
        req.withdrawalId,
        traceId,
        (partner) => ({
          kind: 'operator_override',
          operatorId: req.operatorId,
          to: req.status,
          reason: req.reason,
          reference: req.reference ?? null,
          confirmedOutOfBand: req.confirmedOutOfBand === true,
          partner,
        }),
        req.status === 'rejected',
      ),
    /** Re-sends createOfframp for an approved withdrawal; psp-alfred is idempotent by withdrawal id. */
    process: (req: Req<'process'>, traceId: string) =>
      act(req.withdrawalId, traceId, () => ({ kind: 'operator_process', operatorId: req.operatorId })),
  };
}

export type OperatorActions = ReturnType<typeof operatorActions>;
