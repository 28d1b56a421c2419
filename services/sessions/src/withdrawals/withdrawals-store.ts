import { z } from 'zod';
import { executeBound, queryRow, queryRows, queryRowsBound, type EntityManager } from '@offramp/kit';
import {
  payoutFailureClass,
  quoteView,
  withdrawalRiskDecision,
  withdrawalStatus,
  type TimelineEntry,
  type WithdrawalStatus,
  type WithdrawalView,
} from '@offramp/contracts';
import { destination, type Destination } from '../sessions/sessions-store.ts';

/**
 * SQL over withdrawals and their timeline: raw, because each guard is one visible statement (row
 * locks, `skip locked` claims, conditional status updates), always through the kit's queryRows so
 * every row, jsonb included, is parsed with zod. Those every withdrawal runs are bound
 * (`queryRowsBound`, `executeBound`: fixed texts, parsed once per connection instead of on every
 * call; pg_stat_statements put their planning at 0.3-0.4 ms each). Every function runs in the
 * caller's transaction.
 */

/** A withdrawal row as `columns` reads it, jsonb included (checked here, before anything uses it). */
const withdrawalRow = z.object({
  id: z.string(),
  session_id: z.string(),
  trader_id: z.string(),
  status: withdrawalStatus,
  payment_route_id: z.string(),
  country: z.string(),
  fiat_account_id: z.string(),
  fiat_amount: z.string(),
  fiat_currency: z.string(),
  debited_minor: z.string(),
  quote: quoteView,
  destination,
  risk_decision: withdrawalRiskDecision.nullable(),
  psp_transaction_id: z.string().nullable(),
  failure_reason: z.string().nullable(),
  failure_class: payoutFailureClass.nullable(),
  payout_redispatches: z.number(),
  failed_psp_transaction_ids: z.array(z.string()),
  settlement_reference: z.string().nullable(),
  stuck_since: z.coerce.date().nullable(),
  created_at: z.coerce.date(),
  updated_at: z.coerce.date(),
});
export type WithdrawalRow = z.output<typeof withdrawalRow>;

/** What `toWithdrawal` needs of a row (an insert returns no more). */
export const withdrawalCore = withdrawalRow
  .pick({
    id: true,
    session_id: true,
    trader_id: true,
    status: true,
    payment_route_id: true,
    country: true,
    fiat_account_id: true,
    fiat_amount: true,
    fiat_currency: true,
    debited_minor: true,
    quote: true,
    destination: true,
    risk_decision: true,
    psp_transaction_id: true,
  })
  // Read by the decider; an insert's answer does without them (a new withdrawal has none).
  .extend({ payout_redispatches: z.number().optional(), failed_psp_transaction_ids: z.array(z.string()).optional() });

const timelineRow = z.object({
  withdrawal_id: z.string(),
  kind: z.enum(['transition', 'refused', 'note']),
  from_status: withdrawalStatus.nullable(),
  to_status: withdrawalStatus,
  actor: z.string(),
  reason: z.string().nullable(),
  refused_code: z.string().nullable(),
  at: z.coerce.date(),
});
const countRow = z.object({ n: z.string() });
const idRow = z.object({ id: z.string() });
const stuckRow = z.object({ id: z.string(), status: withdrawalStatus, since: z.coerce.date() });
const stuckCountRow = z.object({ status: withdrawalStatus, n: z.string() });

/** The data of a withdrawal that messages about it carry. */
export interface Withdrawal {
  id: string;
  traderId: string;
  status: WithdrawalStatus;
  paymentRouteId: string;
  country: string;
  fiatAccountId: string;
  fiatAmount: string;
  fiatCurrency: string;
  debitedMinor: bigint;
  destination: Destination;
  pspTransactionId: string | null;
  hasRiskDecision: boolean;
  /** bank_unavailable re-dispatches so far, and the references of the FAILED orders they replaced. */
  payoutRedispatches: number;
  failedPspTransactionIds: string[];
}

