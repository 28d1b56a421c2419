import { z } from 'zod';
import { defineMessage, defineRpc } from './envelope.ts';
import { positiveMinorUnits } from './money.ts';
import { payoutFailureClass } from './payout-failures.ts';
import { serviceResult } from './result.ts';
import { rail } from './routes.ts';
import { commandSubject, eventSubject, rpcSubject } from './subjects.ts';
import { decimalAmount, quoteView } from './withdrawals.ts';

export const offrampStatus = z.enum([
  'CREATED',
  'ON_CHAIN_DEPOSIT_RECEIVED',
  'TRADE_COMPLETED',
  'FIAT_TRANSFER_INITIATED',
  'FIAT_TRANSFER_COMPLETED',
  'FAILED',
]);
export type OfframpStatus = z.infer<typeof offrampStatus>;
export const kycStatus = z.enum(['CREATED', 'IN_REVIEW', 'COMPLETED', 'FAILED', 'UPDATE_REQUIRED']);

const trader = z.object({ traderId: z.string().min(1).max(200) });

export const eligibility = z.discriminatedUnion('eligible', [
  z.object({ eligible: z.literal(true), country: z.string().length(2), rails: z.array(rail) }),
  z.object({
    eligible: z.literal(false),
    reason: z.literal('KYC_UPDATE_REQUIRED'),
    fallback: z.object({ fields: z.array(z.string()), documents: z.array(z.string()) }),
  }),
]);

/** A fiat account as shown to traders and operators: numbers masked. */
export const fiatAccountView = z.object({
  fiatAccountId: z.string(),
  type: rail,
  maskedNumber: z.string(),
  accountHolderName: z.string(),
  bankName: z.string().nullable(),
  createdAt: z.iso.datetime({ offset: true }),
  /** `errored`: a payout to it failed for a reason about the account (closed, invalid, another holder); new sessions refuse it. */
  status: z.enum(['active', 'errored']).optional(),
});
export type FiatAccountView = z.infer<typeof fiatAccountView>;

/** One order looked at by reconciliation. */
export const offrampSyncDetail = z.object({
  withdrawalId: z.uuid(),
  transactionId: z.string(),
  previousStatus: offrampStatus.nullable(),
  status: offrampStatus.nullable(),
  outcome: z.enum(['updated', 'unchanged', 'failed']),
  error: z.string().optional(),
});

export const pspAlfredRpc = {
  eligibility: defineRpc(rpcSubject('psp-alfred', 'eligibility'), trader, serviceResult(eligibility)),
  supportedOptions: defineRpc(
    rpcSubject('psp-alfred', 'supported-options'),
    trader,
    serviceResult(
      z.object({ routes: z.array(z.object({ paymentRouteId: z.string(), rail, currency: z.string(), min: z.string(), max: z.string() })) }),
    ),
  ),
  quote: defineRpc(
    rpcSubject('psp-alfred', 'quote'),
    trader.extend({ fiatCurrency: z.string(), fiatAmount: decimalAmount }),
    serviceResult(quoteView),
  ),
  listFiatAccounts: defineRpc(rpcSubject('psp-alfred', 'list-fiat-accounts'), trader, z.object({ accounts: z.array(fiatAccountView) })),
  fiatAccountRequirements: defineRpc(
    rpcSubject('psp-alfred', 'fiat-account-requirements'),
    z.object({ type: z.string() }),
    serviceResult(z.object({ type: rail, schema: z.record(z.string(), z.unknown()) })),
  ),
  createFiatAccount: defineRpc(
    rpcSubject('psp-alfred', 'create-fiat-account'),
    trader.extend({ type: z.string(), fields: z.record(z.string(), z.unknown()) }),
    serviceResult(z.object({ fiatAccountId: z.string() })),
  ),
  deleteFiatAccount: defineRpc(
    rpcSubject('psp-alfred', 'delete-fiat-account'),
    trader.extend({ fiatAccountId: z.string() }),
    serviceResult(z.object({ deleted: z.literal(true) })),
  ),
  /** Internal (sessions): what a withdrawal needs to know of its destination. */
  getDestination: defineRpc(
    rpcSubject('psp-alfred', 'get-destination'),
    trader.extend({ fiatAccountId: z.string() }),
    serviceResult(
      z.object({
        fiatAccount: fiatAccountView,
        country: z.string().length(2),
        kycName: z.string(),
        /** A stable hash of rail + account number, for KYT screening without the number itself. */
        destinationFingerprint: z.string(),
      }),
    ),
  ),
  /**
   * Operators: reads every open order (or those whose status has not moved for `olderThanSeconds`)
   * at Alfred now; a newer status goes through the webhook path with source `reconciliation`.
   */
  syncStatuses: defineRpc(
    rpcSubject('psp-alfred', 'sync-statuses'),
    z.object({ olderThanSeconds: z.number().int().min(0).optional() }),
    z.object({ syncedCount: z.number().int(), failedCount: z.number().int(), details: z.array(offrampSyncDetail) }),
  ),
  /**
   * Internal (sessions, before an operator rejects or completes): the withdrawal's order as Alfred
   * reports it now (GET /offramp/{transactionId}). `none`: no order exists and none will be made
   * (an intent not yet sent is fenced off, so a later create-offramp command does nothing);
   * `unknown`: an attempt's outcome is unknown (an order may exist); `live`: an order that is not
   * final; `completed` / `failed`: Alfred's final status. PSP_UNAVAILABLE when Alfred cannot be asked.
   */
  orderState: defineRpc(
    rpcSubject('psp-alfred', 'order-state'),
    z.object({ withdrawalId: z.uuid(), fence: z.boolean().default(false) }),
    serviceResult(
      z.object({
        state: z.enum(['none', 'unknown', 'live', 'completed', 'failed']),
        transactionId: z.string().nullable(),
        status: offrampStatus.nullable(),
        failureReason: z.string().nullable(),
      }),
    ),
  ),
  devSeedKyc: defineRpc(
    rpcSubject('psp-alfred', 'dev-seed-kyc'),
    trader.extend({ country: z.string().length(2) }),
    serviceResult(z.record(z.string(), z.unknown())),
  ),
  devProvisionCustomer: defineRpc(
    rpcSubject('psp-alfred', 'dev-provision-customer'),
    trader,
    serviceResult(z.record(z.string(), z.unknown())),
  ),
  devApproveKyc: defineRpc(rpcSubject('psp-alfred', 'dev-approve-kyc'), trader, serviceResult(z.record(z.string(), z.unknown()))),
  devEmitKycStatus: defineRpc(
    rpcSubject('psp-alfred', 'dev-emit-kyc-status'),
    trader.extend({ status: z.enum(['COMPLETED', 'FAILED', 'UPDATE_REQUIRED']) }),
    serviceResult(z.record(z.string(), z.unknown())),
  ),
  devEmitOfframp: defineRpc(
    rpcSubject('psp-alfred', 'dev-emit-offramp'),
    trader.extend({
      withdrawalId: z.uuid(),
      scenario: z.enum(['success', 'failure']),
      failureReason: z.string().min(1).max(200).optional(),
    }),
    serviceResult(z.record(z.string(), z.unknown())),
  ),
};

