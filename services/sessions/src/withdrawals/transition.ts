import { z } from 'zod';
import { type Cause, type EntityManager, executeBound, type OutboxRow, outboxRow, outboxRowsParam, queryRowsBound } from '@offramp/kit';
import { ledgerRpc, pspAlfredCommands, withdrawalStatus, type WithdrawalStatus } from '@offramp/contracts';
import type { Call } from '../call.ts';
import { openException } from '../exceptions/exceptions.ts';
import {
  decide,
  intermediate,
  notedOnlyAt,
  reportedReason,
  type DecidePolicy,
  type Decision,
  type Patch,
  type TransitionRefusal,
  type Step,
  type WithdrawalEvent,
} from './decide.ts';
import {
  createOfframpPayload,
  derivedId,
  fiatAccountErroredPayload,
  outboxInsertAs,
  sendCreateOfframp,
  sendFiatAccountErrored,
  sendReconcile,
  sendStatusChanged,
} from './messages.ts';
import { appendTimeline, lockWithdrawal, timelineInsert, timelineParam, toWithdrawal, type Withdrawal } from './withdrawals-store.ts';

/** How long the withdrawal stayed in the status it leaves (float8; a string only if the driver ever gives one). */
const leftRow = z.object({ seconds: z.union([z.number(), z.string()]) });

export type TransitionObserver = (step: { from: WithdrawalStatus; to: WithdrawalStatus; secondsInState: number }) => void;

export interface TransitionDeps {
  /** Rpcs to the ledger: a hold is posted or voided before the status that says so commits. */
  call: Call;
  /** Told of each step taken (metrics); called inside the transaction, so a rolled-back step may be counted. */
  observe?: TransitionObserver;
  /** PAYOUT_REDISPATCH_MAX: how many new orders a bank_unavailable failure gets (none when absent). */
  redispatchMax?: number;
}

export type TransitionOutcome =
  | { outcome: 'ok'; from: WithdrawalStatus; status: WithdrawalStatus }
  | { outcome: 'duplicate'; status: WithdrawalStatus; why: string }
  | { outcome: 'refused'; refusal: TransitionRefusal }
  | { outcome: 'ask_partner' }
  | { outcome: 'not_found' };

/**
 * Applies an event to a withdrawal in the caller's transaction: locks the row once, decides, and
 * carries the decision out. The hold is posted or voided through the ledger's rpc first, so the
 * status never reads `completed` or `rejected` before the money does; a refusal by the ledger
 * takes no step and opens an exception instead. An unreachable ledger throws (the transaction
 * rolls back and the caller retries). Outcomes: ok, duplicate, refused, ask_partner, not_found.
 */
export async function applyEvent(
  em: EntityManager,
  deps: TransitionDeps,
  withdrawalId: string,
  event: WithdrawalEvent,
  cause: Cause,
): Promise<TransitionOutcome> {
  if (event.kind === 'offramp_status' && intermediate.includes(event.status)) {
    const noted = await noteReportedStatus(em, withdrawalId, event);
    if (noted) return { outcome: 'ok', from: noted, status: noted };
  }
  const row = await lockWithdrawal(em, withdrawalId);
  if (!row) return { outcome: 'not_found' };
  const w = toWithdrawal(row);
  return carryOut(em, deps, w, decide(w, event, policyOf(deps)), cause);
}

const noted = z.object({ status: withdrawalStatus });

/**
 * Three of the four statuses Alfred reports for each withdrawal move nothing: `decide` makes each a
 * note (`isNoteOnly`). This statement locks the row on exactly `isNoteOnly`'s conditions (checked
 * again on the row's newest version after waiting for its lock) and appends the note: one statement
 * instead of the lock's read and the note's insert. Null when the conditions do not hold; the event
 * is then decided as any other.
 */
async function noteReportedStatus(
  em: EntityManager,
  withdrawalId: string,
  e: Extract<WithdrawalEvent, { kind: 'offramp_status' }>,
): Promise<WithdrawalStatus | null> {
  const [row] = await queryRowsBound(
    em,
    noted,
    `with w as (
       select id, status from withdrawals
       where id = $1 and status = any($2::text[]) and psp_transaction_id = $3::text and not ($3::text = any(failed_psp_transaction_ids))
       for update)
     insert into withdrawal_timeline (withdrawal_id, kind, from_status, to_status, actor, reason, refused_code)
     select id, 'note', status, status, 'alfred', $4::text, null from w
     returning to_status as status`,
    [withdrawalId, notedOnlyAt, e.transactionId, reportedReason(e.status, e.source)],
  );
  return row?.status ?? null;
}

const policyOf = (deps: TransitionDeps): DecidePolicy => ({ redispatchMax: deps.redispatchMax ?? 0 });

