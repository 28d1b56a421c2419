import { enqueue, type Cause, type EntityManager } from '@offramp/kit';
import { ledgerEvents, type LedgerOutcome, type ResolveHoldRequest, type TransferRequest, type TransferResult, type TransferView } from '@offramp/contracts';
import { accountKey, applyToBalances, findAccounts, findResolution, findTransfer, insertTransfer, type Account } from './store.ts';
import { alreadyResolved, compareResolution, compareTransfer, validateTransfer } from './validate.ts';

/** Aborts the write transaction (or savepoint) with an outcome: nothing it wrote survives. */
class Refusal extends Error {
  readonly outcome: LedgerOutcome | 'taken';
  constructor(outcome: LedgerOutcome | 'taken') {
    super(outcome);
    this.outcome = outcome;
  }
}

/**
 * Runs the writes of one ledger operation in a transaction of their own, or in a savepoint when
 * the caller is already in one (the command consumer's inbox transaction), so a refusal undoes
 * exactly those writes.
 */
async function writeOrRefuse<T>(em: EntityManager, fn: (tx: EntityManager) => Promise<T>): Promise<T | Refusal> {
  try {
    return await em.transactional(fn);
  } catch (err) {
    if (err instanceof Refusal) return err;
    throw err;
  }
}

function viewOf(id: string, kind: TransferView['kind'], debit: Account, credit: Account, amountMinor: bigint, holdId: string | null, metadata: Record<string, string>, createdAt: Date): TransferView {
  return {
    id,
    kind,
    debit: { owner: debit.owner, currency: debit.currency },
    credit: { owner: credit.owner, currency: credit.currency },
    amountMinor,
    holdId,
    holdStatus: kind === 'hold' ? 'pending' : null,
    metadata,
    createdAt: createdAt.toISOString(),
  };
}

/**
 * Moves money now (`transfer`) or reserves it (`hold`: pending until posted or voided). Outcomes:
 * ok, exists, exists_with_different_fields, currency_mismatch, account_not_found, insufficient_funds.
 */
export async function createTransfer(em: EntityManager, kind: 'transfer' | 'hold', req: TransferRequest, cause: Cause): Promise<TransferResult> {
  const valid = validateTransfer(req);
  if (valid !== 'ok') return { outcome: valid, transfer: null };
  const existing = await findTransfer(em, req.id);
  if (existing) return { outcome: compareTransfer(existing, kind, req), transfer: existing };
  const accounts = await findAccounts(em, [req.debit, req.credit]);
  const debit = accounts.get(accountKey(req.debit));
  const credit = accounts.get(accountKey(req.credit));
  if (!debit || !credit) return { outcome: 'account_not_found', transfer: null };

  const result = await writeOrRefuse(em, async (tx) => {
    const createdAt = await insertTransfer(tx, { id: req.id, kind, debitId: debit.id, creditId: credit.id, amountMinor: req.amountMinor, holdId: null, metadata: req.metadata });
    if (!createdAt) throw new Refusal('taken');
    if (!(await applyToBalances(tx, kind, debit, credit, req.amountMinor, req.id))) throw new Refusal('insufficient_funds');
    const transfer = viewOf(req.id, kind, debit, credit, req.amountMinor, null, req.metadata, createdAt);
    await enqueue(tx, kind === 'hold' ? ledgerEvents.holdPlaced : ledgerEvents.transferred, transfer, cause);
    return transfer;
  });
  if (!(result instanceof Refusal)) return { outcome: 'ok', transfer: result };
  if (result.outcome !== 'taken') return { outcome: result.outcome, transfer: null };
  // A concurrent request with this id committed between our lookup and our insert.
  const winner = (await findTransfer(em, req.id))!;
  return { outcome: compareTransfer(winner, kind, req), transfer: winner };
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
  if (hold.holdStatus !== 'pending') return resolvedAlready(em, kind, req);
  const accounts = await findAccounts(em, [hold.debit, hold.credit]);
  const debit = accounts.get(accountKey(hold.debit))!;
  const credit = accounts.get(accountKey(hold.credit))!;

  const result = await writeOrRefuse(em, async (tx) => {
    // The unique index on hold_id lets one resolution in; a concurrent one waits, then gets nothing.
    const createdAt = await insertTransfer(tx, { id: req.id, kind, debitId: debit.id, creditId: credit.id, amountMinor: hold.amountMinor, holdId: hold.id, metadata: hold.metadata });
    if (!createdAt) throw new Refusal('taken');
    await applyToBalances(tx, kind, debit, credit, hold.amountMinor, hold.id);
    const transfer = viewOf(req.id, kind, debit, credit, hold.amountMinor, hold.id, hold.metadata, createdAt);
    await enqueue(tx, kind === 'post' ? ledgerEvents.holdPosted : ledgerEvents.holdVoided, transfer, cause);
    return transfer;
  });
  if (!(result instanceof Refusal)) return { outcome: 'ok', transfer: result };
  return resolvedAlready(em, kind, req);
}

/** The answer when the hold already has a resolution: our own (a retry) or another one. */
async function resolvedAlready(em: EntityManager, kind: 'post' | 'void', req: ResolveHoldRequest): Promise<TransferResult> {
  const mine = await findTransfer(em, req.id);
  if (mine) return { outcome: compareResolution(mine, kind, req), transfer: mine };
  const resolution = (await findResolution(em, req.holdId))!;
  return { outcome: alreadyResolved(resolution.kind), transfer: await findTransfer(em, resolution.id) };
}
