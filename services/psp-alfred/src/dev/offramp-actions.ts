import { ok, refuse, type OfframpStatus, type ServiceResult } from '@offramp/contracts';
import type { RpcContext } from '@offramp/kit';
import { onUserPath, unexpectedRefusal } from '../alfred/user-path.ts';
import { findOfframp } from '../offramps/offramps-store.ts';
import { terminalStatuses } from '../offramps/offramp-status.ts';
import type { Reconciler } from '../reconciliation/reconciliation.ts';
import type { DevDeps } from './kyc-actions.ts';
import { storedKey, waitFor } from './wait.ts';

const chain: readonly OfframpStatus[] = [
  'CREATED',
  'ON_CHAIN_DEPOSIT_RECEIVED',
  'TRADE_COMPLETED',
  'FIAT_TRANSFER_INITIATED',
  'FIAT_TRANSFER_COMPLETED',
];

/** The statuses still ahead of `current` to reach the scenario's end. */
function stepsFrom(current: OfframpStatus, scenario: 'success' | 'failure'): OfframpStatus[] {
  if (scenario === 'failure') return ['FAILED'];
  return chain.slice(chain.indexOf(current) + 1);
}

/** QA: walks a withdrawal's order at Alfred to the end, one webhook per step, through Alfred's sandbox driver. */
export function createOfframpActions(deps: DevDeps & { reconciler: Reconciler }) {
  /**
   * Refusals: WITHDRAWAL_NOT_FOUND (no order of this trader), ALFRED_INCORRECT_STATUS_CHANGE (no
   * order at Alfred yet, or already final), PSP_UNAVAILABLE.
   */
  async function emitOfframp(
    req: { traderId: string; withdrawalId: string; scenario: 'success' | 'failure'; failureReason?: string | undefined },
    ctx: RpcContext,
  ): Promise<ServiceResult<Record<string, unknown>>> {
    const offramp = await findOfframp(deps.db.em.fork(), req.withdrawalId);
    if (!offramp || offramp.traderId !== req.traderId) return refuse('WITHDRAWAL_NOT_FOUND', 'Withdrawal not found');
    if (offramp.state !== 'created' || !offramp.transactionId)
      return refuse('ALFRED_INCORRECT_STATUS_CHANGE', 'The withdrawal has no order at Alfred yet');
    const transactionId = offramp.transactionId;
    return onUserPath(ctx.log, async () => {
      const order = await deps.alfred.getOfframp(transactionId);
      if (!order.ok) return unexpectedRefusal(ctx.log, 'get-offramp', order.status, order.error);
      if (terminalStatuses.includes(order.data.status))
        return refuse('ALFRED_INCORRECT_STATUS_CHANGE', `The order is already ${order.data.status}`);
      const steps = stepsFrom(order.data.status, req.scenario);
      for (const status of steps) {
        const metadata = status === 'FAILED' ? { failureReason: req.failureReason ?? 'QA_SIMULATED_FAILURE' } : {};
        const driven = await deps.driver.driveWebhook({ referenceId: transactionId, eventType: 'OFFRAMP', status, metadata });
        if (!driven.ok && driven.error.errorCode === 111302)
          return refuse('ALFRED_INCORRECT_STATUS_CHANGE', `The order cannot move to ${status}`);
        if (!driven.ok) return unexpectedRefusal(ctx.log, 'drive-offramp', driven.status, driven.error);
      }
      const final = steps.at(-1)!;
      const arrived = await waitFor(
        deps.settleMs,
        async () => (await findOfframp(deps.db.em.fork(), req.withdrawalId))?.alfredStatus === final,
        deps.stored && { signal: deps.stored, key: storedKey(transactionId, final) },
      );
      if (!arrived) await deps.reconciler.syncWithdrawal(req.withdrawalId, ctx.traceId);
      return ok({
        withdrawalId: req.withdrawalId,
        transactionId,
        steps,
        status: final,
        settled: arrived ? 'by_itself' : 'read_from_alfred',
      });
    });
  }
  return { emitOfframp };
}
