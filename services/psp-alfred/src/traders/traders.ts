import { z } from 'zod';
import { kycStatus } from '@offramp/contracts';
import { LockMode, queryRowsBound, sql, type EntityManager, type InferEntity } from '@offramp/kit';
import { identity, type Identity } from './identity.ts';
import { TraderEntity } from './traders-entity.ts';

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

type TraderRow = InferEntity<typeof TraderEntity>;

/** The jsonb columns and the status, checked: a wrong shape fails here rather than travelling on. */
const checked = z.object({
  identity: identity.nullable(),
  kycStatus: kycStatus.nullable(),
  kycMetadata: z.record(z.string(), z.unknown()).nullable(),
});

const toTrader = (
  t: Pick<TraderRow, 'traderId' | 'country' | 'identity' | 'email' | 'customerId' | 'kycSubmissionId' | 'kycStatus' | 'kycMetadata'>,
): Trader => {
  const c = checked.parse({ identity: t.identity ?? null, kycStatus: t.kycStatus ?? null, kycMetadata: t.kycMetadata ?? null });
  return {
    traderId: t.traderId,
    country: t.country ?? null,
    identity: c.identity,
    email: t.email ?? null,
    customerId: t.customerId ?? null,
    kycSubmissionId: t.kycSubmissionId ?? null,
    kycStatus: c.kycStatus,
    kycMetadata: c.kycMetadata,
  };
};

/** A `traders` row as `findTrader` selects it: the entity's fields a `Trader` is made of, by their names. */
const traderRow = z.object({
  traderId: z.string(),
  country: z.string().nullable(),
  identity: z.unknown(),
  email: z.string().nullable(),
  customerId: z.string().nullable(),
  kycSubmissionId: z.string().nullable(),
  kycStatus: kycStatus.nullable(),
  kycMetadata: z.unknown(),
});
const findTraderSql = `select trader_id as "traderId", country, identity, email, customer_id as "customerId",
    kyc_submission_id as "kycSubmissionId", kyc_status as "kycStatus", kyc_metadata as "kycMetadata"
  from traders where trader_id = $1`;
const findTraderLockedSql = `${findTraderSql} for update`;

/**
 * The trader, or null; `lock`: its row locked for the caller's transaction. A raw read with its
 * parameter bound (a prepared statement), not an entity: a session's opening reads the trader three
 * times (eligibility, quote, account), and MikroORM's `findOne` cost several times the statement.
 */
export async function findTrader(em: EntityManager, traderId: string, opts: { lock?: boolean } = {}): Promise<Trader | null> {
  const [t] = await queryRowsBound(em, traderRow, opts.lock ? findTraderLockedSql : findTraderSql, [traderId]);
  return t ? toTrader(t) : null;
}

/** The trader of a KYC submission, locked (KYC webhooks of one trader take turns on it). */
export async function findTraderBySubmission(em: EntityManager, submissionId: string): Promise<Trader | null> {
  const t = await em.findOne(TraderEntity, { kycSubmissionId: submissionId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  return t ? toTrader(t) : null;
}

/**
 * Records the platform KYC (approved) with its identity. Alfred's customers are per country, so a
 * trader verified again for another country starts over at Alfred. One upsert: a concurrent
 * seed of the same trader cannot fail on the key.
 */
export async function savePlatformKyc(em: EntityManager, traderId: string, id: Identity): Promise<void> {
  // The application's clock here: MikroORM's upsert cannot hydrate a raw `now()`.
  const now = new Date();
  await em.upsert(
    TraderEntity,
    {
      traderId,
      country: id.country,
      identity: id,
      platformKycAt: now,
      updatedAt: now,
      email: null,
      customerId: null,
      kycSubmissionId: null,
      kycStatus: null,
      kycMetadata: null,
      kycUpdatedAt: null,
    },
    { onConflictFields: ['traderId'], onConflictAction: 'merge' },
  );
}

/**
 * Changes the trader's row through the unit of work; a trader that does not exist is left alone.
 * Timestamps are the database's `now()` (the transaction's time), as everywhere in the schema.
 */
async function update(em: EntityManager, traderId: string, change: (t: TraderRow, now: Date) => void): Promise<void> {
  const t = await em.findOne(TraderEntity, { traderId });
  if (!t) return;
  change(t, sql<Date>`now()`);
  t.updatedAt = sql<Date>`now()`;
  await em.flush();
}

export async function saveCustomer(em: EntityManager, traderId: string, email: string, customerId: string): Promise<void> {
  await update(em, traderId, (t) => {
    t.email = email;
    t.customerId = customerId;
  });
}

export async function saveKycSubmission(em: EntityManager, traderId: string, submissionId: string, status: KycStatus): Promise<void> {
  await update(em, traderId, (t, now) => {
    t.kycSubmissionId = submissionId;
    t.kycStatus = status;
    t.kycMetadata = null;
    t.kycUpdatedAt = now;
  });
}

/**
 * The submission went in for review; a status a webhook already moved past is left alone. The
 * condition is the guard, so it stays one statement.
 */
export async function markKycSubmitted(em: EntityManager, traderId: string, submissionId: string): Promise<void> {
  await em.nativeUpdate(
    TraderEntity,
    { traderId, kycSubmissionId: submissionId, kycStatus: 'CREATED' },
    { kycStatus: 'IN_REVIEW', kycUpdatedAt: sql<Date>`now()`, updatedAt: sql<Date>`now()` },
  );
}

export async function saveKycStatus(
  em: EntityManager,
  traderId: string,
  status: KycStatus,
  metadata: Record<string, unknown> | null,
): Promise<void> {
  await update(em, traderId, (t, now) => {
    t.kycStatus = status;
    t.kycMetadata = metadata;
    t.kycUpdatedAt = now;
  });
}

/** The name of the trader as verified by the platform KYC ("" when none). */
export const kycNameOf = (trader: Trader) => (trader.identity ? `${trader.identity.firstName} ${trader.identity.lastName}` : '');
