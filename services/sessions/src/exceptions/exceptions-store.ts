import { z } from 'zod';
import { queryRow, queryRows, type EntityManager } from '@offramp/kit';
import {
  exceptionExposure,
  exceptionKind,
  exceptionResolution,
  exceptionStatus,
  type ExceptionAction,
  type ExceptionKind,
  type ExceptionLink,
  type ExceptionStatus,
  type ExceptionView,
} from '@offramp/contracts';

/**
 * SQL over exceptions and their actions: raw, because the guards are single statements (the key's
 * `on conflict do nothing`, the row lock every resolution takes), always through the kit's
 * queryRows so each row, jsonb included, is parsed with zod. Every function runs in the caller's
 * transaction.
 */

/** A row as Postgres gives it; `read` validates it (jsonb included) before anything uses it. */
const exceptionRow = z.object({
  id: z.string(),
  key: z.string(),
  kind: exceptionKind,
  status: exceptionStatus,
  withdrawal_id: z.string().nullable(),
  trader_id: z.string().nullable(),
  partner_reference: z.string().nullable(),
  facts: z.record(z.string(), z.unknown()),
  exposure: exceptionExposure,
  amount_minor: z.string().transform((s) => BigInt(s)),
  outstanding_minor: z.string().transform((s) => BigInt(s)),
  opened_at: z.coerce.date(),
  resolved_at: z.coerce.date().nullable(),
  resolution: exceptionResolution.nullable(),
});
export type ExceptionRow = z.output<typeof exceptionRow>;

const actionRow = z.object({
  exception_id: z.string(),
  seq: z.number().int(),
  resolution: exceptionResolution,
  note: z.string(),
  operator_id: z.string(),
  moved_minor: z.string().transform((s) => BigInt(s)),
  transfer_id: z.string().nullable(),
  at: z.coerce.date(),
});
const countRow = z.object({ n: z.string() });
const seqRow = z.object({ n: z.number().int() });
const linkRow = z.object({ id: z.string(), withdrawal_id: z.string(), kind: exceptionKind, status: exceptionStatus });
const openCountRow = z.object({ kind: z.string(), n: z.string() });

const columns = `id, key, kind, status, withdrawal_id, trader_id, partner_reference, facts, exposure,
  amount_minor::text as amount_minor, outstanding_minor::text as outstanding_minor, opened_at, resolved_at, resolution`;

export interface NewExceptionRow {
  id: string;
  key: string;
  kind: ExceptionKind;
  withdrawalId: string | null;
  traderId: string | null;
  partnerReference: string | null;
  facts: Record<string, unknown>;
  exposure: ExceptionRow['exposure'];
  amountMinor: bigint;
}

/** Inserts the exception unless one with its key exists; returns the row and whether this call created it. */
export async function insertException(em: EntityManager, e: NewExceptionRow): Promise<{ row: ExceptionRow; inserted: boolean }> {
  const inserted = await queryRow(
    em,
    exceptionRow,
    `insert into exceptions (id, key, kind, status, withdrawal_id, trader_id, partner_reference, facts, exposure, amount_minor, outstanding_minor)
     values (?, ?, ?, 'open', ?, ?, ?, ?::jsonb, ?, ?, ?)
     on conflict (key) do nothing returning ${columns}`,
    [
      e.id,
      e.key,
      e.kind,
      e.withdrawalId,
      e.traderId,
      e.partnerReference,
      JSON.stringify(e.facts),
      e.exposure,
      e.amountMinor.toString(),
      e.amountMinor.toString(),
    ],
  );
  if (inserted) return { row: inserted, inserted: true };
  const existing = await queryRow(em, exceptionRow, `select ${columns} from exceptions where key = ?`, [e.key]);
  if (!existing) throw new Error(`exception ${e.key} neither inserted nor found`);
  return { row: existing, inserted: false };
}

export async function findException(em: EntityManager, id: string): Promise<ExceptionRow | null> {
  return queryRow(em, exceptionRow, `select ${columns} from exceptions where id = ?`, [id]);
}

/** Reads an exception and locks it until the transaction ends: resolutions of one exception serialize here. */
export async function lockException(em: EntityManager, id: string): Promise<ExceptionRow | null> {
  return queryRow(em, exceptionRow, `select ${columns} from exceptions where id = ? for update`, [id]);
}

export interface ExceptionFilter {
  status?: ExceptionStatus | undefined;
  kind?: ExceptionKind | undefined;
  withdrawalId?: string | undefined;
  page: number;
  limit: number;
}

