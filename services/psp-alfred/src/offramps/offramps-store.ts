import { z } from 'zod';
import { offrampStatus, type OfframpStatus } from '@offramp/contracts';
import { executeBound, queryRowsBound, type EntityManager } from '@offramp/kit';

/** Why no order was made for an intent: Alfred's refusal (its code and HTTP status) or our precondition's. */
export interface OrderRefusal {
  partnerCode: number | null;
  message: string;
  status: number | null;
}

/**
 * One withdrawal's order at Alfred: the intent (requested), then the order (created) or the refusal;
 * `fenced` when an operator's decision came before any order was sent (none will be).
 */
export interface Offramp {
  withdrawalId: string;
  traderId: string;
  fiatAccountId: string;
  cryptoAmountMinor: bigint;
  fiatCurrency: string;
  fiatAmount: string;
  state: 'requested' | 'created' | 'refused' | 'fenced';
  /** 1 for the first order; n > 1 a new order after the previous one FAILED (a re-dispatch). */
  dispatch: number;
  attempts: number;
  transactionId: string | null;
  alfredStatus: OfframpStatus | null;
  depositAddress: string | null;
  chain: string | null;
  sentAmountMinor: bigint | null;
  /** The last POST /offramp body sent; replayed as is after an unknown outcome. */
  lastRequest: Record<string, unknown> | null;
  /** The refusal of a `refused` intent. */
  refusal: OrderRefusal | null;
}

const row = z.object({
  withdrawal_id: z.string(),
  trader_id: z.string(),
  fiat_account_id: z.string(),
  crypto_amount_minor: z.coerce.bigint(),
  fiat_currency: z.string(),
  fiat_amount: z.string(),
  state: z.enum(['requested', 'created', 'refused', 'fenced']),
  dispatch: z.number(),
  attempts: z.number(),
  transaction_id: z.string().nullable(),
  alfred_status: offrampStatus.nullable(),
  deposit_address: z.string().nullable(),
  chain: z.string().nullable(),
  sent_amount_minor: z.coerce.bigint().nullable(),
  last_request: z.record(z.string(), z.unknown()).nullable(),
  refusal: z.object({ partnerCode: z.number().nullable(), message: z.string(), status: z.number().nullable() }).nullable(),
});

const toOfframp = (p: z.output<typeof row>): Offramp => ({
  withdrawalId: p.withdrawal_id,
  traderId: p.trader_id,
  fiatAccountId: p.fiat_account_id,
  cryptoAmountMinor: p.crypto_amount_minor,
  fiatCurrency: p.fiat_currency,
  fiatAmount: p.fiat_amount,
  state: p.state,
  dispatch: p.dispatch,
  attempts: p.attempts,
  transactionId: p.transaction_id,
  alfredStatus: p.alfred_status,
  depositAddress: p.deposit_address,
  chain: p.chain,
  sentAmountMinor: p.sent_amount_minor,
  lastRequest: p.last_request,
  refusal: p.refusal,
});

/**
 * Every statement here runs with its parameters bound (`queryRowsBound`, `executeBound`) on a fixed
 * text, so Postgres parses each once per connection instead of on every call: a create-offramp
 * runs about ten of them (the intent insert alone was 1.4 ms of planning per call in
 * pg_stat_statements).
 */
async function oneRow<S extends z.ZodType>(
  em: EntityManager,
  schema: S,
  sql: string,
  params: readonly unknown[],
): Promise<z.output<S> | null> {
  const rows = await queryRowsBound(em, schema, sql, params);
  if (rows.length > 1) throw new Error(`expected at most one row, got ${rows.length}`);
  return rows[0] ?? null;
}

const columns = `withdrawal_id, trader_id, fiat_account_id, crypto_amount_minor::text, fiat_currency, fiat_amount, state, dispatch, attempts,
  transaction_id, alfred_status, deposit_address, chain, sent_amount_minor::text, last_request, refusal`;

const find = `select ${columns} from offramps where withdrawal_id = $1`;
const findLocked = `${find} for update`;

export async function findOfframp(em: EntityManager, withdrawalId: string, opts: { lock?: boolean } = {}): Promise<Offramp | null> {
  const found = await oneRow(em, row, opts.lock ? findLocked : find, [withdrawalId]);
  return found ? toOfframp(found) : null;
}

/** Takes the withdrawal's offramp lock (every create, replay and fence of one withdrawal takes turns on it). */
export async function lockWithdrawal(em: EntityManager, withdrawalId: string): Promise<void> {
  await executeBound(em, 'select pg_advisory_xact_lock(hashtext($1::text))', [`offramp:${withdrawalId}`]);
}

const lockedRow = z.object({ locked: z.boolean() });

/** The same lock without waiting: false while a create-offramp is handling the withdrawal. */
export async function tryLockWithdrawal(em: EntityManager, withdrawalId: string): Promise<boolean> {
  const taken = await oneRow(em, lockedRow, 'select pg_try_advisory_xact_lock(hashtext($1::text)) as locked', [`offramp:${withdrawalId}`]);
  return taken?.locked === true;
}

