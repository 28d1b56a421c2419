import type { LedgerOutcome, TransferRequest, TransferView, ResolveHoldRequest } from '@offramp/contracts';

/** Pure checks on a request before touching accounts: `ok` or `currency_mismatch`. */
export function validateTransfer(req: TransferRequest): 'ok' | 'currency_mismatch' {
  return req.debit.currency === req.credit.currency ? 'ok' : 'currency_mismatch';
}

/** Whether an existing transfer is the same as a retried request: `exists` or `exists_with_different_fields`. */
export function compareTransfer(existing: TransferView, kind: 'transfer' | 'hold', req: TransferRequest): LedgerOutcome {
  const same =
    existing.kind === kind &&
    existing.debit.owner === req.debit.owner &&
    existing.debit.currency === req.debit.currency &&
    existing.credit.owner === req.credit.owner &&
    existing.credit.currency === req.credit.currency &&
    existing.amountMinor === req.amountMinor &&
    sameMetadata(existing.metadata, req.metadata);
  return same ? 'exists' : 'exists_with_different_fields';
}

/** Same for a hold resolution: `exists` or `exists_with_different_fields`. */
export function compareResolution(existing: TransferView, kind: 'post' | 'void', req: ResolveHoldRequest): LedgerOutcome {
  return existing.kind === kind && existing.holdId === req.holdId ? 'exists' : 'exists_with_different_fields';
}

/** The outcome of resolving a hold that already has a resolution. */
export function alreadyResolved(resolution: 'post' | 'void'): LedgerOutcome {
  return resolution === 'post' ? 'hold_already_posted' : 'hold_already_voided';
}

function sameMetadata(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
