import { z } from 'zod';
import { enqueue, queryRow, queryRows, type Cause, type EntityManager } from '@offramp/kit';
import { ledgerEvents, type BalanceView, type OpenAccountRequest, type OpenAccountResult } from '@offramp/contracts';

/** Balance slots of accounts that may go negative (system accounts on every withdrawal). */
export const systemAccountSlots = 16;

const insertedRow = z.object({ id: z.string() });
const allowNegativeRow = z.object({ allow_negative: z.boolean() });
/** Sums of an account's balance slots, as text so no precision is lost before BigInt. */
const balanceRow = z.object({
  owner: z.string(),
  currency: z.string(),
  posted: z.string(),
  dp: z.string(),
  cp: z.string(),
  available: z.string(),
});

/**
 * Opens the account `(owner, currency)`. Only system accounts (`allowNegative`) may go below zero.
 * Outcomes: ok, exists, exists_with_different_fields.
 */
export async function openAccount(em: EntityManager, req: OpenAccountRequest, cause: Cause): Promise<OpenAccountResult> {
  const inserted = await queryRow(
    em,
    insertedRow,
    'insert into accounts (owner, currency, allow_negative, slots) values (?, ?, ?, ?) on conflict (owner, currency) do nothing returning id::text as id',
    [req.owner, req.currency, req.allowNegative, req.allowNegative ? systemAccountSlots : 1],
  );
  if (inserted) {
    await em.execute(
      'insert into balances (account_id, slot, allow_negative) select ?, s, ? from generate_series(0, ? - 1) as s',
      [inserted.id, req.allowNegative, req.allowNegative ? systemAccountSlots : 1],
      'run',
    );
    const account = { owner: req.owner, currency: req.currency, allowNegative: req.allowNegative };
    await enqueue(em, ledgerEvents.accountOpened, account, { ...cause, correlationId: req.owner });
    return { outcome: 'ok', account };
  }
  const row = await queryRow(em, allowNegativeRow, 'select allow_negative from accounts where owner = ? and currency = ?', [
    req.owner,
    req.currency,
  ]);
  const account = { owner: req.owner, currency: req.currency, allowNegative: row!.allow_negative };
  return { outcome: account.allowNegative === req.allowNegative ? 'exists' : 'exists_with_different_fields', account };
}

/** Balances of an owner's accounts, one per currency. */
export async function getBalances(em: EntityManager, owner: string, currency?: string): Promise<BalanceView[]> {
  const rows = await queryRows(
    em,
    balanceRow,
    `select a.owner, a.currency, sum(b.credits_posted - b.debits_posted)::text as posted, sum(b.debits_pending)::text as dp,
            sum(b.credits_pending)::text as cp, sum(b.credits_posted - b.debits_posted - b.debits_pending)::text as available
     from accounts a join balances b on b.account_id = a.id
     where a.owner = ? ${currency ? 'and a.currency = ?' : ''} group by a.owner, a.currency order by a.currency`,
    currency ? [owner, currency] : [owner],
  );
  return rows.map((r) => ({
    owner: r.owner,
    currency: r.currency,
    postedMinor: BigInt(r.posted),
    pendingDebitsMinor: BigInt(r.dp),
    pendingCreditsMinor: BigInt(r.cp),
    availableMinor: BigInt(r.available),
  }));
}
