import { z } from 'zod';
import { approvalAction, approvalStatus, screeningKind, screeningVerdict, withdrawalStatus, type ApprovalView } from '@offramp/contracts';

/*
 * Four-eyes approvals as operators see them (snake_case). `request` is the action as it will run:
 * the withdrawal action's body, or the freeze, threshold or screening change.
 */

const timestamp = z.iso.datetime({ offset: true });

/** A page or limit in a query string, as the other operator lists take it. */
const pageNumber = (max: number, fallback: number) =>
  z
    .string()
    .regex(/^[1-9][0-9]{0,6}$/, 'must be a positive integer')
    .transform(Number)
    .pipe(z.number().max(max, `must be at most ${max}`))
    .optional()
    .transform((n) => n ?? fallback)
    .meta({ 'x-integer': { minimum: 1, maximum: max, default: fallback } });

export const adminApprovalsQuery = z.object({
  status: approvalStatus.optional(),
  page: pageNumber(1_000_000, 1),
  limit: pageNumber(100, 50),
});
export const approvalIdParams = z.object({ id: z.uuid('must be a uuid') });
export const adminDecideApprovalBody = z.strictObject({ note: z.string().trim().min(1).max(500).optional() }).optional();

export const approvalActions = [
  'withdrawal_approve',
  'withdrawal_reject',
  'withdrawal_complete',
  'withdrawal_override',
  'freeze_set',
  'thresholds_set',
  'screening_add',
  'screening_remove',
] as const;

export const adminApprovalAnswer = z.object({
  approval_id: z.uuid(),
  action: z.enum(approvalActions),
  /** The withdrawal id, `freeze:<country|global>`, `thresholds` or `screening:<kind>:<value>`. */
  target: z.string(),
  withdrawal_id: z.uuid().nullable(),
  request: z.object({
    reason: z.string().optional(),
    status: withdrawalStatus.optional(),
    reference: z.string().optional(),
    notes: z.string().optional(),
    confirmed_out_of_band: z.boolean().optional(),
    frozen: z.boolean().optional(),
    country: z.string().optional(),
    kind: screeningKind.optional(),
    value: z.string().optional(),
    verdict: screeningVerdict.optional(),
    note: z.string().optional(),
    change: z.record(z.string(), z.unknown()).optional(),
  }),
  status: approvalStatus,
  requested_by: z.string(),
  requested_at: timestamp,
  expires_at: timestamp,
  decided_by: z.string().nullable(),
  decided_at: timestamp.nullable(),
  note: z.string().nullable(),
  /** Once confirmed: `done`, or `refused` with the refusal's code and message (nothing moved). */
  result: z.object({ outcome: z.enum(['done', 'refused']), code: z.string().nullable(), message: z.string().nullable() }).nullable(),
});
export const adminApprovalListAnswer = z.object({
  approvals: z.array(adminApprovalAnswer),
  total: z.number().int(),
  page: z.number().int(),
  limit: z.number().int(),
});

/** The answer of a gated action: 202 with the pending approval a second operator must confirm. */
export const adminPendingApprovalAnswer = z.object({ approval: adminApprovalAnswer });

function requestOf(a: ApprovalView['action']): z.output<typeof adminApprovalAnswer>['request'] {
  switch (a.action) {
    case 'withdrawal_approve':
      return { ...(a.reason !== undefined && { reason: a.reason }) };
    case 'withdrawal_reject':
      return { reason: a.reason };
    case 'withdrawal_complete':
      return {
        reference: a.reference,
        ...(a.notes !== undefined && { notes: a.notes }),
        ...(a.confirmedOutOfBand !== undefined && { confirmed_out_of_band: a.confirmedOutOfBand }),
      };
    case 'withdrawal_override':
      return {
        status: a.status,
        reason: a.reason,
        ...(a.reference !== undefined && { reference: a.reference }),
        ...(a.confirmedOutOfBand !== undefined && { confirmed_out_of_band: a.confirmedOutOfBand }),
      };
    case 'freeze_set':
      return { frozen: a.frozen, reason: a.reason, ...(a.country !== undefined && { country: a.country }) };
    case 'thresholds_set':
      // Amounts in minor units as the strings they travel as.
      return { change: (z.encode(approvalAction, a) as { change: Record<string, unknown> }).change };
    case 'screening_add':
      return { kind: a.kind, value: a.value, verdict: a.verdict, ...(a.note !== undefined && { note: a.note }) };
    case 'screening_remove':
      return { kind: a.kind, value: a.value };
  }
}

export function adminApprovalToWire(v: ApprovalView): z.output<typeof adminApprovalAnswer> {
  return {
    approval_id: v.approvalId,
    action: v.action.action,
    target: v.target,
    withdrawal_id: 'withdrawalId' in v.action ? v.action.withdrawalId : null,
    request: requestOf(v.action),
    status: v.status,
    requested_by: v.requestedBy,
    requested_at: v.requestedAt,
    expires_at: v.expiresAt,
    decided_by: v.decidedBy,
    decided_at: v.decidedAt,
    note: v.note,
    result: v.result ? { outcome: v.result.outcome, code: v.result.code ?? null, message: v.result.message ?? null } : null,
  };
}
