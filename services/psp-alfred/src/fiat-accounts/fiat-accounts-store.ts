import { rail, type FiatAccountView, type Rail } from '@offramp/contracts';
import { queryRowsBound, sql, type EntityManager, type InferEntity } from '@offramp/kit';
import { z } from 'zod';
import type { AccountFacts } from './alfred-fields.ts';
import { FiatAccountEntity } from './fiat-accounts-entity.ts';

export interface StoredAccount {
  view: FiatAccountView;
  traderId: string;
  customerId: string;
  fingerprint: string;
  /** When a payout failed for a reason about the account itself (null: usable), and that reason's class. */
  erroredAt: Date | null;
  errorClass: string | null;
}

type AccountRow = InferEntity<typeof FiatAccountEntity>;

function toStored(
  a: Pick<
    AccountRow,
    | 'fiatAccountId'
    | 'traderId'
    | 'customerId'
    | 'rail'
    | 'maskedNumber'
    | 'holderName'
    | 'bankName'
    | 'fingerprint'
    | 'createdAt'
    | 'erroredAt'
    | 'errorClass'
  >,
): StoredAccount {
  return {
    view: {
      fiatAccountId: a.fiatAccountId,
      // Checked: a rail this code does not know fails here rather than travelling on.
      type: rail.parse(a.rail),
      maskedNumber: a.maskedNumber,
      accountHolderName: a.holderName,
      bankName: a.bankName ?? null,
      createdAt: a.createdAt.toISOString(),
      status: a.erroredAt ? 'errored' : 'active',
    },
    traderId: a.traderId,
    customerId: a.customerId,
    fingerprint: a.fingerprint,
    erroredAt: a.erroredAt ?? null,
    errorClass: a.errorClass ?? null,
  };
}

/** Keeps an account Alfred registered; the same id again (a lost answer adopted twice) is a no-op. */
export async function insertAccount(
  em: EntityManager,
  a: { fiatAccountId: string; traderId: string; customerId: string; rail: Rail; facts: AccountFacts },
): Promise<void> {
  await em.upsert(
    FiatAccountEntity,
    {
      fiatAccountId: a.fiatAccountId,
      traderId: a.traderId,
      customerId: a.customerId,
      rail: a.rail,
      maskedNumber: a.facts.maskedNumber,
      holderName: a.facts.holderName,
      bankName: a.facts.bankName,
      fingerprint: a.facts.fingerprint,
    },
    { onConflictFields: ['fiatAccountId'], onConflictAction: 'ignore' },
  );
}

/** The trader's live accounts, oldest first. */
export async function listAccounts(em: EntityManager, traderId: string): Promise<StoredAccount[]> {
  const rows = await em.find(
    FiatAccountEntity,
    { traderId, deletedAt: null },
    { orderBy: [{ createdAt: 'asc' }, { fiatAccountId: 'asc' }] },
  );
  return rows.map(toStored);
}

/** A `fiat_accounts` row as `findAccount` selects it: the entity's fields a `StoredAccount` is made of, by their names. */
const accountRow = z.object({
  fiatAccountId: z.string(),
  traderId: z.string(),
  customerId: z.string(),
  rail,
  maskedNumber: z.string(),
  holderName: z.string(),
  bankName: z.string().nullable(),
  fingerprint: z.string(),
  createdAt: z.coerce.date(),
  erroredAt: z.coerce.date().nullable(),
  errorClass: z.string().nullable(),
});
const findAccountSql = `select fiat_account_id as "fiatAccountId", trader_id as "traderId", customer_id as "customerId", rail,
    masked_number as "maskedNumber", holder_name as "holderName", bank_name as "bankName", fingerprint,
    created_at as "createdAt", errored_at as "erroredAt", error_class as "errorClass"
  from fiat_accounts where fiat_account_id = $1 and trader_id = $2 and deleted_at is null`;

/**
 * A live account of this trader; another trader's is as absent as a deleted one. A raw read with
 * its parameters bound (every session's opening checks its account), not an entity `findOne`.
 */
export async function findAccount(em: EntityManager, traderId: string, fiatAccountId: string): Promise<StoredAccount | null> {
  const [a] = await queryRowsBound(em, accountRow, findAccountSql, [fiatAccountId, traderId]);
  return a ? toStored(a) : null;
}

export async function findAccountByFingerprint(em: EntityManager, traderId: string, fingerprint: string): Promise<StoredAccount | null> {
  const a = await em.findOne(FiatAccountEntity, { traderId, fingerprint, deletedAt: null });
  return a ? toStored(a) : null;
}

/** Soft delete, once: an account already deleted keeps its first `deleted_at`. */
export async function markDeleted(em: EntityManager, fiatAccountId: string): Promise<void> {
  await em.nativeUpdate(FiatAccountEntity, { fiatAccountId, deletedAt: null }, { deletedAt: sql<Date>`now()` });
}

/**
 * Marks the account errored after a payout failed for a reason about the account; the first
 * marking stays (a repeated command, or a second failure, changes nothing). A deleted account too.
 */
export async function markErrored(
  em: EntityManager,
  m: { traderId: string; fiatAccountId: string; failureClass: string; failureReason: string | null; withdrawalId: string },
): Promise<number> {
  return em.nativeUpdate(
    FiatAccountEntity,
    { fiatAccountId: m.fiatAccountId, traderId: m.traderId, erroredAt: null },
    { erroredAt: sql<Date>`now()`, errorClass: m.failureClass, errorReason: m.failureReason, errorWithdrawalId: m.withdrawalId },
  );
}
