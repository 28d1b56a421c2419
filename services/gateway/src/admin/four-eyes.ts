import type { FastifyReply, FastifyRequest } from 'fastify';
import { approvalsRpc, decimalToMinor, pspAlfredRpc, sessionsRpc, type ApprovalAction, type WithdrawalView } from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import type { GatewayConfig } from '../config.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { adminApprovalToWire } from './admin-approval-wire.ts';
import { operatorOf } from './require-admin.ts';

/**
 * Which operator requests need a second operator (the policy lives at the edge, with the routes;
 * the pending requests live in sessions, which runs each once when confirmed).
 */
export interface FourEyes {
  enabled: boolean;
  /** Approving a withdrawal holding more USDT (minor units) than this needs a second operator. */
  approveAboveMinor: bigint;
}

export const fourEyesOf = (config: Pick<GatewayConfig, 'FOUR_EYES' | 'FOUR_EYES_ABOVE_USDT'>): FourEyes => ({
  enabled: config.FOUR_EYES,
  approveAboveMinor: decimalToMinor(config.FOUR_EYES_ABOVE_USDT, 6)!,
});

/** The withdrawal as it is now, or null when unknown (the action itself then answers 404). */
async function withdrawalOf(services: Services, request: FastifyRequest, withdrawalId: string): Promise<WithdrawalView | null> {
  const found = await services.call(request, sessionsRpc.getWithdrawal, { withdrawalId });
  return found.ok ? found.data : null;
}

/** Whether approving needs a second operator: above the amount. */
export async function approveNeedsFourEyes(fourEyes: FourEyes, services: Services, request: FastifyRequest, withdrawalId: string) {
  if (!fourEyes.enabled) return false;
  const w = await withdrawalOf(services, request, withdrawalId);
  return w !== null && w.status === 'in_review' && BigInt(w.debitedMinor) > fourEyes.approveAboveMinor;
}

/**
 * Whether Alfred holds a live or paid order for the withdrawal: a reject (or an override to
 * `rejected`) is then refused now with 409 PARTNER_ORDER_LIVE by the action itself, so it is run at
 * once rather than parked for a second operator who could only see it refused. An order that cannot
 * be read, is failed or is absent does not block: the request is parked as usual.
 */
async function partnerOrderBlocksReject(services: Services, request: FastifyRequest, withdrawalId: string): Promise<boolean> {
  const order = await services.call(request, pspAlfredRpc.orderState, { withdrawalId, fence: false });
  return order.ok && (order.data.state === 'live' || order.data.state === 'completed');
}

/** Whether rejecting needs a second operator: past `in_review` (approved or processing), unless Alfred's order refuses it now. */
export async function rejectNeedsFourEyes(fourEyes: FourEyes, services: Services, request: FastifyRequest, withdrawalId: string) {
  if (!fourEyes.enabled) return false;
  const w = await withdrawalOf(services, request, withdrawalId);
  if (w === null || (w.status !== 'approved' && w.status !== 'processing')) return false;
  return !(await partnerOrderBlocksReject(services, request, withdrawalId));
}

/** Whether an override needs a second operator: always, unless it is to `rejected` and Alfred's order refuses that now. */
export async function overrideNeedsFourEyes(
  fourEyes: FourEyes,
  services: Services,
  request: FastifyRequest,
  withdrawalId: string,
  to: string,
) {
  if (!fourEyes.enabled) return false;
  return to !== 'rejected' || !(await partnerOrderBlocksReject(services, request, withdrawalId));
}

/** Stores the action as a pending approval by the calling operator and answers 202 with it. */
export async function requestApproval(services: Services, request: FastifyRequest, reply: FastifyReply, action: ApprovalAction) {
  const stored = unwrap(await services.call(request, approvalsRpc.request, { action, operatorId: operatorOf(request).id }));
  request.log.info({ approvalId: stored.approvalId, action: action.action, target: stored.target }, 'four-eyes request stored');
  return sendData(request, reply, { approval: adminApprovalToWire(stored) }, 202);
}