export async function findOfframpByTransaction(em: EntityManager, transactionId: string): Promise<Offramp | null> {
  const found = await oneRow(em, row, `select ${columns} from offramps where transaction_id = $1 for update`, [transactionId]);
  return found ? toOfframp(found) : null;
}

export interface OfframpIntent {
  withdrawalId: string;
  traderId: string;
  fiatAccountId: string;
  cryptoAmountMinor: bigint;
  fiatCurrency: string;
  fiatAmount: string;
}

/**
 * Records the intent once per withdrawal (born `fenced` when a fence came first); a repeated command
 * finds the first one. One statement: the row inserted, or else the row already there (which the
 * statement's snapshot shows when it was committed before it began: under the withdrawal's lock
 * it always was; a row committed meanwhile by an insert racing this one is read afresh).
 */
export async function insertIntent(em: EntityManager, intent: OfframpIntent): Promise<Offramp> {
  const found = await oneRow(
    em,
    row,
    `with inserted as (
       insert into offramps (withdrawal_id, trader_id, fiat_account_id, crypto_amount_minor, fiat_currency, fiat_amount, state)
       values ($1::uuid, $2, $3, $4, $5, $6, case when exists (select 1 from offramp_fences where withdrawal_id = $1::uuid) then 'fenced' else 'requested' end)
       on conflict (withdrawal_id) do nothing
       returning ${columns})
     select * from inserted
     union all
     select ${columns} from offramps where withdrawal_id = $1::uuid and not exists (select 1 from inserted)`,
    [
      intent.withdrawalId,
      intent.traderId,
      intent.fiatAccountId,
      intent.cryptoAmountMinor.toString(),
      intent.fiatCurrency,
      intent.fiatAmount,
    ],
  );
  return found ? toOfframp(found) : (await findOfframp(em, intent.withdrawalId))!;
}

/**
 * A re-dispatch (dispatch n > 1) of a withdrawal whose current order is an earlier dispatch:
 * `started` when that order FAILED (final at Alfred): it is kept in offramp_previous_orders and the
 * row becomes a fresh intent of dispatch n; `not_final` while it is not FAILED (never two orders
 * live at once); `done` when the row already is at dispatch n or later. The caller holds the lock.
 */
export async function startRedispatch(
  em: EntityManager,
  withdrawalId: string,
  dispatch: number,
): Promise<'started' | 'not_final' | 'done'> {
  const current = await findOfframp(em, withdrawalId, { lock: true });
  if (!current || current.dispatch >= dispatch) return 'done';
  if (current.state !== 'created' || current.alfredStatus !== 'FAILED' || !current.transactionId) return 'not_final';
  await executeBound(
    em,
    `insert into offramp_previous_orders (withdrawal_id, dispatch, transaction_id, alfred_status, failure_reason, sent_amount_minor)
     select withdrawal_id, dispatch, transaction_id, alfred_status, failure_reason, sent_amount_minor from offramps where withdrawal_id = $1`,
    [withdrawalId],
  );
  await executeBound(
    em,
    `update offramps set dispatch = $1, state = 'requested', attempts = 0, last_attempt_at = null, transaction_id = null, alfred_status = null,
       failure_reason = null, deposit_address = null, chain = null, sent_amount_minor = null, deposit_tx_hash = null, last_request = null,
       refusal = null, status_at = null, checked_at = null, updated_at = now()
     where withdrawal_id = $2`,
    [dispatch, withdrawalId],
  );
  return 'started';
}

/** Notes that a POST /offramp is about to leave, with its exact body, before it leaves. */
export async function recordAttempt(em: EntityManager, withdrawalId: string, request: Record<string, unknown>): Promise<void> {
  await executeBound(
    em,
    'update offramps set attempts = attempts + 1, last_attempt_at = now(), last_request = $1::jsonb, updated_at = now() where withdrawal_id = $2',
    [JSON.stringify(request), withdrawalId],
  );
}

export async function forgetRequest(em: EntityManager, withdrawalId: string): Promise<void> {
  await executeBound(em, 'update offramps set last_request = null, updated_at = now() where withdrawal_id = $1', [withdrawalId]);
}

/** Alfred's transaction id, kept as soon as it is known so a later delivery can look the order up by it. */
export async function recordTransactionId(em: EntityManager, withdrawalId: string, transactionId: string): Promise<void> {
  await executeBound(
    em,
    'update offramps set transaction_id = $1, updated_at = now() where withdrawal_id = $2 and transaction_id is null',
    [transactionId, withdrawalId],
  );
}