export function toWithdrawal(row: z.output<typeof withdrawalCore>): Withdrawal {
  return {
    id: row.id,
    traderId: row.trader_id,
    status: row.status,
    paymentRouteId: row.payment_route_id,
    country: row.country,
    fiatAccountId: row.fiat_account_id,
    fiatAmount: row.fiat_amount,
    fiatCurrency: row.fiat_currency,
    debitedMinor: BigInt(row.debited_minor),
    destination: row.destination,
    pspTransactionId: row.psp_transaction_id,
    hasRiskDecision: row.risk_decision !== null,
    payoutRedispatches: row.payout_redispatches ?? 0,
    failedPspTransactionIds: row.failed_psp_transaction_ids ?? [],
  };
}

const columns = `id, session_id, trader_id, status, payment_route_id, country, fiat_account_id, fiat_amount, fiat_currency,
  debited_minor::text as debited_minor, quote, destination, risk_decision, psp_transaction_id, failure_reason, failure_class,
  payout_redispatches, failed_psp_transaction_ids, settlement_reference, stuck_since, created_at, updated_at`;

const selectWithdrawal = `select ${columns} from withdrawals where id = $1`;
const selectWithdrawalLocked = `${selectWithdrawal} for update`;

/** Reads a withdrawal and locks it until the transaction ends: transitions of one withdrawal serialize here. */
export async function lockWithdrawal(em: EntityManager, id: string): Promise<WithdrawalRow | null> {
  const [row] = await queryRowsBound(em, withdrawalRow, selectWithdrawalLocked, [id]);
  return row ?? null;
}

export async function findWithdrawalRow(em: EntityManager, id: string): Promise<WithdrawalRow | null> {
  const [row] = await queryRowsBound(em, withdrawalRow, selectWithdrawal, [id]);
  return row ?? null;
}

export interface ListFilter {
  traderId?: string;
  status?: WithdrawalStatus;
  stuck?: boolean;
  page: number;
  limit: number;
}

export async function listWithdrawalRows(em: EntityManager, f: ListFilter): Promise<{ rows: WithdrawalRow[]; total: number }> {
  const where = `where (?::text is null or trader_id = ?) and (?::text is null or status = ?) and (not ?::boolean or stuck_since is not null)`;
  const params = [f.traderId ?? null, f.traderId ?? null, f.status ?? null, f.status ?? null, f.stuck === true];
  const rows = await queryRows(
    em,
    withdrawalRow,
    `select ${columns} from withdrawals ${where} order by created_at desc, id desc limit ? offset ?`,
    [...params, f.limit, (f.page - 1) * f.limit],
  );
  const count = await queryRow(em, countRow, `select count(*)::text as n from withdrawals ${where}`, params);
  return { rows, total: Number(count?.n ?? 0) };
}

export interface TimelineInput {
  kind: 'transition' | 'refused' | 'note';
  from: WithdrawalStatus | null;
  to: WithdrawalStatus;
  actor: string;
  reason: string | null;
  refusedCode?: string | null;
}

export async function appendTimeline(em: EntityManager, withdrawalId: string, e: TimelineInput): Promise<void> {
  await executeBound(
    em,
    'insert into withdrawal_timeline (withdrawal_id, kind, from_status, to_status, actor, reason, refused_code) values ($1, $2, $3, $4, $5, $6, $7)',
    [withdrawalId, e.kind, e.from, e.to, e.actor, e.reason, e.refusedCode ?? null],
  );
}

/**
 * `insert into withdrawal_timeline` of the entries in bound parameter `$param` (a jsonb array,
 * `timelineParam`), in their order, as a part of a combined statement (`alias as (...)` in its
 * WITH). One fixed text however many entries (none inserts nothing), so the statement is prepared
 * once per connection. The chain trigger fills each row as `appendTimeline` would.
 */
