import { z } from 'zod';
import { queryRow, type EntityManager } from '@offramp/kit';
import { transferKind, type HoldStatus, type TransferView } from '@offramp/contracts';

/** Reads of stored transfers (writes go through `ledger_apply`, see transfers.ts). */

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