async function carryOut(em: EntityManager, deps: TransitionDeps, w: Withdrawal, d: Decision, cause: Cause): Promise<TransitionOutcome> {
  if (d.outcome === 'ask_partner') return d;
  if (d.outcome === 'duplicate') return { outcome: 'duplicate', status: w.status, why: d.why };
  if (d.outcome === 'refuse') {
    await record(em, w, d, cause);
    return { outcome: 'refused', refusal: d.refusal };
  }
  const refused = await resolveHold(deps.call, w, d, cause.traceId);
  if (refused) return carryOut(em, deps, w, decide(w, refused, policyOf(deps)), cause);
  // The common decision, one step and no re-dispatch: written by one statement (see takeOnlyStep).
  if (d.steps.length === 1 && !d.patch.redispatch) {
    const step = d.steps[0]!;
    await takeOnlyStep(em, deps, w, step, d, cause);
    for (const draft of d.exceptions) await openException(em, draft, cause);
    return { outcome: 'ok', from: w.status, status: step.to };
  }
  // The patch's columns go with the first step's update (one statement for both); a re-dispatch, or
  // a patch without a step, is its own update.
  const patchWithStep = d.steps.length > 0 && !d.patch.redispatch;
  if (Object.keys(d.patch).length > 0 && !patchWithStep) await applyPatch(em, w.id, d.patch);
  for (const [i, step] of d.steps.entries()) await takeStep(em, deps, w, step, d.patch, cause, i === 0 && patchWithStep);
  await record(em, w, d, cause);
  return { outcome: 'ok', from: w.status, status: d.steps.at(-1)?.to ?? w.status };
}

/**
 * Posts or voids the hold (id = the withdrawal id) with the derived resolution id, so a retry is
 * `exists`; returns the ledger's refusal as an event, or null when the money is where the step says.
 */
async function resolveHold(
  call: Call,
  w: Withdrawal,
  d: Extract<Decision, { outcome: 'apply' }>,
  traceId: string,
): Promise<WithdrawalEvent | null> {
  const command = d.effects.includes('post_hold') ? 'post' : d.effects.includes('void_hold') ? 'void' : null;
  if (command === null) return null;
  const id = derivedId(w.id, `${command}-hold`);
  const res = await call(command === 'post' ? ledgerRpc.postHold : ledgerRpc.voidHold, { id, holdId: w.id }, traceId);
  if (res.outcome === 'ok' || res.outcome === 'exists') return null;
  const last = d.steps.at(-1)!;
  return {
    kind: 'ledger_refused',
    command,
    outcome: res.outcome,
    transferId: id,
    attempted: { from: w.status, to: last.to, actor: last.actor },
  };
}

/**
 * The patch's columns, set from parameters $2-$6 (`patchValues`' order; null keeps the column as it
 * is), on the row aliased `w`.
 */
const patchSets = `psp_transaction_id = coalesce($2::text, w.psp_transaction_id),
       failure_reason = coalesce($3::text, w.failure_reason),
       failure_class = coalesce($4::text, w.failure_class),
       risk_decision = coalesce($5::jsonb, w.risk_decision),
       settlement_reference = coalesce($6::text, w.settlement_reference)`;

async function takeStep(
  em: EntityManager,
  deps: TransitionDeps,
  w: Withdrawal,
  step: Step,
  patch: Patch,
  cause: Cause,
  withPatch: boolean,
): Promise<void> {
  // The old row's status_changed_at is read in the same statement to time the status being left;
  // `withPatch`: the decision's patch is written by this same statement.
  const p = withPatch ? patchValues(patch) : patchValues({});
  const [left] = await queryRowsBound(
    em,
    leftRow,
    `update withdrawals w set status = $1, status_changed_at = now(), updated_at = now(), stuck_since = null,
       ${patchSets}
     from (select status_changed_at from withdrawals where id = $7) old
     where w.id = $7 and w.status = $8
     returning greatest(0, extract(epoch from (now() - old.status_changed_at)))::float8 as seconds`,
    [step.to, ...p, w.id, step.from],
  );
  if (!left) throw new Error(`withdrawal ${w.id} is not ${step.from} under its own lock`);
  deps.observe?.({ from: step.from, to: step.to, secondsInState: Number(left.seconds) });
  const failureClass = step.to === 'rejected' ? (patch.failureClass ?? null) : null;
  await sendStatusChanged(em, w, { from: step.from, to: step.to, actor: step.actor, reason: step.reason, failureClass }, cause);
}

/**
 * `takeOnlyStep`'s statement: one fixed text (bound, so prepared once per connection; inlined, its
 * planning was 0.7 ms, three times per withdrawal), the outbox rows and timeline entries passed as
 * jsonb arrays ($11, $12), none inserting nothing.
 */
