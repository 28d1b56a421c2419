import { newId } from '@offramp/kit';
import type { WithdrawalDebited } from '@offramp/contracts';

/** A debited withdrawal that passes every rule: small, clean names, a fresh trader and destination. */
export function debited(overrides: Partial<WithdrawalDebited> = {}): WithdrawalDebited {
  return {
    withdrawalId: newId(),
    traderId: `trader-${newId()}`,
    country: 'MX',
    paymentRouteId: 'MX_SPEI',
    fiatAccountId: newId(),
    fiatAmount: '1700.00',
    fiatCurrency: 'MXN',
    debitedMinor: 100_000_000n,
    destinationFingerprint: `clabe:${newId()}`,
    accountHolderName: 'Juan Pérez García',
    kycName: 'JUAN PEREZ GARCIA',
    ...overrides,
  };
}
