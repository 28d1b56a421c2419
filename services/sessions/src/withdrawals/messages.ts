import { v5 } from 'uuid';
import type { z } from 'zod';
import { enqueue, executeBound, outboxInsert, type Cause, type EntityManager } from '@offramp/kit';
import { ledgerCommands, pspAlfredCommands, withdrawalEvents, type PayoutFailureClass, type WithdrawalStatus } from '@offramp/contracts';
import type { Withdrawal } from './withdrawals-store.ts';

/** The messages a withdrawal causes, each written to the outbox in the caller's transaction. */

/** Namespace of the ids derived from a withdrawal id (uuid v5), so that a retry re-sends the same ledger id. */
const idNamespace = '6f1c2f4e-8a57-4f0e-9d0c-1f3f8f5e2a10';

/** A stable id per withdrawal and purpose: the ledger treats a repeat as the same transfer. */
export const derivedId = (withdrawalId: string, purpose: 'post-hold' | 'void-hold'): string =>
  v5(`${withdrawalId}:${purpose}`, idNamespace);

/** `insert into outbox` of the rows in bound parameter `$param` (the kit's `outboxInsert`) as `alias as (...)` in a combined statement's WITH. */
export const outboxInsertAs = (alias: string, param: number, when?: string): string => `${alias} as (${outboxInsert(param, when)})`;

export async function sendDebited(em: EntityManager, w: Withdrawal, cause: Cause): Promise<void> {
  await enqueue(em, withdrawalEvents.debited, debitedPayload(w), cause);
}

export function debitedPayload(w: Withdrawal): z.output<typeof withdrawalEvents.debited.payload> {
  return {
    withdrawalId: w.id,
    traderId: w.traderId,
    country: w.country,
    paymentRouteId: w.paymentRouteId,
    fiatAccountId: w.fiatAccountId,
    fiatAmount: w.fiatAmount,
    fiatCurrency: w.fiatCurrency,
    debitedMinor: w.debitedMinor,
    destinationFingerprint: w.destination.destinationFingerprint,
    accountHolderName: w.destination.fiatAccount.accountHolderName,
    kycName: w.destination.kycName,
  };
}

export interface StatusChange {
  from: WithdrawalStatus | null;
  to: WithdrawalStatus;
  actor: string;
  reason: string | null;
  failureClass?: PayoutFailureClass | null;
}

export async function sendStatusChanged(em: EntityManager, w: Withdrawal, change: StatusChange, cause: Cause): Promise<void> {
  await enqueue(em, withdrawalEvents.statusChanged, statusChangedPayload(w, change), cause);
}

export function statusChangedPayload(w: Withdrawal, change: StatusChange): z.output<typeof withdrawalEvents.statusChanged.payload> {
  return {
    withdrawalId: w.id,
    traderId: w.traderId,
    ...change,
    debitedMinor: w.debitedMinor,
    fiatAmount: w.fiatAmount,
    fiatCurrency: w.fiatCurrency,
    restoredMinor: change.to === 'rejected' ? w.debitedMinor : null,
    failureClass: change.failureClass ?? null,
    country: w.country,
  };
}

/**
 * Asks psp-alfred for the offramp; it is idempotent by withdrawal id and dispatch, so a re-send is
 * safe. Dispatch n > 1 is the (n-1)th re-dispatch after a bank_unavailable FAILED: a new order.
 */
export async function sendCreateOfframp(
  em: EntityManager,
  w: Withdrawal,
  cause: Cause,
  dispatch = 1 + w.payoutRedispatches,
): Promise<void> {
  await enqueue(em, pspAlfredCommands.createOfframp, createOfframpPayload(w, dispatch), cause);
  await executeBound(em, 'update withdrawals set offramp_requested_at = now(), offramp_requests = offramp_requests + 1 where id = $1', [
    w.id,
  ]);
}

/** The create-offramp command's payload (`sendCreateOfframp`'s; a transition's combined statement writes it too). */
export function createOfframpPayload(
  w: Withdrawal,
  dispatch = 1 + w.payoutRedispatches,
): z.output<typeof pspAlfredCommands.createOfframp.payload> {
  return {
    withdrawalId: w.id,
    traderId: w.traderId,
    fiatAccountId: w.fiatAccountId,
    cryptoAmountMinor: w.debitedMinor,
    fiatCurrency: w.fiatCurrency,
    fiatAmount: w.fiatAmount,
    dispatch,
  };
}

/**
 * Voids a hold through the ledger's command stream, for an initiation given up before its
 * withdrawal existed; a withdrawal's own hold is posted or voided by rpc in its transition.
 * The hold's id is the withdrawal id.
 */
export async function sendVoidHold(em: EntityManager, withdrawalId: string, cause: Cause): Promise<void> {
  await enqueue(em, ledgerCommands.voidHold, { id: derivedId(withdrawalId, 'void-hold'), holdId: withdrawalId }, cause);
}

/** Asks psp-alfred to read the order at Alfred and publish its status again, even one its mirror already holds. */
export async function sendReconcile(em: EntityManager, withdrawalId: string, cause: Cause): Promise<void> {
  await enqueue(em, pspAlfredCommands.reconcileOfframp, { withdrawalId }, cause);
}

/** Asks psp-alfred to mark the withdrawal's fiat account errored: Alfred failed its payout for a reason about the account. */
export async function sendFiatAccountErrored(
  em: EntityManager,
  w: Withdrawal,
  failure: { failureClass?: PayoutFailureClass; failureReason?: string },
  cause: Cause,
): Promise<void> {
  await enqueue(em, pspAlfredCommands.markFiatAccountErrored, fiatAccountErroredPayload(w, failure), cause);
}

export function fiatAccountErroredPayload(
  w: Withdrawal,
  failure: { failureClass?: PayoutFailureClass; failureReason?: string },
): z.output<typeof pspAlfredCommands.markFiatAccountErrored.payload> {
  return {
    traderId: w.traderId,
    fiatAccountId: w.fiatAccountId,
    withdrawalId: w.id,
    failureClass: failure.failureClass ?? 'unknown',
    failureReason: failure.failureReason ?? null,
  };
}
