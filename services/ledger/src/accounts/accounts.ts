import { enqueue, type Cause, type EntityManager } from '@offramp/kit';
import { ledgerEvents, type BalanceView, type OpenAccountRequest, type OpenAccountResult } from '@offramp/contracts';

/**
 * Opens the account `(owner, currency)`. Only system accounts (`allowNegative`) may go below zero.
 * Outcomes: ok, exists, exists_with_different_fields.
 */
export async function openAccount(em: EntityManager, req: OpenAccountRequest, cause: Cause): Promise<OpenAccountResult> {
  const inserted = await em.execute<{ affectedRows: number }>(
    'insert into accounts (owner, currency, allow_negative) values (?, ?, ?) on conflict (owner, currency) do nothing',
    [req.owner, req.currency, req.allowNegative],
    'run',
  );
  if (inserted.affectedRows === 1) {
    const account = { owner: req.owner, currency: req.currency, allowNegative: req.allowNegative };
    await enqueue(em, ledgerEvents.accountOpened, account, { ...cause, correlationId: req.owner });
    return { outcome: 'ok', account };
  }
  const [row] = await em.execute<{ allow_negative: boolean }[]>('select allow_negative from accounts where owner = ? and currency = ?', [req.owner, req.currency]);
  const account = { owner: req.owner, currency: req.currency, allowNegative: row!.allow_negative };
  return { outcome: account.allowNegative === req.allowNegative ? 'exists' : 'exists_with_different_fields', account };
}

/** Balances of an owner's accounts, one per currency. */
export async function getBalances(em: EntityManager, owner: string, currency?: string): Promise<BalanceView[]> {
  const rows = await em.execute<{ owner: string; currency: string; posted: string; dp: string; cp: string; available: string }[]>(
    `select owner, currency, (credits_posted - debits_posted)::text as posted, debits_pending::text as dp,
            credits_pending::text as cp, (credits_posted - debits_posted - debits_pending)::text as available
     from accounts where owner = ? ${currency ? 'and currency = ?' : ''} order by currency`,
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
