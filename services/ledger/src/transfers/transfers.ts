import { enqueue, type Cause, type EntityManager } from '@offramp/kit';
import {
  ledgerEvents,
  type LedgerOutcome,
  type ResolveHoldRequest,
  type TransferRequest,
  type TransferResult,
  type TransferView,
} from '@offramp/contracts';
import {
  accountKey,
  applyToBalances,
  findResolution,
  findTransfer,
  insertTransfer,
  type Account,
  type AccountDirectory,
} from './transfers-store.ts';
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

function viewOf(
  id: string,
  kind: TransferView['kind'],
  debit: Account,
  credit: Account,
  amountMinor: bigint,
  holdId: string | null,
  metadata: Record<string, string>,
  createdAt: Date,
): TransferView {
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
export async function createTransfer(
  em: EntityManager,
  accounts: AccountDirectory,
  kind: 'transfer' | 'hold',
  req: TransferRequest,
  cause: Cause,
): Promise<TransferResult> {
  const valid = validateTransfer(req);
  if (valid !== 'ok') return { outcome: valid, transfer: null };
  const found = await accounts.find(em, [req.debit, req.credit]);
  const debit = found.get(accountKey(req.debit));
  const credit = found.get(accountKey(req.credit));
  if (!debit || !credit) {
    // A retry of a transfer whose accounts exist never lands here, so this is not a known id.
    return { outcome: 'account_not_found', transfer: null };
  }

  const result = await writeOrRefuse(em, async (tx) => {
    const createdAt = await insertTransfer(tx, {
      id: req.id,
      kind,
      debitId: debit.id,
      creditId: credit.id,
      amountMinor: req.amountMinor,
      holdId: null,
      metadata: req.metadata,
    });
    if (!createdAt) throw new Refusal('taken');
    if (!(await applyToBalances(tx, kind, debit, credit, req.amountMinor, req.id))) throw new Refusal('insufficient_funds');
    const transfer = viewOf(req.id, kind, debit, credit, req.amountMinor, null, req.metadata, createdAt);
    await enqueue(tx, kind === 'hold' ? ledgerEvents.holdPlaced : ledgerEvents.transferred, transfer, cause);
    return transfer;
  });
  if (!(result instanceof Refusal)) return { outcome: 'ok', transfer: result };
  if (result.outcome !== 'taken') return { outcome: result.outcome, transfer: null };
  // The id is taken: a retry (or a concurrent twin) of this request, or a different transfer.
  const existing = (await findTransfer(em, req.id))!;
  return { outcome: compareTransfer(existing, kind, req), transfer: existing };
}

/**
 * Posts (money leaves) or voids (money returns) a pending hold, all of it, once. `req.id` is the
 * id of the resolving transfer and the idempotency key. Outcomes: ok, exists,
 * exists_with_different_fields, hold_not_found, hold_already_posted, hold_already_voided.
 */
export async function resolveHold(
  em: EntityManager,
  accounts: AccountDirectory,
  kind: 'post' | 'void',
  req: ResolveHoldRequest,
  cause: Cause,
): Promise<TransferResult> {
  const hold = await findTransfer(em, req.holdId);
  if (!hold || hold.kind !== 'hold') return { outcome: 'hold_not_found', transfer: null };
  if (hold.holdStatus !== 'pending') return resolvedAlready(em, kind, req);
  const found = await accounts.find(em, [hold.debit, hold.credit]);
  const debit = found.get(accountKey(hold.debit))!;
  const credit = found.get(accountKey(hold.credit))!;

  const result = await writeOrRefuse(em, async (tx) => {
    // The unique indexes (id, hold_id) let one resolution in; a concurrent one waits, then gets nothing.
    const createdAt = await insertTransfer(tx, {
      id: req.id,
      kind,
      debitId: debit.id,
      creditId: credit.id,
      amountMinor: hold.amountMinor,
      holdId: hold.id,
      metadata: hold.metadata,
    });
    if (!createdAt) throw new Refusal('taken');
    await applyToBalances(tx, kind, debit, credit, hold.amountMinor, hold.id);
    const transfer = viewOf(req.id, kind, debit, credit, hold.amountMinor, hold.id, hold.metadata, createdAt);
    await enqueue(tx, kind === 'post' ? ledgerEvents.holdPosted : ledgerEvents.holdVoided, transfer, cause);
    return transfer;
  });
  if (!(result instanceof Refusal)) return { outcome: 'ok', transfer: result };
  return resolvedAlready(em, kind, req);
}

/** The answer when the hold is resolved or our id is taken: our own earlier answer (a retry), or who won. */
async function resolvedAlready(em: EntityManager, kind: 'post' | 'void', req: ResolveHoldRequest): Promise<TransferResult> {
  const mine = await findTransfer(em, req.id);
  if (mine) return { outcome: compareResolution(mine, kind, req), transfer: mine };
  const resolution = await findResolution(em, req.holdId);
  if (!resolution) throw new Error(`hold ${req.holdId} refused a resolution but has none`);
  return { outcome: alreadyResolved(resolution.kind), transfer: await findTransfer(em, resolution.id) };
}
