import type { EntityManager } from '@offramp/kit';
import type { AccountRef, HoldStatus, TransferKind, TransferView } from '@offramp/contracts';

/** SQL over accounts and transfers. Every function runs in the caller's transaction. */

interface TransferRow {
  id: string;
  kind: TransferKind;
  amount: string;
  hold_id: string | null;
  metadata: Record<string, string>;
  created_at: Date | string;
  debit_owner: string;
  credit_owner: string;
  currency: string;
  resolution: 'post' | 'void' | null;
}

const selectTransfer = `
  select t.id, t.kind, t.amount::text as amount, t.hold_id, t.metadata, t.created_at,
         d.owner as debit_owner, c.owner as credit_owner, d.currency,
         case when t.kind = 'hold' then (select r.kind from transfers r where r.hold_id = t.id) end as resolution
  from transfers t
  join accounts d on d.id = t.debit_account_id
  join accounts c on c.id = t.credit_account_id`;

function toView(row: TransferRow): TransferView {
  const holdStatus: HoldStatus | null = row.kind !== 'hold' ? null : row.resolution === 'post' ? 'posted' : row.resolution === 'void' ? 'voided' : 'pending';
  return {
    id: row.id,
    kind: row.kind,
    debit: { owner: row.debit_owner, currency: row.currency },
    credit: { owner: row.credit_owner, currency: row.currency },
    amountMinor: BigInt(row.amount),
    holdId: row.hold_id,
    holdStatus,
    metadata: row.metadata,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export async function findTransfer(em: EntityManager, id: string): Promise<TransferView | null> {
  const [row] = await em.execute<TransferRow[]>(`${selectTransfer} where t.id = ?`, [id]);
  return row ? toView(row) : null;
}

/** The resolution (post or void) of a hold, if any. */
export async function findResolution(em: EntityManager, holdId: string): Promise<{ id: string; kind: 'post' | 'void' } | null> {
  const [row] = await em.execute<{ id: string; kind: 'post' | 'void' }[]>('select id, kind from transfers where hold_id = ?', [holdId]);
  return row ?? null;
}

export interface LockedAccount {
  id: string;
  owner: string;
  currency: string;
  allowNegative: boolean;
  availableMinor: bigint;
}

/** Locks the accounts (in id order, so concurrent transfers never deadlock) and returns them by owner. */
export async function lockAccounts(em: EntityManager, refs: AccountRef[]): Promise<Map<string, LockedAccount>> {
  const pairs = refs.map(() => '(?, ?)').join(', ');
  const rows = await em.execute<{ id: string; owner: string; currency: string; allow_negative: boolean; available: string }[]>(
    `select id::text as id, owner, currency, allow_negative,
            (credits_posted - debits_posted - debits_pending)::text as available
     from accounts where (owner, currency) in (${pairs}) order by id for update`,
    refs.flatMap((r) => [r.owner, r.currency]),
  );
  return new Map(
    rows.map((r) => [
      `${r.owner}/${r.currency}`,
      { id: r.id, owner: r.owner, currency: r.currency, allowNegative: r.allow_negative, availableMinor: BigInt(r.available) },
    ]),
  );
}

export const accountKey = (ref: AccountRef) => `${ref.owner}/${ref.currency}`;

/** Inserts a transfer row; false when a concurrent request with the same id got there first. */
export async function insertTransfer(
  em: EntityManager,
  t: { id: string; kind: TransferKind; debitId: string; creditId: string; amountMinor: bigint; holdId: string | null; metadata: Record<string, string> },
): Promise<boolean> {
  const res = await em.execute<{ affectedRows: number }>(
    `insert into transfers (id, kind, debit_account_id, credit_account_id, amount, hold_id, metadata)
     values (?, ?, ?, ?, ?, ?, ?) on conflict (id) do nothing`,
    [t.id, t.kind, t.debitId, t.creditId, t.amountMinor.toString(), t.holdId, JSON.stringify(t.metadata)],
    'run',
  );
  return res.affectedRows === 1;
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

/** Applies a transfer to its accounts; the accounts are already locked by this transaction. */
export async function applyToBalances(em: EntityManager, kind: TransferKind, debitId: string, creditId: string, amountMinor: bigint): Promise<void> {
  const amount = amountMinor.toString();
  const times = kind === 'post' ? 2 : 1;
  const args = Array<string>(times).fill(amount);
  await em.execute(`update accounts set ${effects[kind].debit} where id = ?`, [...args, debitId], 'run');
  await em.execute(`update accounts set ${effects[kind].credit} where id = ?`, [...args, creditId], 'run');
}
