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

const accountRow = z.object({
  fiat_account_id: z.string(),
  trader_id: z.string(),
  customer_id: z.string(),
  rail: z.string(),
  masked_number: z.string(),
  holder_name: z.string(),
  bank_name: z.string().nullable(),
  fingerprint: z.string(),
  created_at: z.coerce.date(),
  errored_at: z.coerce.date().nullable(),
  error_class: z.string().nullable(),
});
const findAccountSql = `select fiat_account_id, trader_id, customer_id, rail, masked_number, holder_name, bank_name, fingerprint,
    created_at, errored_at, error_class
  from fiat_accounts where fiat_account_id = $1 and trader_id = $2 and deleted_at is null`;

/**
 * A live account of this trader; another trader's is as absent as a deleted one. A raw read with
 * its parameters bound (every session's opening checks its account), not an entity `findOne`.
 */
export async function findAccount(em: EntityManager, traderId: string, fiatAccountId: string): Promise<StoredAccount | null> {
  const [a] = await queryRowsBound(em, accountRow, findAccountSql, [fiatAccountId, traderId]);
  return a
    ? toStored({
        fiatAccountId: a.fiat_account_id,
        traderId: a.trader_id,
        customerId: a.customer_id,
        rail: a.rail as Rail,
        maskedNumber: a.masked_number,
        holderName: a.holder_name,
        bankName: a.bank_name,
        fingerprint: a.fingerprint,
        createdAt: a.created_at,
        erroredAt: a.errored_at,
        errorClass: a.error_class,
      })
    : null;
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
