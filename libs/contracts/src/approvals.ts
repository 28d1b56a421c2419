import { z } from 'zod';
import { defineRpc } from './envelope.ts';
import { serviceResult } from './result.ts';
import { setThresholdsRequest, screeningKind, screeningVerdict } from './risk.ts';
import { rpcSubject } from './subjects.ts';
import { principalId, withdrawalStatus } from './withdrawals.ts';

/**
 * Four-eyes: a money-moving or risk-loosening operator action is stored as a pending approval and
 * runs only when a second operator confirms it. The stored action is the exact request the action's
 * rpc takes, without the operator (the confirming operator runs it).
 */
export const approvalAction = z.discriminatedUnion('action', [
  z.object({ action: z.literal('withdrawal_approve'), withdrawalId: z.uuid(), reason: z.string().min(1).max(500).optional() }),
  z.object({ action: z.literal('withdrawal_reject'), withdrawalId: z.uuid(), reason: z.string().min(1).max(500) }),
  z.object({
    action: z.literal('withdrawal_complete'),
    withdrawalId: z.uuid(),
    reference: z.string().min(1).max(200),
    notes: z.string().max(1000).optional(),
    confirmedOutOfBand: z.boolean().optional(),
  }),
  z.object({
    action: z.literal('withdrawal_override'),
    withdrawalId: z.uuid(),
    status: withdrawalStatus,
    reason: z.string().min(1).max(500),
    reference: z.string().min(1).max(200).optional(),
    confirmedOutOfBand: z.boolean().optional(),
  }),
  z.object({
    action: z.literal('freeze_set'),
    frozen: z.boolean(),
    country: z.string().length(2).optional(),
    reason: z.string().min(1).max(500),
  }),
  z.object({ action: z.literal('thresholds_set'), change: setThresholdsRequest.omit({ operatorId: true }) }),
  z.object({
    action: z.literal('screening_add'),
    kind: screeningKind,
    value: z.string().min(1).max(500),
    verdict: screeningVerdict,
    note: z.string().max(1000).optional(),
  }),
  z.object({ action: z.literal('screening_remove'), kind: screeningKind, value: z.string().min(1).max(500) }),
]);
export type ApprovalAction = z.infer<typeof approvalAction>;
export type ApprovalActionKind = ApprovalAction['action'];

/** pending until a second operator decides; `executing` while the confirmed action runs; `failed`: confirmed, but the action was refused (nothing moved). */
export const approvalStatus = z.enum(['pending', 'executing', 'confirmed', 'declined', 'expired', 'failed']);
export type ApprovalStatus = z.infer<typeof approvalStatus>;

/** What running the confirmed action gave: done, or the refusal (its code and message). */
export const approvalResult = z.object({
  outcome: z.enum(['done', 'refused']),
  code: z.string().optional(),
  message: z.string().optional(),
});
export type ApprovalResult = z.infer<typeof approvalResult>;

export const approvalView = z.object({
  approvalId: z.uuid(),
  action: approvalAction,
  /** The withdrawal id, `freeze:<country|global>`, `thresholds` or `screening:<kind>:<value>`. */
  target: z.string(),
  status: approvalStatus,
  requestedBy: z.string(),
  requestedAt: z.iso.datetime({ offset: true }),
  expiresAt: z.iso.datetime({ offset: true }),
  decidedBy: z.string().nullable(),
  decidedAt: z.iso.datetime({ offset: true }).nullable(),
  note: z.string().nullable(),
  result: approvalResult.nullable(),
});
export type ApprovalView = z.infer<typeof approvalView>;

export const approvalsRpc = {
  /** Stores a pending approval of the action, requested by `operatorId`. */
  request: defineRpc(
    rpcSubject('sessions', 'request-approval'),
    z.object({ action: approvalAction, operatorId: principalId }),
    serviceResult(approvalView),
  ),
  /** Newest first; pending requests past their expiry are listed (and stored) as `expired`. */
  list: defineRpc(
    rpcSubject('sessions', 'list-approvals'),
    z.object({
      status: approvalStatus.optional(),
      page: z.number().int().min(1),
      limit: z.number().int().min(1).max(100),
    }),
    z.object({ approvals: z.array(approvalView), total: z.number().int() }),
  ),
  /**
   * Runs the stored action once, as `operatorId` with the requester on the audit entry.
   * APPROVAL_NOT_FOUND 404, FOUR_EYES_REQUIRED 403 (the requester), APPROVAL_EXPIRED 410,
   * APPROVAL_NOT_PENDING 409 (decided already, or being confirmed by another call).
   */
  confirm: defineRpc(
    rpcSubject('sessions', 'confirm-approval'),
    z.object({ approvalId: z.uuid(), operatorId: principalId }),
    serviceResult(approvalView),
  ),
  /** Nothing runs; the same refusals as confirm. */
  decline: defineRpc(
    rpcSubject('sessions', 'decline-approval'),
    z.object({ approvalId: z.uuid(), operatorId: principalId, note: z.string().min(1).max(500).optional() }),
    serviceResult(approvalView),
  ),
};
