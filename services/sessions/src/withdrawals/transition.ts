import type { Cause, EntityManager } from '@offramp/kit';
import type { WithdrawalStatus } from '@offramp/contracts';
import { plan, type Step, type Trigger } from './state-machine.ts';
import { appendTimeline, lockWithdrawal, toWithdrawal, type Withdrawal } from './withdrawal-store.ts';
import { sendCreateOfframp, sendPostHold, sendStatusChanged, sendVoidHold } from './messages.ts';

/** Who asks, why, and what the transition records besides the status. */
export interface TransitionContext {
  actor: string;
  reason: string | null;
  cause: Cause;
  patch?: Patch;
  /** Told of each accepted step (metrics); called inside the transaction, so a rolled-back step may be counted. */
  observe?: TransitionObserver;
}

export type TransitionObserver = (step: { from: WithdrawalStatus; to: WithdrawalStatus; secondsInState: number }) => void;

/** Facts that come with a transition; written only when it is accepted. */
export interface Patch {
  pspTransactionId?: string;
  failureReason?: string;
  riskDecision?: { decision: string; reasons: { code: string; detail: string }[] };
  settlementReference?: string;
}

export type TransitionOutcome =
  | { outcome: 'ok'; from: WithdrawalStatus; status: WithdrawalStatus }
  | { outcome: 'refused'; from: WithdrawalStatus; to: WithdrawalStatus }
  | { outcome: 'not_found' };

/**
 * Applies a trigger to a withdrawal under its row lock: each step is a status change, an audit
 * row, a `statusChanged` event and the money or PSP command of the status entered, all in the
 * caller's transaction. A refused trigger moves nothing and is written to the timeline as a
 * refused entry. Outcomes: ok, refused, not_found.
 */
export async function applyTrigger(em: EntityManager, withdrawalId: string, trigger: Trigger, ctx: TransitionContext): Promise<TransitionOutcome> {
  const row = await lockWithdrawal(em, withdrawalId);
  if (!row) return { outcome: 'not_found' };
  const decided = plan(row.status, trigger);
  if (!decided.ok) {
    await appendTimeline(em, withdrawalId, { kind: 'refused', from: decided.from, to: decided.to, actor: ctx.actor, reason: ctx.reason, refusedCode: decided.code });
    return { outcome: 'refused', from: decided.from, to: decided.to };
  }
  if (ctx.patch) await applyPatch(em, withdrawalId, ctx.patch);
  const w = toWithdrawal(row);
  for (const step of decided.steps) await takeStep(em, w, step, ctx);
  return { outcome: 'ok', from: row.status, status: decided.steps.at(-1)!.to };
}

async function takeStep(em: EntityManager, w: Withdrawal, step: Step, ctx: TransitionContext): Promise<void> {
  // The old row's status_changed_at is read in the same statement to time the status being left.
  const [left] = await em.execute<{ seconds: number | string }[]>(
    `update withdrawals w set status = ?, status_changed_at = now(), updated_at = now(), stuck_since = null
     from (select status_changed_at from withdrawals where id = ?) old
     where w.id = ? and w.status = ?
     returning greatest(0, extract(epoch from (now() - old.status_changed_at)))::float8 as seconds`,
    [step.to, w.id, w.id, step.from],
  );
  if (left) ctx.observe?.({ from: step.from, to: step.to, secondsInState: Number(left.seconds) });
  await appendTimeline(em, w.id, { kind: 'transition', from: step.from, to: step.to, actor: ctx.actor, reason: ctx.reason });
  await sendStatusChanged(em, w, { from: step.from, to: step.to, actor: ctx.actor, reason: ctx.reason }, ctx.cause);
  for (const effect of step.effects) {
    if (effect === 'create_offramp') await sendCreateOfframp(em, w, ctx.cause);
    else if (effect === 'post_hold') await sendPostHold(em, w.id, ctx.cause);
    else await sendVoidHold(em, w.id, ctx.cause);
  }
}

async function applyPatch(em: EntityManager, id: string, p: Patch): Promise<void> {
  await em.execute(
    `update withdrawals set
       psp_transaction_id = coalesce(?, psp_transaction_id),
       failure_reason = coalesce(?, failure_reason),
       risk_decision = coalesce(?::jsonb, risk_decision),
       settlement_reference = coalesce(?, settlement_reference),
       updated_at = now()
     where id = ?`,
    [
      p.pspTransactionId ?? null,
      p.failureReason ?? null,
      p.riskDecision ? JSON.stringify({ ...p.riskDecision, at: new Date().toISOString() }) : null,
      p.settlementReference ?? null,
      id,
    ],
    'run',
  );
}

/** A timeline entry that changes nothing (an intermediate Alfred status, a re-dispatch). */
export async function addNote(em: EntityManager, withdrawalId: string, status: WithdrawalStatus, actor: string, reason: string): Promise<void> {
  await appendTimeline(em, withdrawalId, { kind: 'note', from: status, to: status, actor, reason });
}
