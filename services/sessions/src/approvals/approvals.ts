import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { inTransaction, isInfrastructureError, type Database } from '@offramp/kit';
import {
  ok,
  refuse,
  riskRpc,
  type ApprovalAction,
  type ApprovalResult,
  type approvalsRpc,
  type ApprovalView,
  type ServiceResult,
} from '@offramp/contracts';
import type { Call } from '../call.ts';
import type { OperatorActions } from '../withdrawals/operator.ts';
import {
  approvalById,
  claimApproval,
  expireApprovals,
  finishApproval,
  insertApproval,
  listApprovalRows,
  releaseApproval,
  toApprovalView,
  type ApprovalRow,
} from './approvals-store.ts';

type Req<K extends keyof typeof approvalsRpc> = z.output<(typeof approvalsRpc)[K]['request']>;

export interface ApprovalsDeps {
  db: Database;
  call: Call;
  operator: OperatorActions;
  /** How long a request waits for a second operator (FOUR_EYES_TTL_MINUTES). */
  ttlMinutes: number;
}

/** What the request is about: the withdrawal, or the risk setting. */
function targetOf(a: ApprovalAction): string {
  switch (a.action) {
    case 'withdrawal_approve':
    case 'withdrawal_reject':
    case 'withdrawal_complete':
    case 'withdrawal_override':
      return a.withdrawalId;
    case 'freeze_set':
      return `freeze:${a.country?.toUpperCase() ?? 'global'}`;
    case 'thresholds_set':
      return 'thresholds';
    case 'screening_add':
    case 'screening_remove':
      return `screening:${a.kind}:${a.value}`;
  }
}

/**
 * The audit text of a confirmed action: the operator's own text and both operators. The
 * confirming operator is the actor of the entry; the requester is named in its reason, so the
 * (hash-chained) entry carries both. Cut to the field's limit, the operators kept.
 */
export function fourEyesText(text: string | undefined, requestedBy: string, confirmedBy: string, max: number): string {
  const suffix = `[four-eyes: requested by operator:${requestedBy}, confirmed by operator:${confirmedBy}]`;
  if (!text) return suffix.slice(0, max);
  const room = max - suffix.length - 1;
  return `${room > 0 ? text.slice(0, room) : ''} ${suffix}`.trim().slice(0, max);
}

/**
 * Four-eyes approvals: requests stored pending, listed, confirmed (the action runs once, as the
 * confirming operator) or declined by a different operator; expired after `ttlMinutes`.
 */
