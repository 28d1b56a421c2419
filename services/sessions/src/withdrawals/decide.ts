import {
  classifyFailure,
  failureAction,
  type ExceptionExposure,
  type ExceptionKind,
  type LedgerOutcome,
  type OfframpStatus,
  type PayoutFailureClass,
  type RiskDecision,
  type WithdrawalStatus,
} from '@offramp/contracts';
import { effectsOf, isLegal, type Effect } from './state-machine.ts';
import type { TimelineInput, Withdrawal } from './withdrawals-store.ts';
import type { OpenException } from '../exceptions/exceptions.ts';

/**
 * The saga's rules in one pure function: what an event does to a withdrawal. The caller locks the
 * row, decides, and carries the decision out in the same transaction (`transition.ts`); nothing
 * here reads or writes anything.
 */

/** What the decider reads of a withdrawal. */
export type Decided = Pick<
  Withdrawal,
  'id' | 'traderId' | 'status' | 'debitedMinor' | 'fiatAmount' | 'fiatCurrency' | 'pspTransactionId' | 'hasRiskDecision'
> &
  Partial<Pick<Withdrawal, 'payoutRedispatches' | 'failedPspTransactionIds'>>;

/** The decider's configuration: how many times a `bank_unavailable` failure is re-dispatched (PAYOUT_REDISPATCH_MAX). */
export interface DecidePolicy {
  redispatchMax: number;
}
export const noRedispatch: DecidePolicy = { redispatchMax: 0 };

/** The order at Alfred as psp-alfred reports it now (`pspAlfredRpc.orderState`). */
export interface PartnerOrder {
  state: 'none' | 'unknown' | 'live' | 'completed' | 'failed';
  transactionId: string | null;
  status: OfframpStatus | null;
  failureReason: string | null;
}

/** Operator events carry the partner's answer when the withdrawal may have an order; null before it was asked. */
export type WithdrawalEvent =
  | { kind: 'risk_decided'; decision: RiskDecision; reasons: { code: string; detail: string }[] }
  | { kind: 'offramp_created'; transactionId: string }
  | { kind: 'offramp_refused'; partnerCode: number | null; message: string }
  | {
      kind: 'offramp_status';
      transactionId: string;
      status: OfframpStatus;
      failureReason: string | null;
      source: 'webhook' | 'reconciliation';
    }
  | { kind: 'operator_approve'; operatorId: string; reason: string }
  | { kind: 'operator_reject'; operatorId: string; reason: string; partner: PartnerOrder | null }
  | {
      kind: 'operator_complete';
      operatorId: string;
      reference: string;
      notes: string | null;
      confirmedOutOfBand: boolean;
      partner: PartnerOrder | null;
    }
  | {
      kind: 'operator_override';
      operatorId: string;
      to: WithdrawalStatus;
      reason: string;
      reference: string | null;
      confirmedOutOfBand: boolean;
      partner: PartnerOrder | null;
    }
  | { kind: 'operator_process'; operatorId: string }
  /** The ledger refused to resolve the hold: from the synchronous call of a transition (`attempted`), or a `command-refused` event. */
  | {
      kind: 'ledger_refused';
      command: 'post' | 'void';
      outcome: LedgerOutcome;
      transferId: string;
      attempted: { from: WithdrawalStatus; to: WithdrawalStatus; actor: string } | null;
    };

/** Facts written with the steps, only when they are taken. */
export interface Patch {
  pspTransactionId?: string;
  failureReason?: string;
  /** The class of Alfred's failure reason, when the partner failed the payout. */
  failureClass?: PayoutFailureClass;
  riskDecision?: { decision: RiskDecision; reasons: { code: string; detail: string }[] };
  settlementReference?: string;
  /** A bank_unavailable re-dispatch: the FAILED order's reference is set aside and a new order (dispatch n) asked for. */
  redispatch?: { failedTransactionId: string; dispatch: number };
}

export interface Step {
  from: WithdrawalStatus;
  to: WithdrawalStatus;
  actor: string;
  reason: string | null;
}

/** An exception to open (idempotent by `key`): what the exceptions module's `openException` takes. */
export type ExceptionDraft = OpenException;

