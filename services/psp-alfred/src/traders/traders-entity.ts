import { defineEntity, p } from '@offramp/kit';
import type { KycStatus } from './traders.ts';

/**
 * A row of `traders` (migration 0001): the platform KYC and the mirror of the trader's customer and
 * KYC at Alfred. CRUD data, so an entity; the jsonb columns are checked with zod where the row
 * becomes a `Trader` (traders.ts). Timestamps the database fills (`created_at`) stay its own.
 */
export const TraderEntity = defineEntity({
  name: 'Trader',
  tableName: 'traders',
  properties: {
    traderId: p.text().primary(),
    country: p.text().nullable(),
    identity: p.json<unknown>().nullable(),
    platformKycAt: p.datetime().nullable(),
    email: p.text().nullable(),
    customerId: p.text().nullable(),
    kycSubmissionId: p.text().nullable(),
    kycStatus: p.text().$type<KycStatus>().nullable(),
    kycMetadata: p.json<unknown>().nullable(),
    kycUpdatedAt: p.datetime().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
