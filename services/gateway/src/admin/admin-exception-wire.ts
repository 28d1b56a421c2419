import { resolutionsByExposure, type ExceptionView } from '@offramp/contracts';
import { usdt } from '../edge/wire.ts';

/** An exception as operators see it (snake_case, USDT amounts as decimal strings), with the resolutions still open to them. */
export function adminExceptionToWire(e: ExceptionView) {
  return {
    exception_id: e.exceptionId,
    kind: e.kind,
    status: e.status,
    withdrawal_id: e.withdrawalId,
    user_id: e.traderId,
    partner_reference: e.partnerReference,
    facts: e.facts,
    exposure: e.exposure,
    amount: usdt(e.amountMinor),
    outstanding_amount: usdt(e.outstandingMinor),
    currency: 'USDT' as const,
    opened_at: e.openedAt,
    resolved_at: e.resolvedAt,
    resolution: e.resolution,
    resolutions: e.status === 'open' ? [...resolutionsByExposure[e.exposure]] : [],
    actions: e.actions.map((a) => ({
      resolution: a.resolution,
      note: a.note,
      operator_id: a.operatorId,
      moved_amount: usdt(a.movedMinor),
      transfer_id: a.transferId,
      at: a.at,
    })),
  };
}