/** A transition `decide` refuses: recorded on the timeline, nothing moves. */
export interface TransitionRefusal {
  code: 'ALFRED_INCORRECT_STATUS_CHANGE' | 'PARTNER_ORDER_LIVE';
  from: WithdrawalStatus;
  to: WithdrawalStatus;
  message: string;
}

interface Recorded {
  effects: Effect[];
  timeline: TimelineInput[];
  exceptions: ExceptionDraft[];
}

/**
 * - apply: take the steps (possibly none: a note) with their effects, patch, timeline and exceptions;
 * - refuse: move nothing, record the refusal (and any exception it reveals);
 * - duplicate: the withdrawal already is where the event would take it; nothing to write;
 * - ask_partner: an operator action on a withdrawal that may have an order needs Alfred's answer first.
 */
export type Decision =
  | ({ outcome: 'apply'; steps: Step[]; patch: Patch } & Recorded)
  | ({ outcome: 'refuse'; refusal: TransitionRefusal } & Recorded)
  | { outcome: 'duplicate'; why: string }
  | { outcome: 'ask_partner' };

export function decide(w: Decided, e: WithdrawalEvent, policy: DecidePolicy = noRedispatch): Decision {
  switch (e.kind) {
    case 'risk_decided':
      return onRiskDecided(w, e);
    case 'offramp_created':
    case 'offramp_status':
      return onPartnerOrder(w, e, policy);
    case 'offramp_refused':
      return onOfframpRefused(w, e);
    case 'ledger_refused':
      return onLedgerRefused(w, e);
    default:
      return onOperator(w, e);
  }
}

// --- building blocks --------------------------------------------------------------------------

/** The steps along `path` from the current status, each with the effects of the status it enters. */
export function move(
  w: Decided,
  path: WithdrawalStatus[],
  who: { actor: string; reason: string | null },
  patch: Patch = {},
  extra: Partial<Recorded> = {},
): Decision {
  const steps: Step[] = [];
  let from = w.status;
  for (const to of path) {
    steps.push({ from, to, ...who });
    from = to;
  }
  return {
    outcome: 'apply',
    steps,
    patch,
    effects: [...steps.flatMap((s) => effectsOf(s.to)), ...(extra.effects ?? [])],
    timeline: [...steps.map((s): TimelineInput => ({ kind: 'transition', ...s })), ...(extra.timeline ?? [])],
    exceptions: extra.exceptions ?? [],
  };
}

const note = (status: WithdrawalStatus, actor: string, reason: string): TimelineInput => ({
  kind: 'note',
  from: status,
  to: status,
  actor,
  reason,
});

export function refuse(
  w: Decided,
  code: TransitionRefusal['code'],
  to: WithdrawalStatus,
  who: { actor: string; reason: string | null },
  extra: Partial<Recorded> & { message?: string } = {},
): Decision {
  const message = extra.message ?? `A ${w.status} withdrawal cannot become ${to}`;
  return {
    outcome: 'refuse',
    refusal: { code, from: w.status, to, message },
    effects: extra.effects ?? [],
    timeline: [{ kind: 'refused', from: w.status, to, actor: who.actor, reason: who.reason, refusedCode: code }],
    exceptions: extra.exceptions ?? [],
  };
}

const noMoney = { exposure: 'none' as const, amountMinor: 0n };

function exception(
  w: Decided,
  kind: ExceptionKind,
  key: string,
  partnerReference: string | null,
  money: { exposure: ExceptionExposure; amountMinor: bigint },
  facts: Record<string, unknown>,
): ExceptionDraft {
  return {
    kind,
    key,
    withdrawalId: w.id,
    traderId: w.traderId,
    partnerReference,
    facts: {
      withdrawalStatus: w.status,
      debitedMinor: w.debitedMinor.toString(),
      fiatAmount: w.fiatAmount,
      fiatCurrency: w.fiatCurrency,
      ...facts,
    },
    ...money,
  };
}

// --- risk -------------------------------------------------------------------------------------

