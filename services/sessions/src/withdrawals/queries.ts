import type { z } from 'zod';
import type { Database } from '@offramp/kit';
import { ok, refuse, type ServiceResult, type sessionsRpc, type WithdrawalView } from '@offramp/contracts';
import { listWithdrawalRows, timelinesOf, toView, viewOf } from './withdrawals-store.ts';
import { exceptionLinksOf } from '../exceptions/exceptions.ts';

type Req<K extends keyof typeof sessionsRpc> = z.output<(typeof sessionsRpc)[K]['request']>;

/** A trader sees only their own withdrawals: another trader's is WITHDRAWAL_NOT_FOUND. Without traderId (operators), any. */
export async function getWithdrawal(db: Database, req: Req<'getWithdrawal'>): Promise<ServiceResult<WithdrawalView>> {
  const em = db.em.fork();
  const view = await viewOf(em, req.withdrawalId, req.traderId);
  if (!view) return refuse('WITHDRAWAL_NOT_FOUND', 'Withdrawal not found');
  // Operators' detail links the exceptions opened about it; a trader's does not show them.
  if (req.traderId === undefined) view.exceptions = (await exceptionLinksOf(em, [view.withdrawalId])).get(view.withdrawalId) ?? [];
  return ok(view);
}

/** Newest first, with their timelines; filtered by trader, status and the stuck flag. */
export async function listWithdrawals(
  db: Database,
  req: Req<'listWithdrawals'>,
): Promise<{ withdrawals: WithdrawalView[]; total: number }> {
  const em = db.em.fork();
  const { rows, total } = await listWithdrawalRows(em, req);
  const timelines = await timelinesOf(
    em,
    rows.map((r) => r.id),
  );
  return { withdrawals: rows.map((r) => toView(r, timelines.get(r.id) ?? [])), total };
}
