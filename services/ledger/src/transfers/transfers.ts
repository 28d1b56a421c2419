import { z } from 'zod';
import { newId, queryRows, type Cause, type EntityManager } from '@offramp/kit';
import {
  ledgerEvents,
  ledgerOutcome,
  transferView,
  type MessageDef,
  type ResolveHoldRequest,
  type TransferRequest,
  type TransferResult,
} from '@offramp/contracts';

/**
 * One ledger operation as a request asks it:
 * - `transfer` moves money now, `hold` reserves it (pending until posted or voided). Outcomes: ok,
 *   exists, exists_with_different_fields, currency_mismatch, account_not_found, insufficient_funds.
 * - `post` (money leaves) or `void` (money returns) resolves a pending hold, all of it, once;
 *   `request.id` is the id of the resolving transfer and the idempotency key. Outcomes: ok, exists,
 *   exists_with_different_fields, hold_not_found, hold_already_posted, hold_already_voided.
 * `cause` is what the event of an applied operation is caused by.
 */
export type LedgerOperation = Movement | Resolution;
type Movement = { kind: 'transfer' | 'hold'; request: TransferRequest; cause: Cause };
type Resolution = { kind: 'post' | 'void'; request: ResolveHoldRequest; cause: Cause };
const isResolution = (op: LedgerOperation): op is Resolution => op.kind === 'post' || op.kind === 'void';

/** The event each kind of operation emits when it applies, as `ledger_apply` takes them (built once). */
const eventsByKind = (() => {
  const describe = (def: MessageDef) => ({ subject: def.subject, type: def.type, version: def.version });
  return JSON.stringify({
    transfer: describe(ledgerEvents.transferred),
    hold: describe(ledgerEvents.holdPlaced),
    post: describe(ledgerEvents.holdPosted),
    void: describe(ledgerEvents.holdVoided),
  });
})();

/** An operation as `ledger_apply` reads it, with the envelope header of the event it emits if it applies. */
function wireOperation(op: LedgerOperation) {
  const event = {
    eventId: newId(),
    correlationId: op.cause.correlationId,
    causationId: op.cause.causationId ?? null,
    traceId: op.cause.traceId,
  };
  if (isResolution(op)) return { kind: op.kind, id: op.request.id, holdId: op.request.holdId, ...event };
  const r = op.request;
  return {
    kind: op.kind,
    id: r.id,
    debitOwner: r.debit.owner,
    debitCurrency: r.debit.currency,
    creditOwner: r.credit.owner,
    creditCurrency: r.credit.currency,
    amount: r.amountMinor.toString(),
    metadata: r.metadata,
    ...event,
  };
}

/** One answer of `ledger_apply`: the transfer in the wire form of a TransferView (jsonb), decoded by the contract's schema. */
const appliedRow = z.object({ idx: z.number().int(), outcome: ledgerOutcome, transfer: transferView.nullable() });

/** Pure check on a request before anything else: `ok` or `currency_mismatch`. */
export function validateOperation(op: LedgerOperation): 'ok' | 'currency_mismatch' {
  if (isResolution(op)) return 'ok';
  return op.request.debit.currency === op.request.credit.currency ? 'ok' : 'currency_mismatch';
}

/**
 * Applies operations in order, in one statement (`ledger_apply`, migrations 0003 and 0004) on `em`: in the
 * caller's transaction when it has one (the command consumer's inbox transaction), else as a
 * transaction of its own. Each gets its own outcome, exactly as if applied one at a time in this
 * order; a refusal never undoes the others; each applied operation's event is in the outbox when
 * the statement's transaction commits. Throws when the statement fails: then nothing of the batch
 * was applied (SQLSTATE 40001 or 23505: a rare race with a concurrent batch, retry the batch).
 */
export async function applyOperations(em: EntityManager, ops: readonly LedgerOperation[]): Promise<TransferResult[]> {
  if (ops.length === 0) return [];
  const rows = await queryRows(em, appliedRow, 'select idx, outcome, transfer from ledger_apply(?::jsonb, ?::jsonb) order by idx', [
    JSON.stringify(ops.map(wireOperation)),
    eventsByKind,
  ]);
  if (rows.length !== ops.length) throw new Error(`ledger_apply answered ${rows.length} rows for ${ops.length} operations`);
  return rows.map((row) => ({ outcome: row.outcome, transfer: row.transfer }));
}

/** One operation, on its own, in the caller's transaction (or one of its own). */
export async function applyOperation(em: EntityManager, op: LedgerOperation): Promise<TransferResult> {
  if (validateOperation(op) === 'currency_mismatch') return { outcome: 'currency_mismatch', transfer: null };
  const [result] = await applyOperations(em, [op]);
  return result!;
}
