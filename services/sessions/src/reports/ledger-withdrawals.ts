import { z } from 'zod';
import { queryRows, type Database } from '@offramp/kit';
import { ledgerRpc, ok, withdrawalStatus, type reportsRpc, type ServiceResult, type LedgerWithdrawal } from '@offramp/contracts';
import type { Call } from '../call.ts';
import { derivedId } from '../withdrawals/messages.ts';

type Request = z.output<typeof reportsRpc.ledgerWithdrawals.request>;

/** How many withdrawals' transfers are read from the ledger at once. */
const parallel = 16;

const row = z.object({
  id: z.string(),
  trader_id: z.string(),
  status: withdrawalStatus,
  fiat_amount: z.string(),
  fiat_currency: z.string(),
  debited_minor: z.string(),
  psp_transaction_id: z.string().nullable(),
  settled_at: z.coerce.date().nullable(),
});

/**
 * `rpc.sessions.report-ledger-withdrawals.v1`: the withdrawals settled on a UTC day (`completed` or
 * `rejected`, the two final statuses, by the time they reached it: a final status is never left,
 * so `status_changed_at` is that transition's time) and the named ones, each with the transfers the
 * ledger holds for it: the hold (id = the withdrawal id) and its post or void (the derived ids
 * transition.ts resolves it with), read one by one through the ledger's getTransfer.
 */
export async function ledgerWithdrawals(
  deps: { db: Database; call: Call },
  req: Request,
  traceId: string,
): Promise<ServiceResult<{ withdrawals: LedgerWithdrawal[] }>> {
  const rows = await queryRows(
    deps.db.em.fork(),
    row,
    `select id, trader_id, status, fiat_amount, fiat_currency, debited_minor::text as debited_minor, psp_transaction_id,
       case when status in ('completed', 'rejected') then status_changed_at end as settled_at
     from withdrawals
     where (status in ('completed', 'rejected')
            and status_changed_at >= (?::date)::timestamp at time zone 'UTC'
            and status_changed_at < (?::date + 1)::timestamp at time zone 'UTC')
        or id = any(?::uuid[])
     order by status_changed_at, id`,
    [req.date ?? null, req.date ?? null, `{${req.withdrawalIds.join(',')}}`],
  );
  const movement = async (id: string) => {
    const { transfer } = await deps.call(ledgerRpc.getTransfer, { id }, traceId);
    return transfer
      ? { transferId: transfer.id, amountMinor: transfer.amountMinor, currency: transfer.debit.currency, at: transfer.createdAt }
      : null;
  };
  const read = async (r: z.output<typeof row>): Promise<LedgerWithdrawal> => {
    const [hold, posted, voided] = await Promise.all([
      movement(r.id),
      movement(derivedId(r.id, 'post-hold')),
      movement(derivedId(r.id, 'void-hold')),
    ]);
    return {
      withdrawalId: r.id,
      traderId: r.trader_id,
      status: r.status,
      settledAt: r.settled_at ? r.settled_at.toISOString() : null,
      fiatAmount: r.fiat_amount,
      fiatCurrency: r.fiat_currency,
      debitedMinor: BigInt(r.debited_minor),
      pspTransactionId: r.psp_transaction_id,
      hold,
      posted,
      voided,
    };
  };
  // A few withdrawals at a time (three ledger reads each), in the day's order.
  const withdrawals: LedgerWithdrawal[] = [];
  for (let i = 0; i < rows.length; i += parallel) withdrawals.push(...(await Promise.all(rows.slice(i, i + parallel).map(read))));
  return ok({ withdrawals });
}
