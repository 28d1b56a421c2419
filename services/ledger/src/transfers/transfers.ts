import { enqueue, type Cause, type EntityManager } from '@offramp/kit';
import { ledgerEvents, type ResolveHoldRequest, type TransferRequest, type TransferResult } from '@offramp/contracts';
import { accountKey, applyToBalances, findResolution, findTransfer, insertTransfer, lockAccounts } from './store.ts';
import { alreadyResolved, compareResolution, compareTransfer, validateTransfer } from './validate.ts';

/**
 * Moves money now (`transfer`) or reserves it (`hold`: pending until posted or voided). Runs in the
 * caller's transaction. Outcomes: ok, exists, exists_with_different_fields, currency_mismatch,
 * account_not_found, insufficient_funds.
 */
export async function createTransfer(em: EntityManager, kind: 'transfer' | 'hold', req: TransferRequest, cause: Cause): Promise<TransferResult> {
  const valid = validateTransfer(req);
  if (valid !== 'ok') return { outcome: valid, transfer: null };
  const existing = await findTransfer(em, req.id);
  if (existing) return { outcome: compareTransfer(existing, kind, req), transfer: existing };

  const accounts = await lockAccounts(em, [req.debit, req.credit]);
  const debit = accounts.get(accountKey(req.debit));
  const credit = accounts.get(accountKey(req.credit));
  if (!debit || !credit) return { outcome: 'account_not_found', transfer: null };
  if (!debit.allowNegative && debit.availableMinor < req.amountMinor) return { outcome: 'insufficient_funds', transfer: null };

  const inserted = await insertTransfer(em, { id: req.id, kind, debitId: debit.id, creditId: credit.id, amountMinor: req.amountMinor, holdId: null, metadata: req.metadata });
  if (!inserted) {
    // A concurrent request with this id committed between our lookup and our insert.
    const winner = (await findTransfer(em, req.id))!;
    return { outcome: compareTransfer(winner, kind, req), transfer: winner };
  }
  await applyToBalances(em, kind, debit.id, credit.id, req.amountMinor);
  const transfer = (await findTransfer(em, req.id))!;
  await enqueue(em, kind === 'hold' ? ledgerEvents.holdPlaced : ledgerEvents.transferred, transfer, cause);
  return { outcome: 'ok', transfer };
}

/**
 * Posts (money leaves) or voids (money returns) a pending hold, all of it, once. `req.id` is the
 * id of the resolving transfer and the idempotency key. Outcomes: ok, exists,
 * exists_with_different_fields, hold_not_found, hold_already_posted, hold_already_voided.
 */
export async function resolveHold(em: EntityManager, kind: 'post' | 'void', req: ResolveHoldRequest, cause: Cause): Promise<TransferResult> {
  const existing = await findTransfer(em, req.id);
  if (existing) return { outcome: compareResolution(existing, kind, req), transfer: existing };
  const hold = await findTransfer(em, req.holdId);
  if (!hold || hold.kind !== 'hold') return { outcome: 'hold_not_found', transfer: null };

  // Both resolutions of one hold lock the same two accounts, so they run one after the other.
  const accounts = await lockAccounts(em, [hold.debit, hold.credit]);
  const debit = accounts.get(accountKey(hold.debit))!;
  const credit = accounts.get(accountKey(hold.credit))!;
  const resolution = await findResolution(em, hold.id);
  if (resolution) {
    if (resolution.id !== req.id) return { outcome: alreadyResolved(resolution.kind), transfer: await findTransfer(em, resolution.id) };
    const winner = (await findTransfer(em, req.id))!;
    return { outcome: compareResolution(winner, kind, req), transfer: winner };
  }

  const inserted = await insertTransfer(em, { id: req.id, kind, debitId: debit.id, creditId: credit.id, amountMinor: hold.amountMinor, holdId: hold.id, metadata: hold.metadata });
  if (!inserted) {
    const winner = (await findTransfer(em, req.id))!;
    return { outcome: compareResolution(winner, kind, req), transfer: winner };
  }
  await applyToBalances(em, kind, debit.id, credit.id, hold.amountMinor);
  const transfer = (await findTransfer(em, req.id))!;
  await enqueue(em, kind === 'post' ? ledgerEvents.holdPosted : ledgerEvents.holdVoided, transfer, cause);
  return { outcome: 'ok', transfer };
}
