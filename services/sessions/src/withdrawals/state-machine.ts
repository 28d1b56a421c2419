import type { WithdrawalStatus } from '@offramp/contracts';

/**
 * The withdrawal state machine, as pure data and functions (DESIGN.md "The withdrawal"):
 *
 *   pending -(risk approve)-> approved -(offramp created)-> processing -(FIAT_TRANSFER_COMPLETED)-> completed
 *   pending -(risk review)-> in_review -(operator approve)-> approved
 *   in_review -(operator reject)-> rejected;  pending -(risk reject)-> rejected
 *   approved -(offramp refused)-> rejected;   processing -(FAILED)-> rejected
 *
 * Anything else is refused with ALFRED_INCORRECT_STATUS_CHANGE and moves no money.
 */

/** What asks a withdrawal to move. */
export type Trigger =
  | { kind: 'risk_decided'; decision: 'approve' | 'review' | 'reject' }
  | { kind: 'operator_approve' }
  | { kind: 'operator_reject' }
  | { kind: 'operator_complete' }
  | { kind: 'operator_override'; to: WithdrawalStatus }
  | { kind: 'offramp_created' }
  | { kind: 'offramp_refused' }
  | { kind: 'offramp_completed' }
  | { kind: 'offramp_failed' };

/** What entering a status causes, sent through the outbox in the transaction of the transition. */
export type Effect = 'create_offramp' | 'post_hold' | 'void_hold';

export interface Step {
  from: WithdrawalStatus;
  to: WithdrawalStatus;
  effects: Effect[];
}

export type Plan = { ok: true; steps: Step[] } | { ok: false; code: 'ALFRED_INCORRECT_STATUS_CHANGE'; from: WithdrawalStatus; to: WithdrawalStatus };

/** Every legal edge of the diagram. */
const edges: Record<WithdrawalStatus, readonly WithdrawalStatus[]> = {
  pending: ['approved', 'in_review', 'rejected'],
  in_review: ['approved', 'rejected'],
  approved: ['processing', 'rejected'],
  processing: ['completed', 'rejected'],
  completed: [],
  rejected: [],
};

export const terminalStatuses: readonly WithdrawalStatus[] = ['completed', 'rejected'];

export function isLegal(from: WithdrawalStatus, to: WithdrawalStatus): boolean {
  return edges[from].includes(to);
}

export function effectsOf(to: WithdrawalStatus): Effect[] {
  if (to === 'approved') return ['create_offramp'];
  if (to === 'completed') return ['post_hold'];
  if (to === 'rejected') return ['void_hold'];
  return [];
}

/** The status a trigger asks for. */
export function targetOf(trigger: Trigger): WithdrawalStatus {
  switch (trigger.kind) {
    case 'risk_decided':
      return trigger.decision === 'approve' ? 'approved' : trigger.decision === 'review' ? 'in_review' : 'rejected';
    case 'operator_approve':
      return 'approved';
    case 'operator_reject':
    case 'offramp_refused':
    case 'offramp_failed':
      return 'rejected';
    case 'operator_complete':
    case 'offramp_completed':
      return 'completed';
    case 'offramp_created':
      return 'processing';
    case 'operator_override':
      return trigger.to;
  }
}

/** The statuses each trigger may start from; an override may take any legal edge. */
const sources: Record<Exclude<Trigger['kind'], 'operator_override'>, readonly WithdrawalStatus[]> = {
  risk_decided: ['pending'],
  operator_approve: ['in_review'],
  operator_reject: ['in_review'],
  operator_complete: ['processing'],
  offramp_created: ['approved'],
  offramp_refused: ['approved'],
  // From `approved` the offramp's existence is implied (its webhook overtook offramp-created).
  offramp_completed: ['processing', 'approved'],
  offramp_failed: ['processing', 'approved'],
};

const step = (from: WithdrawalStatus, to: WithdrawalStatus): Step => ({ from, to, effects: effectsOf(to) });

/**
 * The steps a trigger takes from a status: one step, or two when a terminal Alfred status arrives
 * before `offramp-created` was processed (approved -> processing -> completed | rejected), or a
 * refusal naming the status it asked for.
 */
export function plan(from: WithdrawalStatus, trigger: Trigger): Plan {
  const to = targetOf(trigger);
  const allowed = trigger.kind === 'operator_override' ? isLegal(from, to) : sources[trigger.kind].includes(from);
  if (!allowed) return { ok: false, code: 'ALFRED_INCORRECT_STATUS_CHANGE', from, to };
  if (from === 'approved' && (trigger.kind === 'offramp_completed' || trigger.kind === 'offramp_failed')) {
    return { ok: true, steps: [step('approved', 'processing'), step('processing', to)] };
  }
  return { ok: true, steps: [step(from, to)] };
}
