import { z } from 'zod';
import { queryRow, queryRows, type EntityManager } from '@offramp/kit';
import { transferKind, type AccountRef, type HoldStatus, type TransferKind, type TransferView } from '@offramp/contracts';

/** SQL over accounts and transfers. Every function runs in the caller's transaction. */

/** A transfer as `selectTransfer` reads it; `resolution` is the post or void of a hold, if any. */
const transferRow = z.object({
  id: z.string(),
  kind: transferKind,
  amount: z.string(),
  hold_id: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  created_at: z.coerce.date(),
  debit_owner: z.string(),
  credit_owner: z.string(),
  currency: z.string(),
  resolution: z.enum(['post', 'void']).nullable(),
});
type TransferRow = z.output<typeof transferRow>;
const resolutionRow = z.object({ id: z.string(), kind: z.enum(['post', 'void']) });
const accountRow = z.object({
  id: z.string(),
  owner: z.string(),
  currency: z.string(),
  allow_negative: z.boolean(),
  slots: z.number().int(),
});
const createdRow = z.object({ created_at: z.coerce.date() });

const selectTransfer = `
  select t.id, t.kind, t.amount::text as amount, t.hold_id, t.metadata, t.created_at,
         d.owner as debit_owner, c.owner as credit_owner, d.currency,
         case when t.kind = 'hold' then (select r.kind from transfers r where r.hold_id = t.id) end as resolution
  from transfers t
  join accounts d on d.id = t.debit_account_id
  join accounts c on c.id = t.credit_account_id`;

function toView(row: TransferRow): TransferView {
  const holdStatus: HoldStatus | null =
    row.kind !== 'hold' ? null : row.resolution === 'post' ? 'posted' : row.resolution === 'void' ? 'voided' : 'pending';
  return {
    id: row.id,
    kind: row.kind,
    debit: { owner: row.debit_owner, currency: row.currency },
    credit: { owner: row.credit_owner, currency: row.currency },
    amountMinor: BigInt(row.amount),
    holdId: row.hold_id,
    holdStatus,
    metadata: row.metadata,
    createdAt: row.created_at.toISOString(),
  };
}

export async function findTransfer(em: EntityManager, id: string): Promise<TransferView | null> {
  const row = await queryRow(em, transferRow, `${selectTransfer} where t.id = ?`, [id]);
  return row ? toView(row) : null;
}

/** The resolution (post or void) of a hold, if any. */
export async function findResolution(em: EntityManager, holdId: string): Promise<{ id: string; kind: 'post' | 'void' } | null> {
  return queryRow(em, resolutionRow, 'select id, kind from transfers where hold_id = ?', [holdId]);
}

export interface Account {
  id: string;
  owner: string;
  currency: string;
  allowNegative: boolean;
  slots: number;
}

export const accountKey = (ref: AccountRef) => `${ref.owner}/${ref.currency}`;

/** The accounts named, by `owner/currency`. Account rows never change, so nothing is locked. */
export async function findAccounts(em: EntityManager, refs: AccountRef[]): Promise<Map<string, Account>> {
  const pairs = refs.map(() => '(?, ?)').join(', ');
  const rows = await queryRows(
    em,
    accountRow,
    `select id::text as id, owner, currency, allow_negative, slots from accounts where (owner, currency) in (${pairs})`,
    refs.flatMap((r) => [r.owner, r.currency]),
  );
  return new Map(
    rows.map((r) => [
      `${r.owner}/${r.currency}`,
      { id: r.id, owner: r.owner, currency: r.currency, allowNegative: r.allow_negative, slots: r.slots },
    ]),
  );
}

/** Reads accounts through a process-local memo: account rows never change once opened. */
export interface AccountDirectory {
  find(em: EntityManager, refs: AccountRef[]): Promise<Map<string, Account>>;
}

