import { z } from 'zod';
import { rail, type FiatAccountView, type Rail } from '@offramp/contracts';
import type { EntityManager } from '@offramp/kit';
import type { AccountFacts } from './alfred-fields.ts';

export interface StoredAccount {
  view: FiatAccountView;
  traderId: string;
  customerId: string;
  fingerprint: string;
}

const row = z.object({
  fiat_account_id: z.string(),
  trader_id: z.string(),
  customer_id: z.string(),
  rail,
  masked_number: z.string(),
  holder_name: z.string(),
  bank_name: z.string().nullable(),
  fingerprint: z.string(),
  created_at: z.coerce.date(),
});

function toStored(r: unknown): StoredAccount {
  const p = row.parse(r);
  return {
    view: {
      fiatAccountId: p.fiat_account_id,
      type: p.rail,
      maskedNumber: p.masked_number,
      accountHolderName: p.holder_name,
      bankName: p.bank_name,
      createdAt: p.created_at.toISOString(),
    },
    traderId: p.trader_id,
    customerId: p.customer_id,
    fingerprint: p.fingerprint,
  };
}

const columns = 'fiat_account_id, trader_id, customer_id, rail, masked_number, holder_name, bank_name, fingerprint, created_at';

export async function insertAccount(em: EntityManager, a: { fiatAccountId: string; traderId: string; customerId: string; rail: Rail; facts: AccountFacts }): Promise<void> {
  await em.execute(
    `insert into fiat_accounts (fiat_account_id, trader_id, customer_id, rail, masked_number, holder_name, bank_name, fingerprint)
     values (?, ?, ?, ?, ?, ?, ?, ?) on conflict (fiat_account_id) do nothing`,
    [a.fiatAccountId, a.traderId, a.customerId, a.rail, a.facts.maskedNumber, a.facts.holderName, a.facts.bankName, a.facts.fingerprint],
    'run',
  );
}

/** The trader's live accounts, oldest first. */
export async function listAccounts(em: EntityManager, traderId: string): Promise<StoredAccount[]> {
  const rows = await em.execute(`select ${columns} from fiat_accounts where trader_id = ? and deleted_at is null order by created_at, fiat_account_id`, [traderId]);
  return rows.map(toStored);
}

/** A live account of this trader; another trader's is as absent as a deleted one. */
export async function findAccount(em: EntityManager, traderId: string, fiatAccountId: string): Promise<StoredAccount | null> {
  const rows = await em.execute(`select ${columns} from fiat_accounts where fiat_account_id = ? and trader_id = ? and deleted_at is null`, [fiatAccountId, traderId]);
  return rows[0] ? toStored(rows[0]) : null;
}

export async function findAccountByFingerprint(em: EntityManager, traderId: string, fingerprint: string): Promise<StoredAccount | null> {
  const rows = await em.execute(`select ${columns} from fiat_accounts where trader_id = ? and fingerprint = ? and deleted_at is null`, [traderId, fingerprint]);
  return rows[0] ? toStored(rows[0]) : null;
}

export async function markDeleted(em: EntityManager, fiatAccountId: string): Promise<void> {
  await em.execute('update fiat_accounts set deleted_at = now() where fiat_account_id = ? and deleted_at is null', [fiatAccountId], 'run');
}
