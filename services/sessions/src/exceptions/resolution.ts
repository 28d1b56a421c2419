import {
  resolutionsByExposure,
  type AccountRef,
  type ExceptionExposure,
  type ExceptionResolution,
  type ExceptionStatus,
} from '@offramp/contracts';

/**
 * What each resolution books, as pure rules. Every booking is one ledger transfer (one debit, one
 * credit of the same USDT amount), so the ledger stays balanced whatever is chosen; the choice only
 * decides which accounts carry the disagreement:
 *
 * - `trader_received_twice` (the withdrawal was rejected and its hold voided, yet Alfred paid the
 *   fiat: the USDT went to Alfred but is still on the trader's account):
 *   - `recover_from_trader`: trader -> psp:alfred:clearing, up to the trader's available balance.
 *     Exactly the post of the hold that should have happened; what is still owed stays open.
 *   - `write_off`: loss:partner-divergence -> psp:alfred:clearing, the outstanding amount. The
 *     company pays Alfred's side instead of the trader: clearing reads as if the hold was posted,
 *     the trader keeps the USDT, and the loss account (allowed negative, like external:deposits)
 *     goes down by what the company absorbed.
 * - `trader_received_nothing` (the withdrawal was completed and its hold posted, yet Alfred failed
 *   the order: no fiat, and the USDT sits in clearing for an order that did not happen):
 *   - `refund_trader`: psp:alfred:clearing -> trader, the outstanding amount. Exactly the void that
 *     should have happened.
 *   - `write_off` does not fit: the company lost nothing (the trader's USDT is in clearing) and the
 *     trader must be made whole, which is `refund_trader`. Crediting the trader from the loss
 *     account instead would book a loss that did not happen and leave clearing overstated.
 * - `none` (no money at stake, e.g. an unknown reference): only `dismiss`.
 * - `dismiss`: no money, any exposure (the operator found the disagreement was not one, e.g. Alfred
 *   reversed the payout). The outstanding amount is kept as it was, so the record shows what was
 *   closed without money.
 */

export const clearingAccount: AccountRef = { owner: 'psp:alfred:clearing', currency: 'USDT' };
export const lossAccount: AccountRef = { owner: 'loss:partner-divergence', currency: 'USDT' };
export const traderAccount = (traderId: string): AccountRef => ({ owner: `trader:${traderId}`, currency: 'USDT' });

/** Which resolutions fit which exposure is part of the contract (the console offers only those). */
const fitting: Record<ExceptionExposure, readonly ExceptionResolution[]> = resolutionsByExposure;

export interface ResolvableException {
  status: ExceptionStatus;
  exposure: ExceptionExposure;
  traderId: string | null;
  outstandingMinor: bigint;
}

export type Plan =
  | { outcome: 'already_resolved' }
  | { outcome: 'invalid'; reason: string }
  | { outcome: 'no_money' }
  /** One transfer; `upToAvailable`: the amount is capped by the debited account's available balance. */
  | { outcome: 'move'; debit: AccountRef; credit: AccountRef; upToAvailable: boolean };

export function planResolution(e: ResolvableException, resolution: ExceptionResolution): Plan {
  if (e.status === 'resolved') return { outcome: 'already_resolved' };
  if (!fitting[e.exposure].includes(resolution)) {
    return {
      outcome: 'invalid',
      reason: `${resolution} does not apply to an exception whose exposure is ${e.exposure}; it allows ${fitting[e.exposure].join(', ')}`,
    };
  }
  if (resolution === 'dismiss') return { outcome: 'no_money' };
  if (resolution === 'write_off') return { outcome: 'move', debit: lossAccount, credit: clearingAccount, upToAvailable: false };
  if (e.traderId === null) return { outcome: 'invalid', reason: `${resolution} needs the exception's trader, and it has none` };
  if (resolution === 'recover_from_trader')
    return { outcome: 'move', debit: traderAccount(e.traderId), credit: clearingAccount, upToAvailable: true };
  return { outcome: 'move', debit: clearingAccount, credit: traderAccount(e.traderId), upToAvailable: false };
}

/** How much a planned move books now: the outstanding amount, capped by what the debited account has when it must be. */
export function amountToMove(outstandingMinor: bigint, upToAvailable: boolean, availableMinor: bigint): bigint {
  if (!upToAvailable) return outstandingMinor;
  const available = availableMinor > 0n ? availableMinor : 0n;
  return available < outstandingMinor ? available : outstandingMinor;
}

/**
 * The exception after an action: what is still outstanding, and whether it is resolved. A recovery
 * resolves only once nothing is outstanding; every other resolution closes the exception.
 */
export function settle(
  outstandingMinor: bigint,
  movedMinor: bigint,
  resolution: ExceptionResolution,
): { outstandingMinor: bigint; resolved: boolean } {
  if (resolution === 'dismiss') return { outstandingMinor, resolved: true };
  const left = outstandingMinor - movedMinor;
  if (left < 0n) throw new Error(`a resolution moved ${movedMinor}, more than the ${outstandingMinor} outstanding`);
  return { outstandingMinor: left, resolved: resolution !== 'recover_from_trader' || left === 0n };
}
