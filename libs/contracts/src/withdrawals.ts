import { z } from 'zod';
import { defineMessage, defineRpc } from './envelope.ts';
import { currencyCode, minorUnits, positiveMinorUnits } from './money.ts';
import { payoutFailureClass } from './payout-failures.ts';
import { serviceResult } from './result.ts';
import { eventSubject, rpcSubject } from './subjects.ts';

/** A positive decimal string as users type it ("50", "50.00"); precision is checked per currency. */
export const decimalAmount = z.string().regex(/^(0|[1-9][0-9]{0,17})(\.[0-9]{1,8})?$/, 'must be a positive decimal amount');

export const withdrawalStatuses = ['pending', 'in_review', 'approved', 'processing', 'completed', 'rejected'] as const;
export const withdrawalStatus = z.enum(withdrawalStatuses);
export type WithdrawalStatus = z.infer<typeof withdrawalStatus>;

/** Who moved a withdrawal: the trader, the system (saga, sweeper, risk), an operator, or Alfred's webhook. */
export const actor = z.string().regex(/^(trader|system|risk|alfred|operator):?[A-Za-z0-9:_.@-]{0,200}$/);

export const quoteView = z.object({
  quoteId: z.string(),
  fiatAmount: decimalAmount,
  fiatCurrency: currencyCode,
  cryptoAmountMinor: positiveMinorUnits,
  rate: z.string(),
  fees: z.array(z.object({ type: z.string(), amount: z.string(), currency: z.string() })),
  expiresAt: z.iso.datetime({ offset: true }),
});
export type QuoteView = z.infer<typeof quoteView>;

export const timelineEntry = z.object({
  from: withdrawalStatus.nullable(),
  to: withdrawalStatus,
  actor,
  reason: z.string().nullable(),
  /** Set when a transition was refused (e.g. ALFRED_INCORRECT_STATUS_CHANGE); no money moved. */
  refusedCode: z.string().nullable(),
  at: z.iso.datetime({ offset: true }),
  /**
   * `transition` moved the withdrawal; `refused` was asked for and refused (`refusedCode` set);
   * `note` records what happened without a status change (an intermediate Alfred status, a
   * re-dispatch), with `from` = `to` = the status at the time.
   */
  kind: z.enum(['transition', 'refused', 'note']).optional(),
});
export type TimelineEntry = z.infer<typeof timelineEntry>;

/** Identifiers that end up inside an `actor` or a ledger account owner (`trader:<id>`). */
export const principalId = z.string().regex(/^[A-Za-z0-9:_.@-]{1,200}$/, 'must be 1-200 letters, digits or :_.@-');

/** The risk decision as the withdrawal keeps it (risk.ts owns the event that carries it). */
export const withdrawalRiskDecision = z.object({
  decision: z.enum(['approve', 'review', 'reject']),
  reasons: z.array(z.object({ code: z.string(), detail: z.string() })),
  at: z.iso.datetime({ offset: true }),
});

export const withdrawalView = z.object({
  withdrawalId: z.uuid(),
  traderId: z.string(),
  status: withdrawalStatus,
  paymentRouteId: z.string(),
  fiatAccountId: z.string(),
  fiatAmount: decimalAmount,
  fiatCurrency: currencyCode,
  debitedMinor: positiveMinorUnits,
  pspTransactionId: z.string().nullable(),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
  timeline: z.array(timelineEntry),
  /** Operator details; optional so that older producers stay valid. */
  country: z.string().length(2).optional(),
  quote: quoteView.optional(),
  fiatAccount: z
    .object({ type: z.string(), maskedNumber: z.string(), accountHolderName: z.string(), bankName: z.string().nullable() })
    .optional(),
  riskDecision: withdrawalRiskDecision.nullable().optional(),
  failureReason: z.string().nullable().optional(),
  /** The class of Alfred's failure reason when the partner failed the payout (`classifyFailure`). */
  failureClass: payoutFailureClass.nullable().optional(),
  settlementReference: z.string().nullable().optional(),
  /** Set by the sweeper when the withdrawal has stayed in its status longer than its SLA. */
  stuckSince: z.iso.datetime({ offset: true }).nullable().optional(),
  /** The exceptions opened about this withdrawal (operators). */
  exceptions: z.array(z.object({ exceptionId: z.uuid(), kind: z.string(), status: z.enum(['open', 'resolved']) })).optional(),
});
export type WithdrawalView = z.infer<typeof withdrawalView>;

export const createSessionRequest = z.object({
  traderId: z.string().min(1).max(200),
  amount: decimalAmount,
  sourceCurrency: currencyCode,
  paymentRouteId: z.string(),
  walletId: z.string().min(1).max(64),
  fiatAccountId: z.string().min(1).max(200),
});

export const sessionView = z.object({ sessionId: z.uuid(), expiresAt: z.iso.datetime({ offset: true }), quote: quoteView });

export const initiateResult = z.object({
  withdrawalId: z.uuid(),
  status: withdrawalStatus,
  debited: z.object({ amountMinor: positiveMinorUnits, currency: z.literal('USDT') }),
});

