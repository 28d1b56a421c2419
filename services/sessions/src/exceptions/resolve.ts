import type { z } from 'zod';
import { v5 } from 'uuid';
import { enqueue, inTransaction, RpcError, type Database, type EntityManager, type Logger, type OutboxRelay } from '@offramp/kit';
import {
  exceptionEvents,
  exceptionResolution,
  ledgerRpc,
  minorToDecimal,
  ok,
  refuse,
  type AccountRef,
  type exceptionsRpc,
  type ExceptionResolution,
  type ExceptionView,
  type ServiceResult,
  type TransferView,
} from '@offramp/contracts';
import type { Call } from '../call.ts';
import { noteOnWithdrawal } from './exceptions.ts';
import { exceptionViewOf, insertAction, lockException, nextActionSeq, updateException, type ExceptionRow } from './exceptions-store.ts';
import { amountToMove, planResolution, settle } from './resolution.ts';

type ResolveRequest = z.output<(typeof exceptionsRpc)['resolve']['request']>;

export interface ResolveDeps {
  db: Database;
  call: Call;
  relay: OutboxRelay;
  log: Logger;
  /** Fault injection for tests: runs after the ledger moved the money, before the action is committed. */
  afterTransfer?: () => Promise<void> | void;
}

/** Namespace of the ledger transfer ids of exception actions (uuid v5 of `<exception id>:<action seq>`). */
const transferNamespace = '2b0d8f3e-5c41-4a8e-9f57-7d3c1e6a9b24';
export const actionTransferId = (exceptionId: string, seq: number): string => v5(`${exceptionId}:${seq}`, transferNamespace);

const usdt = (minor: bigint) => `${minorToDecimal(minor, 6)} USDT`;

/** A ledger answer we could not get: the resolve records nothing and the operator retries. */
class LedgerUnavailable extends Error {}

/**
 * Applies an operator's resolution. The exception row stays locked for the whole resolve (ledger
 * calls included), so two operators serialize and cannot recover the same money twice. The ledger
 * transfer's id is derived from the exception and the action's number: a resolve whose answer was
 * lost (or whose commit failed) after the ledger moved the money finds that transfer on the next
 * resolve and records it instead of moving money again. Outcomes: the exception after the action,
 * EXCEPTION_NOT_FOUND, EXCEPTION_ALREADY_RESOLVED, EXCEPTION_RESOLUTION_INVALID, or PSP_UNAVAILABLE
 * (the ledger did not answer; nothing was recorded).
 */
export async function resolveException(deps: ResolveDeps, req: ResolveRequest, traceId: string): Promise<ServiceResult<ExceptionView>> {
  let result: ServiceResult<ExceptionView>;
  try {
    result = await inTransaction(deps.db, (em) => resolveLocked(deps, em, req, traceId));
  } catch (err) {
    if (!(err instanceof LedgerUnavailable)) throw err;
    deps.log.warn({ err, exceptionId: req.exceptionId }, 'exception resolve: the ledger did not answer; nothing recorded');
    return refuse(
      'PSP_UNAVAILABLE',
      'The ledger did not answer; nothing was recorded. Retry the same resolution: it never moves money twice.',
    );
  }
  deps.relay.wake();
  return result;
}

async function resolveLocked(
  deps: ResolveDeps,
  em: EntityManager,
  req: ResolveRequest,
  traceId: string,
): Promise<ServiceResult<ExceptionView>> {
  const ledger = ledgerOf(deps.call, traceId);
  const locked = await lockException(em, req.exceptionId);
  if (!locked) return refuse('EXCEPTION_NOT_FOUND', 'Exception not found');
  let row = locked;
  let seq = await nextActionSeq(em, row.id);
  // First record what an earlier resolve booked at the ledger but never committed here.
  for (;;) {
    const earlier = await ledger.getTransfer(actionTransferId(row.id, seq));
    if (!earlier) break;
    const action = earlierAction(earlier, req);
    await record(em, row, seq, action, earlier, traceId);
    if (action.sameRequest) return ok((await exceptionViewOf(em, row.id))!);
    row = (await lockException(em, row.id))!;
    seq++;
  }

  const plan = planResolution(
    { status: row.status, exposure: row.exposure, traderId: row.trader_id, outstandingMinor: row.outstanding_minor },
    req.resolution,
  );
  if (plan.outcome === 'already_resolved')
    return refuse('EXCEPTION_ALREADY_RESOLVED', 'Exception already resolved', { details: { resolution: row.resolution } });
  if (plan.outcome === 'invalid')
    return refuse('EXCEPTION_RESOLUTION_INVALID', plan.reason, { details: { exposure: row.exposure, resolution: req.resolution } });

  let transfer: TransferView | null = null;
  if (plan.outcome === 'move') {
    const transferId = actionTransferId(row.id, seq);
    const metadata = {
      kind: 'exception-resolution',
      exceptionId: row.id,
      seq: String(seq),
      resolution: req.resolution,
      operatorId: req.operatorId,
      note: req.note.slice(0, 500),
      ...(row.withdrawal_id ? { withdrawalId: row.withdrawal_id } : {}),
    };
    // A recovery takes what the trader has now; if a new hold takes it first, read again (bounded).
    for (let attempt = 1; ; attempt++) {
      const available = plan.upToAvailable ? await ledger.available(plan.debit) : 0n;
      const amountMinor = amountToMove(row.outstanding_minor, plan.upToAvailable, available);
      if (amountMinor === 0n) break;
      const moved = await ledger.transfer({ id: transferId, debit: plan.debit, credit: plan.credit, amountMinor, metadata });
      if (moved !== 'insufficient_funds') {
        transfer = moved;
        await deps.afterTransfer?.();
        break;
      }
      if (!plan.upToAvailable || attempt === 3) {
        throw new Error(`exception ${row.id}: the ledger refused ${usdt(amountMinor)} from ${plan.debit.owner} as insufficient funds`);
      }
    }
  }
  await record(em, row, seq, { resolution: req.resolution, note: req.note, operatorId: req.operatorId }, transfer, traceId);
  return ok((await exceptionViewOf(em, row.id))!);
}