export function timelineInsert(alias: string, param: number): string {
  return `${alias} as (insert into withdrawal_timeline (withdrawal_id, kind, from_status, to_status, actor, reason, refused_code)
      select e.withdrawal_id, e.kind, e.from_status, e.to_status, e.actor, e.reason, e.refused_code
      from rows from (jsonb_to_recordset($${param}::jsonb) as (withdrawal_id uuid, kind text, from_status text, to_status text, actor text,
        reason text, refused_code text)) with ordinality as e (withdrawal_id, kind, from_status, to_status, actor, reason, refused_code, n)
      order by e.n)`;
}

/** The entries of `withdrawalId` as `timelineInsert`'s parameter. */
export function timelineParam(withdrawalId: string, entries: readonly TimelineInput[]): string {
  return JSON.stringify(
    entries.map((e) => ({
      withdrawal_id: withdrawalId,
      kind: e.kind,
      from_status: e.from,
      to_status: e.to,
      actor: e.actor,
      reason: e.reason,
      refused_code: e.refusedCode ?? null,
    })),
  );
}

/** A timeline row as the view shows it. */
function timelineEntryOf(r: Omit<z.output<typeof timelineRow>, 'withdrawal_id'>): TimelineEntry {
  return {
    kind: r.kind,
    from: r.from_status,
    to: r.to_status,
    actor: r.actor,
    reason: r.reason,
    refusedCode: r.refused_code,
    at: r.at.toISOString(),
  };
}

