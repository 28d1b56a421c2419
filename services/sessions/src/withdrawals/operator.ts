import type { z } from 'zod';
import { inTransaction, type Database, type EntityManager, type OutboxRelay } from '@offramp/kit';
import { ok, refuse, type ServiceResult, type WithdrawalView, type withdrawalOperatorRpc } from '@offramp/contracts';
import { applyTrigger, addNote, type TransitionContext, type TransitionOutcome } from './transition.ts';
import type { Trigger } from './state-machine.ts';
import { appendTimeline, lockWithdrawal, toWithdrawal, viewOf } from './withdrawal-store.ts';
import { sendCreateOfframp } from './messages.ts';

type Req<K extends keyof typeof withdrawalOperatorRpc> = z.output<(typeof withdrawalOperatorRpc)[K]['request']>;

export interface OperatorDeps {
  db: Database;
  relay: OutboxRelay;
  observe?: TransitionContext['observe'];
}

/**
 * Operator actions, each audited as `operator:<operatorId>`. Outcomes: the withdrawal after the
 * action, WITHDRAWAL_NOT_FOUND, or ALFRED_INCORRECT_STATUS_CHANGE (written to the timeline as a
 * refused entry; no money moves).
 */
export function operatorActions(deps: OperatorDeps) {
  const ctxOf = (operatorId: string, reason: string | null, traceId: string, withdrawalId: string, patch?: TransitionContext['patch']): TransitionContext => ({
    actor: `operator:${operatorId}`,
    reason,
    cause: { correlationId: withdrawalId, causationId: null, traceId },
    ...(patch ? { patch } : {}),
    ...(deps.observe ? { observe: deps.observe } : {}),
  });

  async function act(withdrawalId: string, work: (em: EntityManager) => Promise<TransitionOutcome>): Promise<ServiceResult<WithdrawalView>> {
    const outcome = await inTransaction(deps.db, work);
    deps.relay.wake();
    if (outcome.outcome === 'not_found') return refuse('WITHDRAWAL_NOT_FOUND', 'Withdrawal not found');
    if (outcome.outcome === 'refused') {
      return refuse('ALFRED_INCORRECT_STATUS_CHANGE', `A ${outcome.from} withdrawal cannot become ${outcome.to}`, { details: { from: outcome.from, to: outcome.to } });
    }
    return ok((await viewOf(deps.db.em.fork(), withdrawalId))!);
  }

  const transition = (withdrawalId: string, trigger: Trigger, ctx: TransitionContext) => act(withdrawalId, (em) => applyTrigger(em, withdrawalId, trigger, ctx));

  return {
    approve: (req: Req<'approve'>, traceId: string) =>
      transition(req.withdrawalId, { kind: 'operator_approve' }, ctxOf(req.operatorId, req.reason ?? 'approved after review', traceId, req.withdrawalId)),
    reject: (req: Req<'reject'>, traceId: string) => transition(req.withdrawalId, { kind: 'operator_reject' }, ctxOf(req.operatorId, req.reason, traceId, req.withdrawalId, { failureReason: req.reason })),
    complete: (req: Req<'complete'>, traceId: string) =>
      transition(
        req.withdrawalId,
        { kind: 'operator_complete' },
        ctxOf(req.operatorId, req.notes ?? `confirmed out of band: ${req.reference}`, traceId, req.withdrawalId, { settlementReference: req.reference }),
      ),
    overrideStatus: (req: Req<'overrideStatus'>, traceId: string) =>
      transition(
        req.withdrawalId,
        { kind: 'operator_override', to: req.status },
        ctxOf(req.operatorId, req.reason, traceId, req.withdrawalId, {
          ...(req.reference ? { settlementReference: req.reference } : {}),
          ...(req.status === 'rejected' ? { failureReason: req.reason } : {}),
        }),
      ),
    /** Re-sends createOfframp for an approved withdrawal; psp-alfred is idempotent by withdrawal id. */
    process: (req: Req<'process'>, traceId: string) =>
      act(req.withdrawalId, async (em) => {
        const row = await lockWithdrawal(em, req.withdrawalId);
        if (!row) return { outcome: 'not_found' };
        const actor = `operator:${req.operatorId}`;
        if (row.status !== 'approved') {
          await appendTimeline(em, row.id, { kind: 'refused', from: row.status, to: 'processing', actor, reason: 're-dispatch of the PSP request', refusedCode: 'ALFRED_INCORRECT_STATUS_CHANGE' });
          return { outcome: 'refused', from: row.status, to: 'processing' };
        }
        await sendCreateOfframp(em, toWithdrawal(row), { correlationId: row.id, causationId: null, traceId });
        await addNote(em, row.id, row.status, actor, 'PSP request re-dispatched');
        return { outcome: 'ok', from: row.status, status: row.status };
      }),
  };
}

export type OperatorActions = ReturnType<typeof operatorActions>;