/** Writes one action, what is left outstanding, the resolution when it closes, the timeline note and the event. */
async function record(
  em: EntityManager,
  row: ExceptionRow,
  seq: number,
  action: { resolution: ExceptionResolution; note: string; operatorId: string },
  transfer: TransferView | null,
  traceId: string,
): Promise<void> {
  const movedMinor = transfer?.amountMinor ?? 0n;
  const after = settle(row.outstanding_minor, movedMinor, action.resolution);
  await insertAction(em, { exceptionId: row.id, seq, ...action, movedMinor, transferId: transfer?.id ?? null });
  await updateException(em, row.id, after.outstandingMinor, after.resolved ? action.resolution : null);
  if (row.withdrawal_id) {
    const money = transfer ? `moved ${usdt(movedMinor)} from ${transfer.debit.owner} to ${transfer.credit.owner}` : 'no money moved';
    const state = after.resolved ? 'resolved' : `still open, ${usdt(after.outstandingMinor)} outstanding`;
    await noteOnWithdrawal(
      em,
      row.withdrawal_id,
      `operator:${action.operatorId}`,
      `exception ${row.id} ${action.resolution}: ${money}; ${state}. ${action.note}`,
    );
  }
  if (after.resolved) {
    const view = (await exceptionViewOf(em, row.id))!;
    await enqueue(em, exceptionEvents.resolved, view, { correlationId: row.withdrawal_id ?? row.id, causationId: null, traceId });
  }
}

/** The action an earlier resolve booked, read back from its transfer's metadata; `sameRequest` when this request is its retry. */
function earlierAction(
  t: TransferView,
  req: ResolveRequest,
): { resolution: ExceptionResolution; note: string; operatorId: string; sameRequest: boolean } {
  const resolution = exceptionResolution.parse(t.metadata['resolution']);
  const operatorId = t.metadata['operatorId'] ?? 'unknown';
  const note = t.metadata['note'] ?? '';
  const sameRequest = resolution === req.resolution && operatorId === req.operatorId && note === req.note.slice(0, 500);
  return {
    resolution,
    operatorId,
    note: sameRequest ? req.note : `${note} (recorded from the ledger after an interrupted resolve)`,
    sameRequest,
  };
}

/** The ledger calls a resolve makes; no answer (timeout, no responder, its database gone) becomes LedgerUnavailable. */
function ledgerOf(call: Call, traceId: string) {
  const ask = async <T>(what: () => Promise<T>): Promise<T> => {
    try {
      return await what();
    } catch (err) {
      if (err instanceof RpcError && err.unavailable) throw new LedgerUnavailable(err.message, { cause: err });
      throw err;
    }
  };
  return {
    getTransfer: async (id: string) => (await ask(() => call(ledgerRpc.getTransfer, { id }, traceId))).transfer,
    /** The account's available balance; 0 when it has no account. */
    available: async (ref: AccountRef) => {
      const { balances } = await ask(() => call(ledgerRpc.getBalances, { owner: ref.owner, currency: ref.currency }, traceId));
      return balances[0]?.availableMinor ?? 0n;
    },
    /** The transfer (new or the same one again), or insufficient_funds. */
    async transfer(req: {
      id: string;
      debit: AccountRef;
      credit: AccountRef;
      amountMinor: bigint;
      metadata: Record<string, string>;
    }): Promise<TransferView | 'insufficient_funds'> {
      let res = await ask(() => call(ledgerRpc.transfer, req, traceId));
      if (res.outcome === 'account_not_found' && req.credit.owner.startsWith('trader:')) {
        // A refund may credit a trader who never had an account: opened as every trader's is, never negative.
        // Clearing and the loss account are the ledger's own, created by its migration.
        await ask(() => call(ledgerRpc.openAccount, { ...req.credit, allowNegative: false }, traceId));
        res = await ask(() => call(ledgerRpc.transfer, req, traceId));
      }
      if ((res.outcome === 'ok' || res.outcome === 'exists') && res.transfer) return res.transfer;
      if (res.outcome === 'insufficient_funds') return 'insufficient_funds';
      throw new Error(`ledger refused exception transfer ${req.id}: ${res.outcome}`);
    },
  };
}