/** The timelines of several withdrawals, oldest entry first. */
export async function timelinesOf(em: EntityManager, ids: string[]): Promise<Map<string, TimelineEntry[]>> {
  const out = new Map<string, TimelineEntry[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return out;
  const rows = await queryRows(
    em,
    timelineRow,
    'select withdrawal_id, kind, from_status, to_status, actor, reason, refused_code, at from withdrawal_timeline where withdrawal_id = any(?::uuid[]) order by seq',
    [`{${ids.join(',')}}`],
  );
  for (const r of rows) {
    out.get(r.withdrawal_id)?.push(timelineEntryOf(r));
  }
  return out;
}

export function toView(row: WithdrawalRow, timeline: TimelineEntry[]): WithdrawalView {
  const dest = row.destination;
  return {
    withdrawalId: row.id,
    traderId: row.trader_id,
    status: row.status,
    paymentRouteId: row.payment_route_id,
    fiatAccountId: row.fiat_account_id,
    fiatAmount: row.fiat_amount,
    fiatCurrency: row.fiat_currency,
    debitedMinor: BigInt(row.debited_minor),
    pspTransactionId: row.psp_transaction_id,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    timeline,
    country: row.country,
    quote: row.quote,
    fiatAccount: {
      type: dest.fiatAccount.type,
      maskedNumber: dest.fiatAccount.maskedNumber,
      accountHolderName: dest.fiatAccount.accountHolderName,
      bankName: dest.fiatAccount.bankName,
    },
    riskDecision: row.risk_decision,
    failureReason: row.failure_reason,
    failureClass: row.failure_class,
    settlementReference: row.settlement_reference,
    stuckSince: row.stuck_since ? row.stuck_since.toISOString() : null,
  };
}

/** A withdrawal with its timeline (oldest entry first), as its view reads them: one statement. */
const withdrawalWithTimelineRow = withdrawalRow.extend({
  timeline: z.array(timelineRow.omit({ withdrawal_id: true })),
});

export async function viewOf(em: EntityManager, id: string, traderId?: string): Promise<WithdrawalView | null> {
  const [row] = await queryRowsBound(
    em,
    withdrawalWithTimelineRow,
    `select ${columns}, coalesce((
       select json_agg(json_build_object('kind', t.kind, 'from_status', t.from_status, 'to_status', t.to_status, 'actor', t.actor,
         'reason', t.reason, 'refused_code', t.refused_code, 'at', t.at) order by t.seq)
       from withdrawal_timeline t where t.withdrawal_id = w.id), '[]'::json) as timeline
     from withdrawals w where w.id = $1`,
    [id],
  );
  if (!row || (traderId !== undefined && row.trader_id !== traderId)) return null;
  return toView(row, row.timeline.map(timelineEntryOf));
}

/**
 * Locks (skip locked, so replicas share the work) the withdrawals in `status` whose `column` is
 * older than `olderThanMs`: the sweeper's candidates for a re-send.
 */
export async function lockStale(
  em: EntityManager,
  status: 'approved' | 'pending',
  column: 'offramp_requested_at' | 'debited_published_at',
  olderThanMs: number,
  limit: number,
): Promise<WithdrawalRow[]> {
  return queryRows(
    em,
    withdrawalRow,
    `select ${columns} from withdrawals where status = ? and ${column} < now() - (? * interval '1 millisecond')
     order by ${column} limit ? for update skip locked`,
    [status, olderThanMs, limit],
  );
}

/**
 * Stamps (skip locked, so replicas share the work) the `approved`/`processing` withdrawals whose
 * status has not moved for `afterMs` and that were not sent to reconciliation in that long either;
 * returns their ids.
 */
export async function claimDueForReconcile(em: EntityManager, afterMs: number, limit: number): Promise<string[]> {
  const rows = await queryRows(
    em,
    idRow,
    `update withdrawals set reconcile_requested_at = now() where id in (
       select id from withdrawals
       where status in ('approved', 'processing') and status_changed_at < now() - (? * interval '1 millisecond')
         and (reconcile_requested_at is null or reconcile_requested_at < now() - (? * interval '1 millisecond'))
       order by coalesce(reconcile_requested_at, status_changed_at) limit ? for update skip locked)
     returning id`,
    [afterMs, afterMs, limit],
  );
  return rows.map((r) => r.id);
}

/** Flags the withdrawals that have stayed in their status past its SLA; returns the newly flagged ones. */
export async function flagStuck(
  em: EntityManager,
  slaMs: number,
  reviewSlaMs: number,
): Promise<{ id: string; status: WithdrawalStatus; since: Date }[]> {
  return queryRows(
    em,
    stuckRow,
    `update withdrawals set stuck_since = now()
     where stuck_since is null and (
       (status in ('pending', 'approved', 'processing') and status_changed_at < now() - (? * interval '1 millisecond'))
       or (status = 'in_review' and status_changed_at < now() - (? * interval '1 millisecond')))
     returning id, status, status_changed_at as since`,
    [slaMs, reviewSlaMs],
  );
}

export async function countStuck(em: EntityManager): Promise<{ status: WithdrawalStatus; n: number }[]> {
  const rows = await queryRows(
    em,
    stuckCountRow,
    'select status, count(*)::text as n from withdrawals where stuck_since is not null group by status',
  );
  return rows.map((r) => ({ status: r.status, n: Number(r.n) }));
}

/** A payout found past its rail's SLA: what the notice, the exception and the note need. */
const delayedRow = z.object({
  id: z.string(),
  trader_id: z.string(),
  country: z.string(),
  payment_route_id: z.string(),
  fiat_amount: z.string(),
  fiat_currency: z.string(),
  debited_minor: z.string(),
  psp_transaction_id: z.string().nullable(),
  since: z.coerce.date(),
});

/**
 * Stamps (skip locked, so replicas share the work) the `processing` withdrawals of `routeIds` that
 * have been processing longer than `slaMs` and were never found delayed, and flags them stuck (as
 * operators list them); returns them. Once each.
 */
export async function claimDelayedPayouts(em: EntityManager, routeIds: string[], slaMs: number, limit: number) {
  return queryRows(
    em,
    delayedRow,
    `update withdrawals w set payout_delayed_at = now(), stuck_since = coalesce(w.stuck_since, now()) where w.id in (
       select id from withdrawals
       where status = 'processing' and payout_delayed_at is null and payment_route_id in (select jsonb_array_elements_text(?::jsonb))
         and status_changed_at < now() - (? * interval '1 millisecond')
       order by status_changed_at limit ? for update skip locked)
     returning w.id, w.trader_id, w.country, w.payment_route_id, w.fiat_amount, w.fiat_currency, w.debited_minor::text as debited_minor,
       w.psp_transaction_id, w.status_changed_at as since`,
    [JSON.stringify(routeIds), slaMs, limit],
  );
}
