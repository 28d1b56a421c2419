import { z } from 'zod';
import type { RulesExtra } from '../thresholds/thresholds.ts';
import type { Usage } from './limits.ts';

/*
 * Windows are rolling (24 hours, 30 days) rather than calendar days and months, so a trader
 * cannot withdraw twice the daily limit across midnight. Database time is the one clock.
 * Not an entity: usage is counted by one conditional insert (once per withdrawal, whoever
 * retries: decisions-store.ts) and read as sums over those windows.
 */

const minor = z.string().regex(/^\d+$/);
const usageJson = z.object({ daily_amount: minor, daily_count: z.number().int(), monthly_amount: minor, monthly_count: z.number().int() });

/** What the trader used within each window (withdrawals risk decided approve or review), read with the rules (loadRules). */
export const usageExtra = (traderId: string): RulesExtra => ({
  name: 'usage',
  sql: `select json_build_object(
          'daily_amount', coalesce(sum(amount_minor) filter (where counted_at > now() - interval '24 hours'), 0)::text,
          'daily_count', count(*) filter (where counted_at > now() - interval '24 hours'),
          'monthly_amount', coalesce(sum(amount_minor), 0)::text,
          'monthly_count', count(*))
        from velocity_usage where trader_id = $1 and counted_at > now() - interval '30 days'`,
  params: [traderId],
});

/** The usage `usageExtra` read. */
export function usageFrom(value: unknown): Usage {
  const row = usageJson.parse(value);
  return {
    dailyAmountMinor: BigInt(row.daily_amount),
    dailyCount: row.daily_count,
    monthlyAmountMinor: BigInt(row.monthly_amount),
    monthlyCount: row.monthly_count,
  };
}
