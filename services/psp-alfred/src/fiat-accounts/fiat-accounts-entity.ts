import type { Rail } from '@offramp/contracts';
import { defineEntity, p } from '@offramp/kit';

/**
 * A row of `fiat_accounts` (migration 0001): what we show of an account Alfred holds (masked) and
 * its fingerprint for screening. CRUD data, so an entity; `created_at` is the database's.
 */
export const FiatAccountEntity = defineEntity({
  name: 'FiatAccount',
  tableName: 'fiat_accounts',
  properties: {
    fiatAccountId: p.text().primary(),
    traderId: p.text(),
    customerId: p.text(),
    rail: p.text().$type<Rail>(),
    maskedNumber: p.text(),
    holderName: p.text(),
    bankName: p.text().nullable(),
    fingerprint: p.text(),
    createdAt: p.datetime().defaultRaw('now()'),
    deletedAt: p.datetime().nullable(),
    /** Migration 0003: a payout failed for a reason about the account; new sessions with it are refused. */
    erroredAt: p.datetime().nullable(),
    errorClass: p.text().nullable(),
    errorReason: p.text().nullable(),
    errorWithdrawalId: p.uuid().nullable(),
  },
});