/** Newest first. */
export async function listExceptionRows(em: EntityManager, f: ExceptionFilter): Promise<{ rows: ExceptionRow[]; total: number }> {
  const where = `where (?::text is null or status = ?) and (?::text is null or kind = ?) and (?::uuid is null or withdrawal_id = ?::uuid)`;
  const params = [f.status ?? null, f.status ?? null, f.kind ?? null, f.kind ?? null, f.withdrawalId ?? null, f.withdrawalId ?? null];
  const rows = await queryRows(
    em,
    exceptionRow,
    `select ${columns} from exceptions ${where} order by opened_at desc, id desc limit ? offset ?`,
    [...params, f.limit, (f.page - 1) * f.limit],
  );
  const count = await queryRow(em, countRow, `select count(*)::text as n from exceptions ${where}`, params);
  return { rows, total: Number(count?.n ?? 0) };
}

export async function actionsOf(em: EntityManager, ids: string[]): Promise<Map<string, ExceptionAction[]>> {
  const out = new Map<string, ExceptionAction[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return out;
  const rows = await queryRows(
    em,
    actionRow,
    `select exception_id, seq, resolution, note, operator_id, moved_minor::text as moved_minor, transfer_id, at
     from exception_actions where exception_id = any(?::uuid[]) order by exception_id, seq`,
    [`{${ids.join(',')}}`],
  );
  for (const r of rows) {
    out.get(r.exception_id)?.push({
      resolution: r.resolution,
      note: r.note,
      operatorId: r.operator_id,
      movedMinor: r.moved_minor,
      transferId: r.transfer_id,
      at: r.at.toISOString(),
    });
  }
  return out;
}

/** The next action's number on a locked exception (1 for the first). */
export async function nextActionSeq(em: EntityManager, exceptionId: string): Promise<number> {
  const row = await queryRow(em, seqRow, 'select coalesce(max(seq), 0)::int + 1 as n from exception_actions where exception_id = ?', [
    exceptionId,
  ]);
  return row!.n;
}

export interface NewAction {
  exceptionId: string;
  seq: number;
  resolution: ExceptionAction['resolution'];
  note: string;
  operatorId: string;
  movedMinor: bigint;
  transferId: string | null;
}

export async function insertAction(em: EntityManager, a: NewAction): Promise<void> {
  await em.execute(
    'insert into exception_actions (exception_id, seq, resolution, note, operator_id, moved_minor, transfer_id) values (?, ?, ?, ?, ?, ?, ?)',
    [a.exceptionId, a.seq, a.resolution, a.note, a.operatorId, a.movedMinor.toString(), a.transferId],
    'run',
  );
}

/** Records what is still outstanding and, when `resolution` is given, closes the exception with it. */
export async function updateException(
  em: EntityManager,
  id: string,
  outstandingMinor: bigint,
  resolution: ExceptionAction['resolution'] | null,
): Promise<void> {
  await em.execute(
    `update exceptions set outstanding_minor = ?,
       status = case when ?::text is null then status else 'resolved' end,
       resolution = coalesce(?::text, resolution),
       resolved_at = case when ?::text is null then resolved_at else now() end
     where id = ?`,
    [outstandingMinor.toString(), resolution, resolution, resolution, id],
    'run',
  );
}

export function toExceptionView(row: ExceptionRow, actions: ExceptionAction[]): ExceptionView {
  return {
    exceptionId: row.id,
    kind: row.kind,
    status: row.status,
    withdrawalId: row.withdrawal_id,
    traderId: row.trader_id,
    partnerReference: row.partner_reference,
    facts: row.facts,
    exposure: row.exposure,
    amountMinor: row.amount_minor,
    outstandingMinor: row.outstanding_minor,
    openedAt: row.opened_at.toISOString(),
    resolvedAt: row.resolved_at ? row.resolved_at.toISOString() : null,
    resolution: row.resolution,
    actions,
  };
}

export async function exceptionViewOf(em: EntityManager, id: string): Promise<ExceptionView | null> {
  const row = await findException(em, id);
  if (!row) return null;
  const actions = await actionsOf(em, [id]);
  return toExceptionView(row, actions.get(id) ?? []);
}

/** The short links a withdrawal's detail shows, oldest first, per withdrawal id. */
export async function exceptionLinksOf(em: EntityManager, withdrawalIds: string[]): Promise<Map<string, ExceptionLink[]>> {
  const out = new Map<string, ExceptionLink[]>(withdrawalIds.map((id) => [id, []]));
  if (withdrawalIds.length === 0) return out;
  const rows = await queryRows(
    em,
    linkRow,
    'select id, withdrawal_id, kind, status from exceptions where withdrawal_id = any(?::uuid[]) order by opened_at, id',
    [`{${withdrawalIds.join(',')}}`],
  );
  for (const r of rows) out.get(r.withdrawal_id)?.push({ exceptionId: r.id, kind: r.kind, status: r.status });
  return out;
}

/** Open exceptions per kind, for the `exceptions_open` gauge. */
export async function countOpen(em: EntityManager): Promise<{ kind: string; n: number }[]> {
  const rows = await queryRows(em, openCountRow, "select kind, count(*)::text as n from exceptions where status = 'open' group by kind");
  return rows.map((r) => ({ kind: r.kind, n: Number(r.n) }));
}