function onRiskDecided(w: Decided, e: Extract<WithdrawalEvent, { kind: 'risk_decided' }>): Decision {
  // A decision re-emitted after a re-published `debited` is a repeat, whatever happened since.
  if (w.hasRiskDecision) return { outcome: 'duplicate', why: 'risk decision already recorded' };
  const to = e.decision === 'approve' ? 'approved' : e.decision === 'review' ? 'in_review' : 'rejected';
  const who = { actor: 'risk', reason: e.reasons.length > 0 ? e.reasons.map((r) => r.code).join(',') : null };
  if (w.status !== 'pending') return refuse(w, 'ALFRED_INCORRECT_STATUS_CHANGE', to, who);
  return move(w, [to], who, { riskDecision: { decision: e.decision, reasons: e.reasons } });
}

// --- the partner's order ----------------------------------------------------------------------

export const intermediate: readonly OfframpStatus[] = [
  'CREATED',
  'ON_CHAIN_DEPOSIT_RECEIVED',
  'TRADE_COMPLETED',
  'FIAT_TRANSFER_INITIATED',
];

/** Statuses at which an intermediate status of the withdrawal's own order is only noted (`onPartnerOrder`). */
export const notedOnlyAt: readonly WithdrawalStatus[] = ['processing', 'completed', 'rejected'];

/**
 * Whether `decide` makes this event nothing but a note at the withdrawal's status ("Alfred status
 * X (source)"): an intermediate status of the order the withdrawal already names, at a status past
 * approved, from an order not set aside. `noteReportedStatus` (transition.ts) checks the same in
 * SQL, under the row lock, to record it with one statement; a test holds the two to `decide`.
 */
export function isNoteOnly(w: Decided, e: WithdrawalEvent): boolean {
  return (
    e.kind === 'offramp_status' &&
    intermediate.includes(e.status) &&
    notedOnlyAt.includes(w.status) &&
    w.pspTransactionId === e.transactionId &&
    !(w.failedPspTransactionIds ?? []).includes(e.transactionId)
  );
}

/** The note `decide` writes for an intermediate status (`isNoteOnly`). */
export const reportedReason = (status: OfframpStatus, source: 'webhook' | 'reconciliation') => `Alfred status ${status} (${source})`;

type OrderEvent = Extract<WithdrawalEvent, { kind: 'offramp_created' | 'offramp_status' }>;

/** What the event says of the order: it exists (created or an intermediate status), or it ended. */
function outcomeOf(e: OrderEvent): 'exists' | 'completed' | 'failed' {
  if (e.kind === 'offramp_created' || intermediate.includes(e.status)) return 'exists';
  return e.status === 'FIAT_TRANSFER_COMPLETED' ? 'completed' : 'failed';
}

