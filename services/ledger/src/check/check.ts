import { z } from 'zod';
import { queryRows, type Database } from '@offramp/kit';
import type { CheckResult } from '@offramp/contracts';

/** One account: its stored balance (sum of its slots) and the same recomputed from its transfers, as text. */
const row = z.object({
  owner: z.string(),
  currency: z.string(),
  allow_negative: z.boolean(),
  debits_posted: z.string(),
  credits_posted: z.string(),
  debits_pending: z.string(),
  credits_pending: z.string(),
  sum_dp: z.string(),
  sum_cp: z.string(),
  sum_dpend: z.string(),
  sum_cpend: z.string(),
});

/** Each account's stored balance (sum of its slots) beside the same recomputed from its transfers. */
const recompute = `
  with effects as (
    select debit_account_id as account_id,
           case when kind in ('transfer', 'post') then amount else 0 end as dp, 0::numeric as cp,
           case kind when 'hold' then amount when 'transfer' then 0 else -amount end as dpend, 0::numeric as cpend
    from transfers
    union all
    select credit_account_id, 0, case when kind in ('transfer', 'post') then amount else 0 end,
           0, case kind when 'hold' then amount when 'transfer' then 0 else -amount end
    from transfers
  ), totals as (
    select account_id, sum(dp) as dp, sum(cp) as cp, sum(dpend) as dpend, sum(cpend) as cpend from effects group by account_id
  )
  , stored as (
    select account_id, sum(debits_posted) as dp, sum(credits_posted) as cp, sum(debits_pending) as dpend, sum(credits_pending) as cpend
    from balances group by account_id
  )
  select a.owner, a.currency, a.allow_negative,
         coalesce(s.dp, 0)::text as debits_posted, coalesce(s.cp, 0)::text as credits_posted,
         coalesce(s.dpend, 0)::text as debits_pending, coalesce(s.cpend, 0)::text as credits_pending,
         coalesce(t.dp, 0)::text as sum_dp, coalesce(t.cp, 0)::text as sum_cp,
         coalesce(t.dpend, 0)::text as sum_dpend, coalesce(t.cpend, 0)::text as sum_cpend
  from accounts a left join totals t on t.account_id = a.id left join stored s on s.account_id = a.id
  order by a.currency, a.owner`;

/**
 * Verifies the ledger on one snapshot: per currency all balances sum to zero (posted and pending),
 * each account equals the sum of its transfers, and no account that may not go negative is below zero.
 */
export async function checkLedger(db: Database): Promise<CheckResult> {
  const rows = await db.em
    .fork()
    .transactional((em) => queryRows(em, row, recompute), { isolationLevel: 'repeatable read', readOnly: true });
  const mismatches: CheckResult['mismatches'] = [];
  const totals = new Map<string, { posted: bigint; pending: bigint }>();
  for (const r of rows) {
    const [dp, cp, dpend, cpend] = [BigInt(r.debits_posted), BigInt(r.credits_posted), BigInt(r.debits_pending), BigInt(r.credits_pending)];
    const differs = dp !== BigInt(r.sum_dp) || cp !== BigInt(r.sum_cp) || dpend !== BigInt(r.sum_dpend) || cpend !== BigInt(r.sum_cpend);
    if (differs) {
      mismatches.push({
        kind: 'account_differs_from_postings',
        currency: r.currency,
        owner: r.owner,
        detail: `stored dp=${dp} cp=${cp} dpend=${dpend} cpend=${cpend}; from transfers dp=${r.sum_dp} cp=${r.sum_cp} dpend=${r.sum_dpend} cpend=${r.sum_cpend}`,
      });
    }
    if (!r.allow_negative && cp - dp - dpend < 0n) {
      mismatches.push({ kind: 'account_below_zero', currency: r.currency, owner: r.owner, detail: `available ${cp - dp - dpend}` });
    }
    const t = totals.get(r.currency) ?? { posted: 0n, pending: 0n };
    totals.set(r.currency, { posted: t.posted + cp - dp, pending: t.pending + cpend - dpend });
  }
  for (const [currency, t] of totals) {
    if (t.posted !== 0n || t.pending !== 0n) {
      mismatches.push({ kind: 'currency_not_balanced', currency, owner: null, detail: `posted sum ${t.posted}, pending sum ${t.pending}` });
    }
  }
  return { ok: mismatches.length === 0, accountsChecked: rows.length, currencies: [...totals.keys()], mismatches };
}
