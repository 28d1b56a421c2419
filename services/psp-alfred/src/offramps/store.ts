import { z } from 'zod';
import { offrampStatus, type OfframpStatus } from '@offramp/contracts';
import type { EntityManager } from '@offramp/kit';

/** One withdrawal's order at Alfred: the intent (requested), then the order (created) or the refusal. */
export interface Offramp {
  withdrawalId: string;
  traderId: string;
  fiatAccountId: string;
  cryptoAmountMinor: bigint;
  fiatCurrency: string;
  fiatAmount: string;
  state: 'requested' | 'created' | 'refused';
  attempts: number;
  transactionId: string | null;
  alfredStatus: OfframpStatus | null;
  depositAddress: string | null;
  chain: string | null;
  sentAmountMinor: bigint | null;
  /** The last POST /offramp body sent; replayed as is after an unknown outcome. */
  lastRequest: Record<string, unknown> | null;
}

const row = z.object({
  withdrawal_id: z.string(),
  trader_id: z.string(),
  fiat_account_id: z.string(),
  crypto_amount_minor: z.coerce.bigint(),
  fiat_currency: z.string(),
  fiat_amount: z.string(),
  state: z.enum(['requested', 'created', 'refused']),
  attempts: z.number(),
  transaction_id: z.string().nullable(),
  alfred_status: offrampStatus.nullable(),
  deposit_address: z.string().nullable(),
  chain: z.string().nullable(),
  sent_amount_minor: z.coerce.bigint().nullable(),
  last_request: z.record(z.string(), z.unknown()).nullable(),
});

const toOfframp = (r: unknown): Offramp => {
  const p = row.parse(r);
  return {
    withdrawalId: p.withdrawal_id,
    traderId: p.trader_id,
    fiatAccountId: p.fiat_account_id,
    cryptoAmountMinor: p.crypto_amount_minor,
    fiatCurrency: p.fiat_currency,
    fiatAmount: p.fiat_amount,
    state: p.state,
    attempts: p.attempts,
    transactionId: p.transaction_id,
    alfredStatus: p.alfred_status,
    depositAddress: p.deposit_address,
    chain: p.chain,
    sentAmountMinor: p.sent_amount_minor,
    lastRequest: p.last_request,
  };
};

const columns = `withdrawal_id, trader_id, fiat_account_id, crypto_amount_minor::text, fiat_currency, fiat_amount, state, attempts,
  transaction_id, alfred_status, deposit_address, chain, sent_amount_minor::text, last_request`;

export const terminalStatuses: readonly OfframpStatus[] = ['FIAT_TRANSFER_COMPLETED', 'FAILED'];
const rank: Record<OfframpStatus, number> = {
  CREATED: 0,
  ON_CHAIN_DEPOSIT_RECEIVED: 1,
  TRADE_COMPLETED: 2,
  FIAT_TRANSFER_INITIATED: 3,
  FIAT_TRANSFER_COMPLETED: 4,
  FAILED: 4,
};

/** Whether `next` moves the mirror forward: nothing leaves a terminal status, and no step goes back. */
export const isNewerStatus = (next: OfframpStatus, current: OfframpStatus | null) =>
  current === null || (!terminalStatuses.includes(current) && rank[next] > rank[current]);

export async function findOfframp(em: EntityManager, withdrawalId: string, opts: { lock?: boolean } = {}): Promise<Offramp | null> {
  const rows = await em.execute(`select ${columns} from offramps where withdrawal_id = ?${opts.lock ? ' for update' : ''}`, [withdrawalId]);
  return rows[0] ? toOfframp(rows[0]) : null;
}

export async function findOfframpByTransaction(em: EntityManager, transactionId: string): Promise<Offramp | null> {
  const rows = await em.execute(`select ${columns} from offramps where transaction_id = ? for update`, [transactionId]);
  return rows[0] ? toOfframp(rows[0]) : null;
}

export interface OfframpIntent {
  withdrawalId: string;
  traderId: string;
  fiatAccountId: string;
  cryptoAmountMinor: bigint;
  fiatCurrency: string;
  fiatAmount: string;
}