export const pspAlfredCommands = {
  createOfframp: defineMessage(
    commandSubject('psp-alfred', 'create-offramp'),
    z.object({
      withdrawalId: z.uuid(),
      traderId: z.string(),
      fiatAccountId: z.string(),
      cryptoAmountMinor: positiveMinorUnits,
      fiatCurrency: z.string(),
      fiatAmount: decimalAmount,
      /**
       * 1 for the withdrawal's first order; n > 1 asks for a new order after the previous one FAILED
       * (a bank_unavailable re-dispatch); absent: 1. psp-alfred makes one order per (withdrawal, dispatch).
       */
      dispatch: z.number().int().min(1).max(100).optional(),
    }),
  ),
  /**
   * Sessions' sweeper, for a withdrawal in `approved`/`processing` past its threshold: read the
   * order at Alfred and publish its current status through the webhook path even when the mirror
   * already holds it (a final status the withdrawal never took is published again).
   */
  reconcileOfframp: defineMessage(commandSubject('psp-alfred', 'reconcile-offramp'), z.object({ withdrawalId: z.uuid() })),
  /**
   * Sessions, when Alfred failed a payout for a reason about the account itself (an account-level
   * class of the taxonomy): the fiat account is marked errored, and a new session with it is refused
   * with FIAT_ACCOUNT_ERRORED until the trader registers another. Idempotent: the first marking stays.
   */
  markFiatAccountErrored: defineMessage(
    commandSubject('psp-alfred', 'mark-fiat-account-errored'),
    z.object({
      traderId: z.string(),
      fiatAccountId: z.string(),
      withdrawalId: z.uuid(),
      failureClass: payoutFailureClass,
      failureReason: z.string().nullable(),
    }),
  ),
};

export const pspAlfredEvents = {
  /** Alfred accepted the order; custody must send the USDT to `depositAddress` (the deposit instruction). */
  offrampCreated: defineMessage(
    eventSubject('psp-alfred', 'offramp-created'),
    z.object({
      withdrawalId: z.uuid(),
      transactionId: z.string(),
      depositAddress: z.string(),
      chain: z.string(),
      cryptoAmountMinor: positiveMinorUnits,
    }),
  ),
  /** Alfred refused the order for good (a 4xx that no retry will change). */
  offrampRefused: defineMessage(
    eventSubject('psp-alfred', 'offramp-refused'),
    z.object({ withdrawalId: z.uuid(), partnerCode: z.number().int().nullable(), message: z.string() }),
  ),
  /** A status of the order at Alfred, from a webhook or from reconciliation; may repeat or come out of order. */
  offrampStatusChanged: defineMessage(
    eventSubject('psp-alfred', 'offramp-status-changed'),
    z.object({
      withdrawalId: z.uuid(),
      transactionId: z.string(),
      status: offrampStatus,
      failureReason: z.string().nullable(),
      source: z.enum(['webhook', 'reconciliation']),
    }),
  ),
  /**
   * psp-alfred saw the partner disagree with what we asked for (an amount or currency other than the
   * accepted quote, an event for a reference still unknown after a threshold, a reconciliation
   * mismatch); sessions opens an exception for it, once per `key`.
   */
  discrepancyFound: defineMessage(
    eventSubject('psp-alfred', 'discrepancy-found'),
    z.object({
      key: z.string().min(1).max(300),
      kind: z.enum(['partner_amount_mismatch', 'unknown_partner_reference', 'reconciliation_mismatch']),
      withdrawalId: z.uuid().nullable(),
      transactionId: z.string().nullable(),
      facts: z.record(z.string(), z.unknown()),
    }),
  ),
  kycStatusChanged: defineMessage(
    eventSubject('psp-alfred', 'kyc-status-changed'),
    z.object({ traderId: z.string(), customerId: z.string(), status: kycStatus }),
  ),
};