export async function markCreated(
  em: EntityManager,
  withdrawalId: string,
  order: { transactionId: string; status: OfframpStatus; depositAddress: string; chain: string; sentAmountMinor: bigint },
): Promise<void> {
  await executeBound(
    em,
    `update offramps set state = 'created', transaction_id = $1, alfred_status = $2, deposit_address = $3, chain = $4,
       sent_amount_minor = $5, status_at = now(), updated_at = now() where withdrawal_id = $6`,
    [order.transactionId, order.status, order.depositAddress, order.chain, order.sentAmountMinor.toString(), withdrawalId],
  );
}

/** Whether no order can exist for the intent: nothing was sent, or what was sent was refused as a whole. */
export const nothingSent = (o: Offramp) => o.state === 'requested' && o.transactionId === null && o.lastRequest === null;

/**
 * Fences a withdrawal off Alfred: a later create-offramp command does nothing. Only for an intent
 * with nothing sent (or none yet); the caller holds the withdrawal's lock.
 */
export async function fenceOff(em: EntityManager, withdrawalId: string): Promise<void> {
  await executeBound(em, 'insert into offramp_fences (withdrawal_id) values ($1) on conflict do nothing', [withdrawalId]);
  await executeBound(
    em,
    `update offramps set state = 'fenced', updated_at = now() where withdrawal_id = $1 and state = 'requested' and transaction_id is null and last_request is null`,
    [withdrawalId],
  );
}

export async function markRefused(em: EntityManager, withdrawalId: string, refusal: OrderRefusal): Promise<void> {
  await executeBound(em, "update offramps set state = 'refused', refusal = $1::jsonb, updated_at = now() where withdrawal_id = $2", [
    JSON.stringify(refusal),
    withdrawalId,
  ]);
}

/** Moves the mirror to a newer status (the caller decided it is newer). */
export async function saveStatus(
  em: EntityManager,
  withdrawalId: string,
  status: OfframpStatus,
  failureReason: string | null,
  txHash: string | null,
): Promise<void> {
  await executeBound(
    em,
    `update offramps set alfred_status = $1, failure_reason = coalesce($2::text, failure_reason),
       deposit_tx_hash = coalesce($3::text, deposit_tx_hash), status_at = now(), updated_at = now() where withdrawal_id = $4`,
    [status, failureReason, txHash, withdrawalId],
  );
}

export async function markChecked(em: EntityManager, withdrawalId: string): Promise<void> {
  await executeBound(em, 'update offramps set checked_at = now() where withdrawal_id = $1', [withdrawalId]);
}

/**
 * Orders whose status has not moved (nor been checked) for `olderThanSeconds` (all of them with 0)
 * and whose withdrawal may still wait: open at Alfred, or final in the mirror although no final
 * status of theirs was ever published (`finalUnpublished`).
 */
const staleRow = row.extend({ final_unpublished: z.boolean() });

export async function listStale(
  em: EntityManager,
  olderThanSeconds: number,
  limit: number,
): Promise<(Offramp & { finalUnpublished: boolean })[]> {
  const rows = await queryRowsBound(
    em,
    staleRow,
    `select * from (
       select ${columns}, status_at, checked_at,
         alfred_status in ('FIAT_TRANSFER_COMPLETED', 'FAILED') and not exists (
           select 1 from partner_events pe where pe.event_type = 'OFFRAMP' and pe.reference_id = offramps.transaction_id
             and pe.status in ('FIAT_TRANSFER_COMPLETED', 'FAILED') and pe.outcome = 'applied') as final_unpublished
       from offramps where state = 'created') o
     where (o.alfred_status not in ('FIAT_TRANSFER_COMPLETED', 'FAILED') or o.final_unpublished)
       and greatest(o.status_at, coalesce(o.checked_at, o.status_at)) <= now() - make_interval(secs => $1::double precision)
     order by o.status_at limit $2::bigint`,
    [olderThanSeconds, limit],
  );
  return rows.map((r) => ({ ...toOfframp(r), finalUnpublished: r.final_unpublished }));
}

const keptRow = z.object({
  reference_id: z.string(),
  status: z.string(),
  received_at: z.coerce.date(),
  source: z.enum(['webhook', 'reconciliation']),
});

/**
 * OFFRAMP events still kept for an unknown reference, received at least `olderThanSeconds` ago,
 * oldest first; a reference already reported as unknown is left to the operators.
 */
export async function listKeptUnknown(
  em: EntityManager,
  olderThanSeconds: number,
  limit: number,
): Promise<{ referenceId: string; status: string; receivedAt: string; source: string }[]> {
  const rows = await queryRowsBound(
    em,
    keptRow,
    `select reference_id, status, received_at, source from partner_events
     where event_type = 'OFFRAMP' and outcome = 'unknown_reference' and received_at <= now() - make_interval(secs => $1::double precision)
       and not exists (select 1 from discrepancies d where d.key = 'unknown_partner_reference:' || reference_id)
     order by received_at limit $2::bigint`,
    [olderThanSeconds, limit],
  );
  return rows.map((r) => ({ referenceId: r.reference_id, status: r.status, receivedAt: r.received_at.toISOString(), source: r.source }));
}