export function approvals(deps: ApprovalsDeps) {
  const { db } = deps;

  /** Runs the stored action as `by`; a refusal of the action is its ServiceError. */
  async function run(row: ApprovalRow, by: string, traceId: string): Promise<ServiceResult<unknown>> {
    const a = row.action;
    const text = (t: string | undefined, max: number) => fourEyesText(t, row.requested_by, by, max);
    const riskOperator = `operator:${by}`;
    switch (a.action) {
      case 'withdrawal_approve':
        return deps.operator.approve({ withdrawalId: a.withdrawalId, operatorId: by, reason: text(a.reason, 1000) }, traceId);
      case 'withdrawal_reject':
        return deps.operator.reject({ withdrawalId: a.withdrawalId, operatorId: by, reason: text(a.reason, 1000) }, traceId);
      case 'withdrawal_complete':
        return deps.operator.complete(
          {
            withdrawalId: a.withdrawalId,
            operatorId: by,
            reference: a.reference,
            notes: text(a.notes ?? `confirmed out of band: ${a.reference}`, 2000),
            ...(a.confirmedOutOfBand !== undefined && { confirmedOutOfBand: a.confirmedOutOfBand }),
          },
          traceId,
        );
      case 'withdrawal_override':
        return deps.operator.overrideStatus(
          {
            withdrawalId: a.withdrawalId,
            operatorId: by,
            status: a.status,
            reason: text(a.reason, 1000),
            ...(a.reference && { reference: a.reference }),
            ...(a.confirmedOutOfBand !== undefined && { confirmedOutOfBand: a.confirmedOutOfBand }),
          },
          traceId,
        );
      case 'freeze_set':
        return ok(
          await deps.call(
            riskRpc.setFreeze,
            { frozen: a.frozen, reason: text(a.reason, 500), operatorId: riskOperator, ...(a.country && { country: a.country }) },
            traceId,
          ),
        );
      case 'thresholds_set':
        return deps.call(riskRpc.setThresholds, { ...a.change, reason: text(a.change.reason, 500), operatorId: riskOperator }, traceId);
      case 'screening_add':
        return ok(
          await deps.call(
            riskRpc.addScreeningEntry,
            { kind: a.kind, value: a.value, verdict: a.verdict, note: text(a.note, 1000), operatorId: riskOperator },
            traceId,
          ),
        );
      case 'screening_remove':
        // The removal has no reason in risk's audit: both operators go into its actor.
        return ok(
          await deps.call(
            riskRpc.removeScreeningEntry,
            { kind: a.kind, value: a.value, operatorId: `${riskOperator} (four-eyes, requested by operator:${row.requested_by})` },
            traceId,
          ),
        );
    }
  }

  /** Why a pending-only decision cannot be taken: the refusal for this row and operator. */
  function refusalOf(row: ApprovalRow | null, operatorId: string) {
    if (!row) return refuse('APPROVAL_NOT_FOUND', 'Approval not found');
    if (row.requested_by === operatorId)
      return refuse('FOUR_EYES_REQUIRED', 'The operator who requested this action cannot decide it: a different operator must');
    if (row.status === 'expired' || (row.status === 'pending' && row.expires_at.getTime() <= Date.now()))
      return refuse('APPROVAL_EXPIRED', `The request expired at ${row.expires_at.toISOString()}; request the action again`);
    return refuse('APPROVAL_NOT_PENDING', `The approval is ${row.status}`, { details: { status: row.status } });
  }

  return {
    async request(req: Req<'request'>): Promise<ServiceResult<ApprovalView>> {
      const row = await inTransaction(db, (em) =>
        insertApproval(em, {
          id: randomUUID(),
          action: req.action,
          target: targetOf(req.action),
          requestedBy: req.operatorId,
          ttlMinutes: deps.ttlMinutes,
        }),
      );
      return ok(toApprovalView(row));
    },

    async list(req: Req<'list'>): Promise<{ approvals: ApprovalView[]; total: number }> {
      const em = db.em.fork();
      await expireApprovals(em);
      const { rows, total } = await listApprovalRows(em, req);
      return { approvals: rows.map(toApprovalView), total };
    },

    /** Claims the request (one confirmation wins), runs the action, records what it gave. */
    async confirm(req: Req<'confirm'>, traceId: string): Promise<ServiceResult<ApprovalView>> {
      const em = db.em.fork();
      await expireApprovals(em);
      const claimed = await claimApproval(em, req.approvalId, req.operatorId, 'executing', null);
      if (!claimed) return refusalOf(await approvalById(em, req.approvalId), req.operatorId);
      let outcome: ServiceResult<unknown>;
      try {
        outcome = await run(claimed, req.operatorId, traceId);
      } catch (err) {
        if (!isInfrastructureError(err)) throw err;
        outcome = refuse('PSP_UNAVAILABLE', 'A service did not answer; nothing was changed, try again');
      }
      if (!outcome.ok && outcome.error.code === 'PSP_UNAVAILABLE') {
        // Nothing changed: the request stays pending for another confirmation.
        await releaseApproval(em, claimed.id);
        return outcome;
      }
      const result: ApprovalResult = outcome.ok
        ? { outcome: 'done' }
        : { outcome: 'refused', code: outcome.error.code, message: outcome.error.message };
      const done = await finishApproval(em, claimed.id, outcome.ok ? 'confirmed' : 'failed', result);
      return ok(toApprovalView(done!));
    },

    async decline(req: Req<'decline'>): Promise<ServiceResult<ApprovalView>> {
      const em = db.em.fork();
      await expireApprovals(em);
      const declined = await claimApproval(em, req.approvalId, req.operatorId, 'declined', req.note ?? null);
      if (!declined) return refusalOf(await approvalById(em, req.approvalId), req.operatorId);
      return ok(toApprovalView(declined));
    },
  };
}

export type Approvals = ReturnType<typeof approvals>;
