import { z } from 'zod';
import { kycStatus } from '@offramp/contracts';
import type { EntityManager } from '@offramp/kit';
import { identity, type Identity } from './identity.ts';

export type KycStatus = z.infer<typeof kycStatus>;

/** What psp-alfred knows of a trader: the platform KYC and the mirror of Alfred's customer and KYC. */
export interface Trader {
  traderId: string;
  country: string | null;
  identity: Identity | null;
  email: string | null;
  customerId: string | null;
  kycSubmissionId: string | null;
  kycStatus: KycStatus | null;
  kycMetadata: Record<string, unknown> | null;
}

const row = z.object({
  trader_id: z.string(),
  country: z.string().nullable(),
  identity: identity.nullable(),
  email: z.string().nullable(),
  customer_id: z.string().nullable(),
  kyc_submission_id: z.string().nullable(),
  kyc_status: kycStatus.nullable(),
  kyc_metadata: z.record(z.string(), z.unknown()).nullable(),
});

const toTrader = (r: unknown): Trader => {
  const p = row.parse(r);
  return {
    traderId: p.trader_id,
    country: p.country,
    identity: p.identity,
    email: p.email,
    customerId: p.customer_id,
    kycSubmissionId: p.kyc_submission_id,
    kycStatus: p.kyc_status,
    kycMetadata: p.kyc_metadata,
  };
};

const columns = 'trader_id, country, identity, email, customer_id, kyc_submission_id, kyc_status, kyc_metadata';

export async function findTrader(em: EntityManager, traderId: string, opts: { lock?: boolean } = {}): Promise<Trader | null> {
  const rows = await em.execute(`select ${columns} from traders where trader_id = ?${opts.lock ? ' for update' : ''}`, [traderId]);
  return rows[0] ? toTrader(rows[0]) : null;
}

export async function findTraderBySubmission(em: EntityManager, submissionId: string): Promise<Trader | null> {
  const rows = await em.execute(`select ${columns} from traders where kyc_submission_id = ? for update`, [submissionId]);
  return rows[0] ? toTrader(rows[0]) : null;
}

/**
 * Records the platform KYC (approved) with its identity. Alfred's customers are per country, so a
 * trader verified again for another country starts over at Alfred.
 */
export async function savePlatformKyc(em: EntityManager, traderId: string, id: Identity): Promise<void> {
  await em.execute(
    `insert into traders (trader_id, country, identity, platform_kyc_at) values (?, ?, ?, now())
     on conflict (trader_id) do update set country = excluded.country, identity = excluded.identity, platform_kyc_at = now(), updated_at = now(),
       email = null, customer_id = null, kyc_submission_id = null, kyc_status = null, kyc_metadata = null, kyc_updated_at = null`,
    [traderId, id.country, JSON.stringify(id)],
    'run',
  );
}

export async function saveCustomer(em: EntityManager, traderId: string, email: string, customerId: string): Promise<void> {
  await em.execute('update traders set email = ?, customer_id = ?, updated_at = now() where trader_id = ?', [email, customerId, traderId], 'run');
}

export async function saveKycSubmission(em: EntityManager, traderId: string, submissionId: string, status: KycStatus): Promise<void> {
  await em.execute(
    'update traders set kyc_submission_id = ?, kyc_status = ?, kyc_metadata = null, kyc_updated_at = now(), updated_at = now() where trader_id = ?',
    [submissionId, status, traderId],
    'run',
  );
}

/** The submission went in for review; a status a webhook already moved past is left alone. */
export async function markKycSubmitted(em: EntityManager, traderId: string, submissionId: string): Promise<void> {
  await em.execute(
    "update traders set kyc_status = 'IN_REVIEW', kyc_updated_at = now(), updated_at = now() where trader_id = ? and kyc_submission_id = ? and kyc_status = 'CREATED'",
    [traderId, submissionId],
    'run',
  );
}

export async function saveKycStatus(em: EntityManager, traderId: string, status: KycStatus, metadata: Record<string, unknown> | null): Promise<void> {
  await em.execute(
    'update traders set kyc_status = ?, kyc_metadata = ?, kyc_updated_at = now(), updated_at = now() where trader_id = ?',
    [status, metadata === null ? null : JSON.stringify(metadata), traderId],
    'run',
  );
}

/** The name of the trader as verified by the platform KYC ("" when none). */
export const kycNameOf = (trader: Trader) => (trader.identity ? `${trader.identity.firstName} ${trader.identity.lastName}` : '');
