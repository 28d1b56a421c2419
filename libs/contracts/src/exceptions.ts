import { z } from 'zod';
import { defineMessage, defineRpc } from './envelope.ts';
import { minorUnits } from './money.ts';
import { serviceResult } from './result.ts';
import { eventSubject, rpcSubject } from './subjects.ts';
import { principalId } from './withdrawals.ts';

/**
 * The exception queue (owned by sessions): whenever money and the partner (or the ledger) disagree,
 * an exception is opened for an operator; never just a log line.
 *
 * - `partner_outcome_after_terminal`: Alfred reported an outcome that contradicts the withdrawal's
 *   final status (FIAT_TRANSFER_COMPLETED after `rejected`: the trader got the fiat and the USDT
 *   back; FAILED after `completed`: the trader lost the USDT and got no fiat).
 * - `ledger_command_refused`: the ledger refused a post or void of the withdrawal's hold.
 * - `partner_amount_mismatch`: Alfred's order amount or currency differs from the accepted quote.
 * - `unknown_partner_reference`: a partner event for a reference we still do not know after a threshold.
 * - `reconciliation_mismatch`: reconciliation found the partner and the withdrawal disagreeing.
 */
export const exceptionKinds = [
  'partner_outcome_after_terminal',
  'ledger_command_refused',
  'partner_amount_mismatch',
  'unknown_partner_reference',
  'reconciliation_mismatch',
  /** A payout stayed `processing` at the partner past its rail's SLA (sessions' sweeper); no money at stake. */
  'payout_past_sla',
] as const;
export const exceptionKind = z.enum(exceptionKinds);
export type ExceptionKind = z.infer<typeof exceptionKind>;

export const exceptionStatus = z.enum(['open', 'resolved']);
export type ExceptionStatus = z.infer<typeof exceptionStatus>;

/**
 * How an operator resolves an exception. Money moves only through the ledger, audited:
 * - `recover_from_trader`: debits what the trader received twice (trader -> psp:alfred:clearing), up
 *   to the trader's available balance; what is still owed stays open.
 * - `refund_trader`: credits the trader what they paid for a payout that never arrived
 *   (psp:alfred:clearing -> trader).
 * - `write_off`: books the outstanding amount to the loss account `loss:partner-divergence`.
 * - `dismiss`: closes it with a note, no money.
 */
export const exceptionResolutions = ['recover_from_trader', 'refund_trader', 'write_off', 'dismiss'] as const;
export const exceptionResolution = z.enum(exceptionResolutions);
export type ExceptionResolution = z.infer<typeof exceptionResolution>;

/** Which way the money went wrong, so the console offers the resolutions that make sense. */
export const exceptionExposure = z.enum(['trader_received_twice', 'trader_received_nothing', 'none']);
export type ExceptionExposure = z.infer<typeof exceptionExposure>;

/**
 * The resolutions that fit each exposure; any other is EXCEPTION_RESOLUTION_INVALID. `write_off`
 * fits only a double payment: when the trader received nothing the company lost nothing (the
 * USDT is in clearing) and the trader is made whole by `refund_trader`.
 */
export const resolutionsByExposure: Record<ExceptionExposure, readonly ExceptionResolution[]> = {
  trader_received_twice: ['recover_from_trader', 'write_off', 'dismiss'],
  trader_received_nothing: ['refund_trader', 'dismiss'],
  none: ['dismiss'],
};

/** One operator action on an exception (a partial recovery leaves the exception open). */
export const exceptionAction = z.object({
  resolution: exceptionResolution,
  note: z.string(),
  operatorId: z.string(),
  movedMinor: minorUnits,
  transferId: z.uuid().nullable(),
  at: z.iso.datetime({ offset: true }),
});
export type ExceptionAction = z.infer<typeof exceptionAction>;

export const exceptionView = z.object({
  exceptionId: z.uuid(),
  kind: exceptionKind,
  status: exceptionStatus,
  withdrawalId: z.uuid().nullable(),
  traderId: z.string().nullable(),
  /** The partner's reference (Alfred transaction id) when there is one. */
  partnerReference: z.string().nullable(),
  /** What disagrees: both states, amounts, currencies, the ledger outcome... (per kind). */
  facts: z.record(z.string(), z.unknown()),
  exposure: exceptionExposure,
  /** USDT minor units at stake when opened, and what is still outstanding after the actions so far. */
  amountMinor: minorUnits,
  outstandingMinor: minorUnits,
  openedAt: z.iso.datetime({ offset: true }),
  resolvedAt: z.iso.datetime({ offset: true }).nullable(),
  /** The final resolution once resolved. */
  resolution: exceptionResolution.nullable(),
  actions: z.array(exceptionAction),
});
export type ExceptionView = z.infer<typeof exceptionView>;

/** The short form a withdrawal's detail links. */
export const exceptionLink = z.object({ exceptionId: z.uuid(), kind: exceptionKind, status: exceptionStatus });
export type ExceptionLink = z.infer<typeof exceptionLink>;

export const exceptionsRpc = {
  list: defineRpc(
    rpcSubject('sessions', 'list-exceptions'),
    z.object({
      status: exceptionStatus.optional(),
      kind: exceptionKind.optional(),
      withdrawalId: z.uuid().optional(),
      page: z.number().int().min(1),
      limit: z.number().int().min(1).max(100),
    }),
    z.object({ exceptions: z.array(exceptionView), total: z.number().int() }),
  ),
  /** EXCEPTION_NOT_FOUND when unknown. */
  get: defineRpc(rpcSubject('sessions', 'get-exception'), z.object({ exceptionId: z.uuid() }), serviceResult(exceptionView)),
  /**
   * Applies a resolution: EXCEPTION_NOT_FOUND, EXCEPTION_ALREADY_RESOLVED (409), or
   * EXCEPTION_RESOLUTION_INVALID (409: the resolution does not fit the exposure, e.g. refund on a
   * double payment). A retried resolve never moves money twice: its transfer id derives from the exception and the action number.
   */
  resolve: defineRpc(
    rpcSubject('sessions', 'resolve-exception'),
    z.object({
      exceptionId: z.uuid(),
      operatorId: principalId,
      resolution: exceptionResolution,
      note: z.string().min(1).max(1000),
    }),
    serviceResult(exceptionView),
  ),
};

export const exceptionEvents = {
  /** For notifications and dashboards; the exception row is the source of truth. */
  opened: defineMessage(eventSubject('exceptions', 'opened'), exceptionView),
  resolved: defineMessage(eventSubject('exceptions', 'resolved'), exceptionView),
};
