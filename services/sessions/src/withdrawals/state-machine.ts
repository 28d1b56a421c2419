import type { WithdrawalStatus } from '@offramp/contracts';

/**
 * The withdrawal's diagram, as pure data (DESIGN.md "The withdrawal"):
 *
 *   pending -(risk approve)-> approved -(offramp created)-> processing -(FIAT_TRANSFER_COMPLETED)-> completed
 *   pending -(risk review)-> in_review -(operator approve)-> approved
 *   in_review -(operator reject)-> rejected;  pending -(risk reject)-> rejected
 *   approved -(offramp refused)-> rejected;   processing -(FAILED)-> rejected
 *
 * Which event may take which edge, and what it causes, is decided in `decide.ts`.
 */

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

/**
 * What entering a status causes: the offramp is asked for, or the hold is posted or voided; and
 * what a decision may add: psp-alfred asked to reconcile the order, or to mark the fiat account
 * errored (a payout failed for a reason about the account), or a new order after a FAILED one (re-dispatch).
 */
export type Effect = 'create_offramp' | 'post_hold' | 'void_hold' | 'reconcile' | 'mark_fiat_account_errored' | 'redispatch_offramp';

export function effectsOf(to: WithdrawalStatus): Effect[] {
  if (to === 'approved') return ['create_offramp'];
  if (to === 'completed') return ['post_hold'];
  if (to === 'rejected') return ['void_hold'];
  return [];
}