function onPartnerOrder(w: Decided, e: OrderEvent, policy: DecidePolicy): Decision {
  const tx = e.transactionId;
  const outcome = outcomeOf(e);
  const partnerStatus = e.kind === 'offramp_created' ? 'CREATED' : e.status;
  const facts = { partnerStatus, ...(e.kind === 'offramp_status' ? { source: e.source, failureReason: e.failureReason } : {}) };
  const to: WithdrawalStatus = outcome === 'exists' ? 'processing' : outcome === 'completed' ? 'completed' : 'rejected';
  const reason =
    e.kind === 'offramp_created'
      ? `offramp ${tx} created`
      : outcome === 'failed'
        ? (e.failureReason ?? 'FAILED')
        : `Alfred status ${e.status} (${e.source})`;
  const alfred = { actor: 'alfred', reason };

  // An order that FAILED and was replaced by a re-dispatch: its late events are repeats.
  if (w.failedPspTransactionIds?.includes(tx)) return { outcome: 'duplicate', why: `order ${tx} failed and was re-dispatched` };
  // psp-alfred makes one order per withdrawal at a time: another reference, or an order for a withdrawal never approved, is a divergence.
  const foreign = w.pspTransactionId !== null && w.pspTransactionId !== tx;
  if (foreign || w.status === 'pending' || w.status === 'in_review') {
    const key = `reconciliation_mismatch:${w.id}:order:${tx}`;
    const why = foreign ? `a second partner order (known: ${w.pspTransactionId})` : `a partner order for a ${w.status} withdrawal`;
    return refuse(w, 'ALFRED_INCORRECT_STATUS_CHANGE', to, alfred, {
      exceptions: [
        exception(w, 'reconciliation_mismatch', key, tx, noMoney, { ...facts, knownReference: w.pspTransactionId, problem: why }),
      ],
    });
  }
  const patch: Patch = { pspTransactionId: tx };
  const failureClass = classifyFailure(e.kind === 'offramp_status' ? e.failureReason : null);
  const failed: Patch = { ...patch, failureReason: reason, failureClass };
  // A failure about the account itself: psp-alfred marks the account errored (the decision says so, the saga sends it).
  const failedExtra: Partial<Recorded> =
    failureAction(failureClass) === 'fiat_account_errored' ? { effects: ['mark_fiat_account_errored'] } : {};
  // An intermediate status is a note at the status the withdrawal has once the event applied.
  const reported =
    e.kind === 'offramp_status'
      ? note(w.status === 'approved' ? 'processing' : w.status, 'alfred', reportedReason(e.status, e.source))
      : null;

  switch (w.status) {
    case 'approved': {
      // A status that overtook offramp-created proves the order exists: approved -> processing first.
      if (outcome === 'exists') {
        const who = { actor: 'alfred', reason: e.kind === 'offramp_created' ? reason : `offramp ${tx} reported ${e.status}` };
        return move(w, ['processing'], who, patch, { timeline: reported ? [reported] : [] });
      }
      if (outcome === 'failed')
        return redispatch(w, tx, reason, failureClass, policy) ?? move(w, ['processing', to], alfred, failed, failedExtra);
      return move(w, ['processing', to], alfred, patch);
    }
    case 'processing': {
      if (outcome === 'completed') return move(w, ['completed'], alfred, patch);
      if (outcome === 'failed')
        return redispatch(w, tx, reason, failureClass, policy) ?? move(w, ['rejected'], alfred, failed, failedExtra);
      if (w.pspTransactionId === null) return move(w, [], alfred, patch, { timeline: [reported ?? note('processing', 'alfred', reason)] });
      return reported
        ? move(w, [], alfred, {}, { timeline: [reported] })
        : { outcome: 'duplicate', why: 'offramp-created overtaken by a later status' };
    }
    case 'completed': {
      if (outcome === 'completed') return { outcome: 'duplicate', why: 'already completed' };
      if (outcome === 'exists')
        return reported
          ? move(w, [], alfred, {}, { timeline: [reported] })
          : { outcome: 'duplicate', why: 'offramp-created overtaken by a later status' };
      // FAILED after completed: the USDT is gone and the fiat never arrived.
      const key = `partner_outcome_after_terminal:${w.id}:FAILED`;
      const money = { exposure: 'trader_received_nothing' as const, amountMinor: w.debitedMinor };
      return refuse(w, 'ALFRED_INCORRECT_STATUS_CHANGE', to, alfred, {
        exceptions: [exception(w, 'partner_outcome_after_terminal', key, tx, money, facts)],
      });
    }
    case 'rejected': {
      if (outcome === 'failed') return { outcome: 'duplicate', why: 'already rejected' };
      if (outcome === 'completed') {
        // FIAT_TRANSFER_COMPLETED after rejected: the trader has the fiat and the USDT back.
        const key = `partner_outcome_after_terminal:${w.id}:FIAT_TRANSFER_COMPLETED`;
        const money = { exposure: 'trader_received_twice' as const, amountMinor: w.debitedMinor };
        return refuse(w, 'ALFRED_INCORRECT_STATUS_CHANGE', to, alfred, {
          exceptions: [exception(w, 'partner_outcome_after_terminal', key, tx, money, facts)],
        });
      }
      // A late event of the order that failed this withdrawal is a reordering; any other order is live for nothing.
      if (w.pspTransactionId === tx)
        return reported
          ? move(w, [], alfred, {}, { timeline: [reported] })
          : { outcome: 'duplicate', why: 'offramp-created overtaken by FAILED' };
      const key = `partner_outcome_after_terminal:${w.id}:order:${tx}`;
      return refuse(w, 'ALFRED_INCORRECT_STATUS_CHANGE', to, alfred, {
        effects: ['reconcile'],
        exceptions: [
          exception(w, 'partner_outcome_after_terminal', key, tx, noMoney, {
            ...facts,
            problem: 'a partner order for a rejected withdrawal',
          }),
        ],
      });
    }
  }
  return refuse(w, 'ALFRED_INCORRECT_STATUS_CHANGE', to, alfred);
}

