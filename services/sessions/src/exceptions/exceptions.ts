import { z } from 'zod';
import { enqueue, newId, queryRow, type Cause, type EntityManager } from '@offramp/kit';
import { exceptionEvents, withdrawalStatus, type ExceptionExposure, type ExceptionKind } from '@offramp/contracts';
import { appendTimeline } from '../withdrawals/withdrawals-store.ts';
import { insertException, toExceptionView } from './exceptions-store.ts';

export { exceptionLinksOf } from './exceptions-store.ts';

const statusRow = z.object({ status: withdrawalStatus });

/** What the code that finds a disagreement knows about it. */
export interface OpenException {
  kind: ExceptionKind;
  /** Dedupe: one exception per key (e.g. `partner_outcome_after_terminal:<withdrawalId>:<partner status>`). */
  key: string;
  withdrawalId: string | null;
  traderId: string | null;
  partnerReference: string | null;
  /** What disagrees: both states, amounts, currencies, the ledger outcome... */
  facts: Record<string, unknown>;
  exposure: ExceptionExposure;
  /** USDT minor units at stake (0 when no money is exposed). */
  amountMinor: bigint;
}

/**
 * Opens an exception in the caller's transaction, so it exists if and only if the work that found
 * the disagreement commits. Idempotent by `key` (unique index): a second call returns the first
 * exception with `opened: false` and enqueues nothing. A new one is announced through the outbox
 * (`exceptionEvents.opened`) and noted on its withdrawal's timeline.
 */
export async function openException(
  em: EntityManager,
  input: OpenException,
  cause: Cause,
): Promise<{ exceptionId: string; opened: boolean }> {
  if (input.amountMinor < 0n) throw new Error('openException: amountMinor must not be negative');
  const { row, inserted } = await insertException(em, { id: newId(), ...input });
  if (!inserted) return { exceptionId: row.id, opened: false };
  await enqueue(em, exceptionEvents.opened, toExceptionView(row, []), cause);
  if (row.withdrawal_id) await noteOnWithdrawal(em, row.withdrawal_id, 'system', `exception ${row.id} opened: ${row.kind}`);
  return { exceptionId: row.id, opened: true };
}

/** A note on the withdrawal's timeline (at its current status); nothing when sessions does not know the withdrawal. */
export async function noteOnWithdrawal(em: EntityManager, withdrawalId: string, actor: string, reason: string): Promise<void> {
  const w = await queryRow(em, statusRow, 'select status from withdrawals where id = ?', [withdrawalId]);
  if (!w) return;
  await appendTimeline(em, withdrawalId, { kind: 'note', from: w.status, to: w.status, actor, reason });
}