/** Records the intent once per withdrawal; a repeated command finds the first one. */
export async function insertIntent(em: EntityManager, intent: OfframpIntent): Promise<Offramp> {
  await em.execute(
    `insert into offramps (withdrawal_id, trader_id, fiat_account_id, crypto_amount_minor, fiat_currency, fiat_amount, state)
     values (?, ?, ?, ?, ?, ?, 'requested') on conflict (withdrawal_id) do nothing`,
    [intent.withdrawalId, intent.traderId, intent.fiatAccountId, intent.cryptoAmountMinor.toString(), intent.fiatCurrency, intent.fiatAmount],
    'run',
  );
  return (await findOfframp(em, intent.withdrawalId))!;
}

/** Notes that a POST /offramp is about to leave, with its exact body, before it leaves. */
export async function recordAttempt(em: EntityManager, withdrawalId: string, request: Record<string, unknown>): Promise<void> {
  await em.execute(
    'update offramps set attempts = attempts + 1, last_attempt_at = now(), last_request = ?, updated_at = now() where withdrawal_id = ?',
    [JSON.stringify(request), withdrawalId],
    'run',
  );
}

export async function forgetRequest(em: EntityManager, withdrawalId: string): Promise<void> {
  await em.execute('update offramps set last_request = null, updated_at = now() where withdrawal_id = ?', [withdrawalId], 'run');
}

/** Alfred's transaction id, kept as soon as it is known so a later delivery can look the order up by it. */
export async function recordTransactionId(em: EntityManager, withdrawalId: string, transactionId: string): Promise<void> {
  await em.execute('update offramps set transaction_id = ?, updated_at = now() where withdrawal_id = ? and transaction_id is null', [transactionId, withdrawalId], 'run');
}

export async function markCreated(
  em: EntityManager,
  withdrawalId: string,
  order: { transactionId: string; status: OfframpStatus; depositAddress: string; chain: string; sentAmountMinor: bigint },
): Promise<void> {
  await em.execute(
    `update offramps set state = 'created', transaction_id = ?, alfred_status = ?, deposit_address = ?, chain = ?, sent_amount_minor = ?,
       status_at = now(), updated_at = now() where withdrawal_id = ?`,
    [order.transactionId, order.status, order.depositAddress, order.chain, order.sentAmountMinor.toString(), withdrawalId],
    'run',
  );
}

export async function markRefused(em: EntityManager, withdrawalId: string, refusal: { partnerCode: number | null; message: string; status: number | null }): Promise<void> {
  await em.execute("update offramps set state = 'refused', refusal = ?, updated_at = now() where withdrawal_id = ?", [JSON.stringify(refusal), withdrawalId], 'run');
}

/** Moves the mirror to a newer status (the caller decided it is newer). */
export async function saveStatus(em: EntityManager, withdrawalId: string, status: OfframpStatus, failureReason: string | null, txHash: string | null): Promise<void> {
  await em.execute(
    `update offramps set alfred_status = ?, failure_reason = coalesce(?, failure_reason), deposit_tx_hash = coalesce(?, deposit_tx_hash),
       status_at = now(), updated_at = now() where withdrawal_id = ?`,
    [status, failureReason, txHash, withdrawalId],
    'run',
  );
}

export async function markChecked(em: EntityManager, withdrawalId: string): Promise<void> {
  await em.execute('update offramps set checked_at = now() where withdrawal_id = ?', [withdrawalId], 'run');
}

/** Orders whose status has not moved (nor been checked) for `olderThanSeconds`; all open ones with 0. */
export async function listStale(em: EntityManager, olderThanSeconds: number, limit: number): Promise<Offramp[]> {
  const rows = await em.execute(
    `select ${columns} from offramps
     where state = 'created' and alfred_status not in ('FIAT_TRANSFER_COMPLETED', 'FAILED')
       and greatest(status_at, coalesce(checked_at, status_at)) <= now() - make_interval(secs => ?)
     order by status_at limit ?`,
    [olderThanSeconds, limit],
  );
  return rows.map(toOfframp);
}