const onlyStep = `with moved as (
       update withdrawals w set status = $1, status_changed_at = now(), updated_at = now(), stuck_since = null,
         ${patchSets},
         offramp_requested_at = case when $9::boolean then now() else w.offramp_requested_at end,
         offramp_requests = w.offramp_requests + $10::int
       from (select status_changed_at from withdrawals where id = $7) old
       where w.id = $7 and w.status = $8
       returning greatest(0, extract(epoch from (now() - old.status_changed_at)))::float8 as seconds),
     ${outboxInsertAs('messages', 11)},
     ${timelineInsert('timeline', 12)}
     select seconds from moved`;

/**
 * A decision of one step, written by one statement: the status update (with the patch and, when
 * the offramp is asked for, its stamp), the timeline entries and the effects' messages. The status
 * change itself is enqueued through the kit first (which is how the consumer knows to wake the
 * relay after the commit), and the timeline last before the commit: its chain head's lock, which
 * every appending transaction waits for, is then held for the shortest time. Exceptions, rare, are
 * opened after it as before. Its outbox rows are in the order the step-by-step path writes them.
 */
async function takeOnlyStep(
  em: EntityManager,
  deps: TransitionDeps,
  w: Withdrawal,
  step: Step,
  d: Extract<Decision, { outcome: 'apply' }>,
  cause: Cause,
): Promise<void> {
  const failureClass = step.to === 'rejected' ? (d.patch.failureClass ?? null) : null;
  await sendStatusChanged(em, w, { from: step.from, to: step.to, actor: step.actor, reason: step.reason, failureClass }, cause);
  const messages: OutboxRow[] = [];
  for (const effect of d.effects) {
    if (effect === 'create_offramp') messages.push(outboxRow(pspAlfredCommands.createOfframp, createOfframpPayload(w), cause));
    else if (effect === 'reconcile') messages.push(outboxRow(pspAlfredCommands.reconcileOfframp, { withdrawalId: w.id }, cause));
    else if (effect === 'mark_fiat_account_errored')
      messages.push(outboxRow(pspAlfredCommands.markFiatAccountErrored, fiatAccountErroredPayload(w, d.patch), cause));
  }
  const offramp = d.effects.includes('create_offramp');
  const [left] = await queryRowsBound(em, leftRow, onlyStep, [
    step.to,
    ...patchValues(d.patch),
    w.id,
    step.from,
    offramp,
    offramp ? 1 : 0,
    outboxRowsParam(messages),
    timelineParam(w.id, d.timeline),
  ]);
  // No row: the withdrawal is not where the step starts; the throw rolls back what the statement wrote.
  if (!left) throw new Error(`withdrawal ${w.id} is not ${step.from} under its own lock`);
  deps.observe?.({ from: step.from, to: step.to, secondsInState: Number(left.seconds) });
}

/** The timeline entries, the messages through the outbox and the exceptions of a decision. */
async function record(
  em: EntityManager,
  w: Withdrawal,
  d: Extract<Decision, { outcome: 'apply' | 'refuse' }>,
  cause: Cause,
): Promise<void> {
  for (const entry of d.timeline) await appendTimeline(em, w.id, entry);
  for (const effect of d.effects) {
    if (effect === 'create_offramp') await sendCreateOfframp(em, w, cause);
    else if (effect === 'reconcile') await sendReconcile(em, w.id, cause);
    else if (effect === 'mark_fiat_account_errored' && d.outcome === 'apply') await sendFiatAccountErrored(em, w, d.patch, cause);
    else if (effect === 'redispatch_offramp' && d.outcome === 'apply' && d.patch.redispatch)
      await sendCreateOfframp(em, w, cause, d.patch.redispatch.dispatch);
  }
  for (const draft of d.exceptions) await openException(em, draft, cause);
}

async function applyPatch(em: EntityManager, id: string, p: Patch): Promise<void> {
  // A re-dispatch sets the FAILED order aside: the next order's reference takes its place when it comes.
  if (p.redispatch)
    await executeBound(
      em,
      `update withdrawals set payout_redispatches = payout_redispatches + 1, psp_transaction_id = null,
         failed_psp_transaction_ids = array_append(failed_psp_transaction_ids, $1::text), updated_at = now() where id = $2`,
      [p.redispatch.failedTransactionId, id],
    );
  await executeBound(em, `update withdrawals w set ${patchSets}, updated_at = now() where w.id = $1`, [id, ...patchValues(p)]);
}

/** The patch's columns in the order both updates set them (null: kept as it is). */
function patchValues(p: Patch): (string | null)[] {
  return [
    p.pspTransactionId ?? null,
    p.failureReason ?? null,
    p.failureClass ?? null,
    p.riskDecision ? JSON.stringify({ ...p.riskDecision, at: new Date().toISOString() }) : null,
    p.settlementReference ?? null,
  ];
}

/** A timeline entry that changes nothing (the sweeper's re-send). */
export async function addNote(
  em: EntityManager,
  withdrawalId: string,
  status: WithdrawalStatus,
  actor: string,
  reason: string,
): Promise<void> {
  await appendTimeline(em, withdrawalId, { kind: 'note', from: status, to: status, actor, reason });
}