/**
 * `bank_unavailable` while re-dispatches are left: no refund; the FAILED order (final at Alfred) is
 * set aside and a new order asked for, the hold kept. Null when the failure ends the withdrawal.
 */
function redispatch(w: Decided, tx: string, reason: string, failureClass: PayoutFailureClass, policy: DecidePolicy): Decision | null {
  const done = w.payoutRedispatches ?? 0;
  if (failureAction(failureClass) !== 'redispatch' || done >= policy.redispatchMax) return null;
  const why = `Alfred FAILED order ${tx} (${reason}): re-dispatch ${done + 1} of ${policy.redispatchMax}, a new order`;
  const path: WithdrawalStatus[] = w.status === 'approved' ? ['processing'] : [];
  return move(
    w,
    path,
    { actor: 'alfred', reason: why },
    { redispatch: { failedTransactionId: tx, dispatch: done + 2 } },
    { effects: ['redispatch_offramp'], timeline: [note('processing', 'alfred', why)] },
  );
}

function onOfframpRefused(w: Decided, e: Extract<WithdrawalEvent, { kind: 'offramp_refused' }>): Decision {
  const reason = `offramp refused${e.partnerCode === null ? '' : ` (${e.partnerCode})`}: ${e.message}`.slice(0, 500);
  if (w.status === 'rejected') return { outcome: 'duplicate', why: 'already rejected' };
  // A re-dispatch Alfred refused: the earlier order FAILED and no other exists, so the hold is released.
  if (w.status === 'processing' && w.pspTransactionId === null && (w.payoutRedispatches ?? 0) > 0)
    return move(w, ['rejected'], { actor: 'alfred', reason }, { failureReason: reason });
  // No order was made, so nothing at the partner disagrees; from another status it is a stale answer.
  if (w.status !== 'approved') return refuse(w, 'ALFRED_INCORRECT_STATUS_CHANGE', 'rejected', { actor: 'alfred', reason });
  return move(w, ['rejected'], { actor: 'alfred', reason }, { failureReason: reason });
}

// --- the ledger -------------------------------------------------------------------------------

function onLedgerRefused(w: Decided, e: Extract<WithdrawalEvent, { kind: 'ledger_refused' }>): Decision {
  // Money is exposed when the hold ended the other way than the withdrawal says (or was about to say):
  // completed with the USDT refunded (paid twice), or rejected with the USDT taken (paid nothing).
  const intended = e.attempted?.to ?? w.status;
  const exposure: ExceptionExposure =
    intended === 'completed' && e.outcome === 'hold_already_voided'
      ? 'trader_received_twice'
      : intended === 'rejected' && e.outcome === 'hold_already_posted'
        ? 'trader_received_nothing'
        : 'none';
  const message = `The ledger refused to ${e.command} the hold: ${e.outcome}`;
  const draft = exception(
    w,
    'ledger_command_refused',
    `ledger_command_refused:${e.transferId}`,
    w.pspTransactionId,
    { exposure, amountMinor: exposure === 'none' ? 0n : w.debitedMinor },
    {
      command: `${e.command}-hold`,
      ledgerOutcome: e.outcome,
      transferId: e.transferId,
      holdId: w.id,
      ...(e.attempted ? { attemptedStatus: e.attempted.to } : {}),
    },
  );
  if (!e.attempted)
    return move(w, [], { actor: 'system', reason: message }, {}, { timeline: [note(w.status, 'system', message)], exceptions: [draft] });
  return refuse(
    { ...w, status: e.attempted.from },
    'ALFRED_INCORRECT_STATUS_CHANGE',
    e.attempted.to,
    { actor: e.attempted.actor, reason: message },
    { message, exceptions: [draft] },
  );
}

// --- operators --------------------------------------------------------------------------------

type OperatorEvent = Extract<WithdrawalEvent, { kind: `operator_${string}` }>;