export function createAccountDirectory(maxEntries = 100_000): AccountDirectory {
  const known = new Map<string, Account>();
  return {
    async find(em, refs) {
      const missing = refs.filter((r) => !known.has(accountKey(r)));
      if (missing.length > 0) {
        // Only accounts that exist are remembered; one opened later is found on the next call.
        if (known.size + missing.length > maxEntries) known.clear();
        for (const [key, account] of await findAccounts(em, missing)) known.set(key, account);
      }
      return new Map(refs.flatMap((r) => (known.has(accountKey(r)) ? [[accountKey(r), known.get(accountKey(r))!] as const] : [])));
    },
  };
}

/** The balance slot a transfer touches: always 0 for single-slot accounts, else spread by the id's random tail. */
export function slotOf(account: Account, transferId: string): number {
  return account.slots === 1 ? 0 : Number.parseInt(transferId.slice(-4), 16) % account.slots;
}

/** Inserts a transfer row; null when a row with this id (or a resolution of this hold) already exists. */
export async function insertTransfer(
  em: EntityManager,
  t: {
    id: string;
    kind: TransferKind;
    debitId: string;
    creditId: string;
    amountMinor: bigint;
    holdId: string | null;
    metadata: Record<string, string>;
  },
): Promise<Date | null> {
  const row = await queryRow(
    em,
    createdRow,
    `insert into transfers (id, kind, debit_account_id, credit_account_id, amount, hold_id, metadata)
     values (?, ?, ?, ?, ?, ?, ?) on conflict do nothing returning created_at`,
    [t.id, t.kind, t.debitId, t.creditId, t.amountMinor.toString(), t.holdId, JSON.stringify(t.metadata)],
  );
  return row ? row.created_at : null;
}

/** How each kind of transfer moves the four balance columns of its two accounts. */
const effects: Record<TransferKind, { debit: string; credit: string }> = {
  transfer: { debit: 'debits_posted = debits_posted + ?', credit: 'credits_posted = credits_posted + ?' },
  hold: { debit: 'debits_pending = debits_pending + ?', credit: 'credits_pending = credits_pending + ?' },
  post: {
    debit: 'debits_pending = debits_pending - ?, debits_posted = debits_posted + ?',
    credit: 'credits_pending = credits_pending - ?, credits_posted = credits_posted + ?',
  },
  void: { debit: 'debits_pending = debits_pending - ?', credit: 'credits_pending = credits_pending - ?' },
};

/**
 * Applies a transfer to the balance slots of its accounts, in account id order so that concurrent
 * transfers never deadlock. A debit that could overdraw an account is one conditional update (the
 * row lock makes it safe under any concurrency); false when it would overdraw, and then the caller
 * must roll back. `slotKey` is the id that picks the slots (a hold and its resolution share it).
 */
export async function applyToBalances(
  em: EntityManager,
  kind: TransferKind,
  debit: Account,
  credit: Account,
  amountMinor: bigint,
  slotKey: string,
): Promise<boolean> {
  const amount = amountMinor.toString();
  const args = Array<string>(kind === 'post' ? 2 : 1).fill(amount);
  const sides = [
    { side: 'debit' as const, account: debit },
    { side: 'credit' as const, account: credit },
  ].sort((a, b) => (BigInt(a.account.id) < BigInt(b.account.id) ? -1 : 1));
  for (const { side, account } of sides) {
    const guarded = side === 'debit' && (kind === 'transfer' || kind === 'hold') && !account.allowNegative;
    const res = await em.execute<{ affectedRows: number }>(
      `update balances set ${effects[kind][side]} where account_id = ? and slot = ?${guarded ? ' and credits_posted - debits_posted - debits_pending >= ?' : ''}`,
      [...args, account.id, slotOf(account, slotKey), ...(guarded ? [amount] : [])],
      'run',
    );
    if (res.affectedRows === 1) continue;
    if (guarded) return false;
    throw new Error(`balance slot missing for account ${account.id}`);
  }
  return true;
}
