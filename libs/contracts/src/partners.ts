import { z } from 'zod';
import { type PayoutFailureClass } from './payout-failures.ts';
import { type withdrawalStatus } from './withdrawals.ts';

/**
 * The server-to-server partner API (`/partner/v1`). A partner's withdrawal request runs the widget's
 * pipeline; the partner sees the withdrawal's state in its own five words.
 */
export const partnerWithdrawalStates = ['NEW', 'PROCESSING', 'COMPLETED', 'FAILED', 'REJECTED'] as const;
export const partnerWithdrawalState = z.enum(partnerWithdrawalStates);
export type PartnerWithdrawalState = z.infer<typeof partnerWithdrawalState>;

/**
 * Our status -> the partner's state: `pending` (held, risk deciding) is NEW; `in_review`, `approved`
 * and `processing` are PROCESSING; `completed` is COMPLETED; `rejected` is FAILED when the payout
 * failed at Alfred (a failure class is set) and REJECTED when risk or an operator refused it.
 */
export function partnerStateOf(status: z.infer<typeof withdrawalStatus>, failureClass?: PayoutFailureClass | null): PartnerWithdrawalState {
  switch (status) {
    case 'pending':
      return 'NEW';
    case 'in_review':
    case 'approved':
    case 'processing':
      return 'PROCESSING';
    case 'completed':
      return 'COMPLETED';
    case 'rejected':
      return failureClass ? 'FAILED' : 'REJECTED';
  }
}