export const sessionsRpc = {
  createSession: defineRpc(rpcSubject('sessions', 'create-session'), createSessionRequest, serviceResult(sessionView)),
  initiateWithdrawal: defineRpc(
    rpcSubject('sessions', 'initiate-withdrawal'),
    z.object({ traderId: z.string().min(1), sessionId: z.uuid() }),
    serviceResult(initiateResult),
  ),
  /** ok when the session exists and is the trader's; ALFRED_SESSION_NOT_OWNED or SESSION_NOT_FOUND otherwise. */
  checkSessionOwner: defineRpc(
    rpcSubject('sessions', 'check-session-owner'),
    z.object({ traderId: z.string().min(1), sessionId: z.uuid() }),
    serviceResult(z.object({ sessionId: z.uuid(), withdrawalId: z.uuid().nullable() })),
  ),
  listWithdrawals: defineRpc(
    rpcSubject('sessions', 'list-withdrawals'),
    z.object({
      traderId: z.string().min(1).optional(),
      status: withdrawalStatus.optional(),
      /** Only withdrawals flagged as stuck past their SLA (operators). */
      stuck: z.boolean().optional(),
      page: z.number().int().min(1),
      limit: z.number().int().min(1).max(100),
    }),
    z.object({ withdrawals: z.array(withdrawalView), total: z.number().int() }),
  ),
  getWithdrawal: defineRpc(
    rpcSubject('sessions', 'get-withdrawal'),
    z.object({ traderId: z.string().min(1).optional(), withdrawalId: z.uuid() }),
    serviceResult(withdrawalView),
  ),
};

/** The hold is placed and the withdrawal exists: risk decides next. */
export const withdrawalDebited = z.object({
  withdrawalId: z.uuid(),
  traderId: z.string(),
  country: z.string().length(2),
  paymentRouteId: z.string(),
  fiatAccountId: z.string(),
  fiatAmount: decimalAmount,
  fiatCurrency: currencyCode,
  debitedMinor: positiveMinorUnits,
  /** For KYT screening and the Travel Rule. */
  destinationFingerprint: z.string(),
  accountHolderName: z.string(),
  kycName: z.string(),
});
export type WithdrawalDebited = z.infer<typeof withdrawalDebited>;

export const withdrawalEvents = {
  debited: defineMessage(eventSubject('withdrawals', 'debited'), withdrawalDebited),
  /**
   * The payout has been `processing` at the partner longer than its rail's SLA (sessions' sweeper,
   * once per withdrawal): the trader is told it is delayed.
   */
  payoutDelayed: defineMessage(
    eventSubject('withdrawals', 'payout-delayed'),
    z.object({
      withdrawalId: z.uuid(),
      traderId: z.string(),
      country: z.string().length(2),
      paymentRouteId: z.string(),
      slaMs: z.number().int().positive(),
      processingSince: z.iso.datetime({ offset: true }),
      debitedMinor: positiveMinorUnits,
      fiatAmount: decimalAmount,
      fiatCurrency: currencyCode,
    }),
  ),
  statusChanged: defineMessage(
    eventSubject('withdrawals', 'status-changed'),
    z.object({
      withdrawalId: z.uuid(),
      traderId: z.string(),
      from: withdrawalStatus.nullable(),
      to: withdrawalStatus,
      actor,
      reason: z.string().nullable(),
      debitedMinor: positiveMinorUnits,
      fiatAmount: decimalAmount,
      fiatCurrency: currencyCode,
      /** On rejection: the USDT returned to the trader's available balance. */
      restoredMinor: minorUnits.nullable(),
      /** When the partner failed the payout: the class of its reason (the trader's message is chosen from it). */
      failureClass: payoutFailureClass.nullable().optional(),
      /** The trader's country, for the language of the trader's message. */
      country: z.string().length(2).optional(),
    }),
  ),
};

const operatorAction = z.object({ withdrawalId: z.uuid(), operatorId: principalId });

/**
 * Operator actions (admin console, through the gateway). Each answers the withdrawal after the
 * action, WITHDRAWAL_NOT_FOUND, or ALFRED_INCORRECT_STATUS_CHANGE (409) for an illegal transition,
 * which moves no money and is written to the timeline as a refused entry. Every action is audited
 * with `operator:<operatorId>`.
 */
export const withdrawalOperatorRpc = {
  /** in_review -> approved; the pipeline continues (createOfframp). */
  approve: defineRpc(
    rpcSubject('sessions', 'operator-approve'),
    operatorAction.extend({ reason: z.string().min(1).max(500).optional() }),
    serviceResult(withdrawalView),
  ),
  /** in_review -> rejected; the hold is voided (funds restored). */
  reject: defineRpc(
    rpcSubject('sessions', 'operator-reject'),
    operatorAction.extend({ reason: z.string().min(1).max(500) }),
    serviceResult(withdrawalView),
  ),
  /** processing -> completed when the partner confirmed out of band; the hold is posted. */
  complete: defineRpc(
    rpcSubject('sessions', 'operator-complete'),
    operatorAction.extend({
      reference: z.string().min(1).max(200),
      notes: z.string().max(1000).optional(),
      /** Needed unless Alfred reports FIAT_TRANSFER_COMPLETED: the operator vouches for the payout. */
      confirmedOutOfBand: z.boolean().optional(),
    }),
    serviceResult(withdrawalView),
  ),
  /** Re-sends createOfframp for an approved withdrawal (psp-alfred is idempotent by withdrawal id). */
  process: defineRpc(rpcSubject('sessions', 'operator-process'), operatorAction, serviceResult(withdrawalView)),
  /** Moves along any legal transition of the state machine, with the same money effects as the normal path. */
  overrideStatus: defineRpc(
    rpcSubject('sessions', 'operator-override-status'),
    operatorAction.extend({
      status: withdrawalStatus,
      reason: z.string().min(1).max(500),
      reference: z.string().min(1).max(200).optional(),
      confirmedOutOfBand: z.boolean().optional(),
    }),
    serviceResult(withdrawalView),
  ),
};
