import { newId, type Cause, type EntityManager } from '@offramp/kit';
import type { DevFundRequest, DevFundResult, LedgerOutcome } from '@offramp/contracts';
import { openAccount } from '../accounts/accounts.ts';
import { applyOperation } from '../transfers/transfers.ts';

/** Undoes the opening of the account when the deposit does not take effect. */
class NotFunded extends Error {
  readonly outcome: LedgerOutcome;
  constructor(outcome: LedgerOutcome) {
    super(outcome);
    this.outcome = outcome;
  }
}

/**
 * QA funding: credits the trader's account from `external:deposits` (a system account from the
 * migrations, allowed to go negative), opening the trader's account first if it is missing. Both
 * commit together or not at all: a deposit that does not take effect leaves no account behind.
 * Outcomes are the transfer's: ok, exists (a retry of `id`), exists_with_different_fields (`id`
 * names another transfer), account_not_found (no deposits account in that currency).
 */
export async function devFund(em: EntityManager, req: DevFundRequest, cause: Cause): Promise<DevFundResult> {
  const id = req.id ?? newId();
  const trader = { owner: req.owner, currency: req.currency };
  const deposits = { owner: 'external:deposits', currency: req.currency };
  const transfer = { id, debit: deposits, credit: trader, amountMinor: req.amountMinor, metadata: { reason: 'qa-fund' } };
  try {
    // A savepoint when the caller's transaction is open, so only these writes are undone.
    return await em.transactional(async (tx) => {
      await openAccount(tx, { ...trader, allowNegative: false }, cause);
      const result = await applyOperation(tx, { kind: 'transfer', request: transfer, cause });
      if (result.outcome !== 'ok' && result.outcome !== 'exists') throw new NotFunded(result.outcome);
      return { transferId: id, outcome: result.outcome };
    });
  } catch (err) {
    if (err instanceof NotFunded) return { transferId: id, outcome: err.outcome };
    throw err;
  }
}
