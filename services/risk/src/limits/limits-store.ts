import { z } from 'zod';
import { queryRow, queryRows, type EntityManager } from '@offramp/kit';
import type { Usage } from './limits.ts';

/*
 * Windows are rolling (24 hours, 30 days) rather than calendar days and months, so a trader
 * cannot withdraw twice the daily limit across midnight. Database time is the one clock.
 * Not an entity: usage is counted by one conditional insert (once per withdrawal, whoever
 * retries) and read as sums over those windows.
 */

const minor = z.string().regex(/^\d+$/);
const usageRow = z.object({ daily_amount: minor, daily_count: z.number().int(), monthly_amount: minor, monthly_count: z.number().int() });

/** What the trader used within each window: withdrawals risk decided approve or review. */
export async function usageOf(em: EntityManager, traderId: string): Promise<Usage> {
  const row = await queryRow(
    em,
    usageRow,
    `select coalesce(sum(amount_minor) filter (where counted_at > now() - interval '24 hours'), 0)::text as daily_amount,
            (count(*) filter (where counted_at > now() - interval '24 hours'))::int as daily_count,
            coalesce(sum(amount_minor), 0)::text as monthly_amount,
            count(*)::int as monthly_count
     from velocity_usage where trader_id = ? and counted_at > now() - interval '30 days'`,
    [traderId],
  );
  return {
    dailyAmountMinor: BigInt(row?.daily_amount ?? '0'),
    dailyCount: row?.daily_count ?? 0,
    monthlyAmountMinor: BigInt(row?.monthly_amount ?? '0'),
    monthlyCount: row?.monthly_count ?? 0,
  };
}

/** Counts a decided withdrawal against the trader's limits; once per withdrawal. */
export async function countUsage(em: EntityManager, withdrawalId: string, traderId: string, amountMinor: bigint): Promise<void> {
  await queryRows(
    em,
    z.object({ withdrawal_id: z.string() }),
    'insert into velocity_usage (withdrawal_id, trader_id, amount_minor) values (?, ?, ?) on conflict do nothing returning withdrawal_id',
    [withdrawalId, traderId, amountMinor.toString()],
  );
}