function onOperator(w: Decided, e: OperatorEvent): Decision {
  const actor = `operator:${e.operatorId}`;
  switch (e.kind) {
    case 'operator_approve':
      if (w.status !== 'in_review') return refuse(w, 'ALFRED_INCORRECT_STATUS_CHANGE', 'approved', { actor, reason: e.reason });
      return move(w, ['approved'], { actor, reason: e.reason });
    case 'operator_process':
      if (w.status !== 'approved')
        return refuse(w, 'ALFRED_INCORRECT_STATUS_CHANGE', 'processing', { actor, reason: 're-dispatch of the PSP request' });
      return move(
        w,
        [],
        { actor, reason: null },
        {},
        { effects: ['create_offramp'], timeline: [note(w.status, actor, 'PSP request re-dispatched')] },
      );
    case 'operator_reject':
      return toRejected(w, actor, e.reason, e.partner);
    case 'operator_complete': {
      const reason =
        e.notes ??
        (e.partner?.state === 'completed'
          ? `Alfred reports FIAT_TRANSFER_COMPLETED: ${e.reference}`
          : `confirmed out of band: ${e.reference}`);
      if (w.status !== 'processing') return refuse(w, 'ALFRED_INCORRECT_STATUS_CHANGE', 'completed', { actor, reason });
      return toCompleted(w, { actor, reason }, e.reference, e.confirmedOutOfBand, e.partner);
    }
    case 'operator_override': {
      const who = { actor, reason: e.reason };
      if (!isLegal(w.status, e.to)) return refuse(w, 'ALFRED_INCORRECT_STATUS_CHANGE', e.to, who);
      if (e.to === 'rejected') return toRejected(w, actor, e.reason, e.partner);
      if (e.to === 'completed') return toCompleted(w, who, e.reference, e.confirmedOutOfBand, e.partner);
      return move(w, [e.to], who, e.reference ? { settlementReference: e.reference } : {});
    }
  }
}

/** Whether an order may exist at Alfred: the offramp was asked for, or a reference is known. */
export const mayHavePartnerOrder = (w: Decided): boolean =>
  w.status === 'approved' || w.status === 'processing' || w.pspTransactionId !== null;

const described = (p: PartnerOrder) => `${p.state}${p.status ? `, ${p.status}` : ''}`;

/** Rejecting refunds the USDT: only when Alfred has no order, or its order failed. */
function toRejected(w: Decided, actor: string, reason: string, partner: PartnerOrder | null): Decision {
  const who = { actor, reason };
  if (!isLegal(w.status, 'rejected')) return refuse(w, 'ALFRED_INCORRECT_STATUS_CHANGE', 'rejected', who);
  if (mayHavePartnerOrder(w)) {
    if (partner === null) return { outcome: 'ask_partner' };
    if (partner.state !== 'failed' && partner.state !== 'none') {
      const message = `The order at Alfred is ${described(partner)}: rejecting would refund USDT the partner may still pay out`;
      return refuse(w, 'PARTNER_ORDER_LIVE', 'rejected', { actor, reason: message }, { message });
    }
  }
  // The reference of a failed order is kept, so that its late events read as the reordering they are.
  const reference = w.pspTransactionId === null && partner?.transactionId ? { pspTransactionId: partner.transactionId } : {};
  return move(w, ['rejected'], who, { failureReason: reason, ...reference });
}

/** Completing takes the USDT for good: when Alfred reports the payout, or the operator vouches for it out of band. */
function toCompleted(
  w: Decided,
  who: { actor: string; reason: string },
  reference: string | null,
  confirmedOutOfBand: boolean,
  partner: PartnerOrder | null,
): Decision {
  if (mayHavePartnerOrder(w)) {
    if (partner === null) return { outcome: 'ask_partner' };
    if (partner.state === 'failed') {
      const message = `The order at Alfred FAILED${partner.failureReason ? ` (${partner.failureReason})` : ''}: it cannot be completed`;
      return refuse(w, 'ALFRED_INCORRECT_STATUS_CHANGE', 'completed', { actor: who.actor, reason: message }, { message });
    }
    if (partner.state !== 'completed' && !confirmedOutOfBand) {
      const message = `Alfred does not report the order completed (${described(partner)}): complete it only with confirmed_out_of_band: true`;
      return refuse(w, 'PARTNER_ORDER_LIVE', 'completed', { actor: who.actor, reason: message }, { message });
    }
  }
  return move(w, ['completed'], who, reference ? { settlementReference: reference } : {});
}
