import { ok, pspAlfredRpc, type ServiceResult } from '@offramp/contracts';
import { inTransaction, type Database, type RpcContext } from '@offramp/kit';
import type { z } from 'zod';
import type { AlfredClient } from '../alfred/client.ts';
import { onUserPath } from '../alfred/user-path.ts';
import { reportAmountMismatch, reportStatusMismatch } from '../discrepancies/discrepancies.ts';
import { lockReference } from '../webhooks/ingest.ts';
import { fenceOff, findOfframp, nothingSent, tryLockWithdrawal, type Offramp } from './offramps-store.ts';

type Request = z.output<typeof pspAlfredRpc.orderState.request>;
type OrderState = Extract<z.output<typeof pspAlfredRpc.orderState.response>, { ok: true }>['data'];

interface Deps {
  db: Database;
  alfred: AlfredClient;
  tolerancePct: number;
}

const none: OrderState = { state: 'none', transactionId: null, status: null, failureReason: null };
const unknown = (transactionId: string | null): OrderState => ({ state: 'unknown', transactionId, status: null, failureReason: null });

/**
 * `rpc.psp-alfred.order-state.v1` (sessions, before an operator rejects or completes): the
 * withdrawal's order as Alfred reports it now. What was sent is decided under the withdrawal's
 * lock without waiting for it: a create-offramp holding it may be talking to Alfred this very
 * moment, so the answer is then `unknown`. With `fence`, an intent that sent nothing (or no intent
 * yet) is fenced off, so no order will ever be made: `none` is then a promise, not a snapshot.
 */
export function createOrderState(deps: Deps) {
  return async function orderState(req: Request, ctx: RpcContext): Promise<ServiceResult<OrderState>> {
    const sent = await inTransaction(
      deps.db,
      async (em): Promise<{ kind: 'none' | 'busy' | 'unknown' } | { kind: 'order'; offramp: Offramp }> => {
        if (!(await tryLockWithdrawal(em, req.withdrawalId))) return { kind: 'busy' };
        const offramp = await findOfframp(em, req.withdrawalId);
        if (offramp?.state === 'refused' || offramp?.state === 'fenced') return { kind: 'none' };
        if (!offramp || nothingSent(offramp)) {
          if (req.fence) await fenceOff(em, req.withdrawalId);
          return { kind: 'none' };
        }
        if (!offramp.transactionId) return { kind: 'unknown' };
        return { kind: 'order', offramp };
      },
    );
    if (sent.kind === 'none') return ok(none);
    if (sent.kind !== 'order') {
      ctx.log.info({ withdrawalId: req.withdrawalId, kind: sent.kind }, 'order state: an attempt of unknown outcome');
      return ok(unknown(null));
    }
    const { offramp } = sent;
    const transactionId = offramp.transactionId!;
    return onUserPath(ctx.log, async () => {
      const answer = await deps.alfred.getOfframp(transactionId);
      const cause = { correlationId: offramp.withdrawalId, causationId: null, traceId: ctx.traceId };
      if (!answer.ok) {
        if (answer.status === 404 && offramp.state === 'created')
          await inTransaction(deps.db, (em) => reportStatusMismatch(em, offramp, transactionId, 'NOT_FOUND', cause));
        ctx.log.warn(
          { transactionId, status: answer.status, partnerCode: answer.error.errorCode },
          'order state: alfred does not show the order',
        );
        return ok(unknown(transactionId));
      }
      const order = answer.data;
      const failureReason =
        order.status === 'FAILED' ? (typeof order.metadata?.failureReason === 'string' ? order.metadata.failureReason : 'UNKNOWN') : null;
      // What this reading shows that disagrees with us is reported like any other reading's.
      await inTransaction(deps.db, async (em) => {
        await lockReference(em, transactionId);
        const current = (await findOfframp(em, offramp.withdrawalId)) ?? offramp;
        await reportStatusMismatch(em, current, transactionId, order.status, cause, failureReason);
        await reportAmountMismatch(em, current, transactionId, order, { tolerancePct: deps.tolerancePct, seenIn: 'order_state', cause });
      });
      const state = order.status === 'FIAT_TRANSFER_COMPLETED' ? 'completed' : order.status === 'FAILED' ? 'failed' : 'live';
      return ok({ state, transactionId, status: order.status, failureReason });
    });
  };
}
