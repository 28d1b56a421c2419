import type { EntityManager } from '@offramp/kit';
import type { Usage } from './limits.ts';

/*
 * Windows are rolling (24 hours, 30 days) rather than calendar days and months, so a trader
 * cannot withdraw twice the daily limit across midnight. Database time is the one clock.
 */

/** What the trader used within each window: withdrawals risk decided approve or review. */
export async function usageOf(em: EntityManager, traderId: string): Promise<Usage> {
  const [row] = await em.execute<{ daily_amount: string; daily_count: number; monthly_amount: string; monthly_count: number }[]>(
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
  await em.execute('insert into velocity_usage (withdrawal_id, trader_id, amount_minor) values (?, ?, ?) on conflict do nothing', [withdrawalId, traderId, amountMinor.toString()], 'run');
}
