import { z } from 'zod';
import { queryRow, queryRows, type EntityManager } from '@offramp/kit';
import {
  approvalAction,
  approvalResult,
  approvalStatus,
  type ApprovalAction,
  type ApprovalResult,
  type ApprovalStatus,
  type ApprovalView,
} from '@offramp/contracts';

/**
 * SQL over approvals: raw, because every decision is one guarded statement (`where status =
 * 'pending'`), read through the kit's queryRows so each row, jsonb included, is parsed with zod.
 */

const approvalRow = z.object({
  id: z.string(),
  action: approvalAction,
  target: z.string(),
  status: approvalStatus,
  requested_by: z.string(),
  requested_at: z.coerce.date(),
  expires_at: z.coerce.date(),
  decided_by: z.string().nullable(),
  decided_at: z.coerce.date().nullable(),
  note: z.string().nullable(),
  result: approvalResult.nullable(),
});
export type ApprovalRow = z.output<typeof approvalRow>;

const columns = 'id, action, target, status, requested_by, requested_at, expires_at, decided_by, decided_at, note, result';
const countRow = z.object({ n: z.string() });

export const toApprovalView = (r: ApprovalRow): ApprovalView => ({
  approvalId: r.id,
  action: r.action,
  target: r.target,
  status: r.status,
  requestedBy: r.requested_by,
  requestedAt: r.requested_at.toISOString(),
  expiresAt: r.expires_at.toISOString(),
  decidedBy: r.decided_by,
  decidedAt: r.decided_at?.toISOString() ?? null,
  note: r.note,
  result: r.result,
});

export async function insertApproval(
  em: EntityManager,
  a: { id: string; action: ApprovalAction; target: string; requestedBy: string; ttlMinutes: number },
): Promise<ApprovalRow> {
  return (await queryRow(
    em,
    approvalRow,
    `insert into approvals (id, action_kind, action, target, status, requested_by, expires_at)
     values (?, ?, ?::jsonb, ?, 'pending', ?, now() + make_interval(mins => ?)) returning ${columns}`,
    // Encoded as on the wire (amounts in minor units as strings), decoded again by `approvalRow`.
    [a.id, a.action.action, JSON.stringify(z.encode(approvalAction, a.action)), a.target, a.requestedBy, a.ttlMinutes],
  ))!;
}

export const approvalById = (em: EntityManager, id: string) =>
  queryRow(em, approvalRow, `select ${columns} from approvals where id = ?`, [id]);

/** Pending requests past their expiry become `expired` (read paths call it first). */
export async function expireApprovals(em: EntityManager): Promise<void> {
  await em.execute(`update approvals set status = 'expired' where status = 'pending' and expires_at <= now()`);
}

/**
 * Takes a pending, unexpired approval for `operatorId` (a different operator than the requester):
 * to `executing` (a confirmation, which then runs the action) or `declined`. Null when another call
 * took it first, or it expired meanwhile.
 */
export const claimApproval = (em: EntityManager, id: string, operatorId: string, to: 'executing' | 'declined', note: string | null) =>
  queryRow(
    em,
    approvalRow,
    `update approvals set status = ?, decided_by = ?, decided_at = now(), note = ?
     where id = ? and status = 'pending' and expires_at > now() and requested_by <> ? returning ${columns}`,
    [to, operatorId, note, id, operatorId],
  );

/** The end of a confirmation: what the action gave. */
export const finishApproval = (
  em: EntityManager,
  id: string,
  status: Extract<ApprovalStatus, 'confirmed' | 'failed'>,
  result: ApprovalResult,
) =>
  queryRow(
    em,
    approvalRow,
    `update approvals set status = ?, result = ?::jsonb where id = ? and status = 'executing' returning ${columns}`,
    [status, JSON.stringify(result), id],
  );

/** A confirmation whose action could not reach its service (nothing changed): pending again, for another try. */
export const releaseApproval = (em: EntityManager, id: string) =>
  queryRow(
    em,
    approvalRow,
    `update approvals set status = 'pending', decided_by = null, decided_at = null where id = ? and status = 'executing' returning ${columns}`,
    [id],
  );

export async function listApprovalRows(
  em: EntityManager,
  q: { status?: ApprovalStatus | undefined; page: number; limit: number },
): Promise<{ rows: ApprovalRow[]; total: number }> {
  const where = q.status ? 'where status = ?' : '';
  const params = q.status ? [q.status] : [];
  const rows = await queryRows(
    em,
    approvalRow,
    `select ${columns} from approvals ${where} order by requested_at desc, id limit ? offset ?`,
    [...params, q.limit, (q.page - 1) * q.limit],
  );
  const count = await queryRow(em, countRow, `select count(*)::text as n from approvals ${where}`, params);
  return { rows, total: Number(count?.n ?? 0) };
}
