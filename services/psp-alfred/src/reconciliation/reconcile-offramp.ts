import { pspAlfredEvents } from '@offramp/contracts';
import { enqueue, type EntityManager, type MessageContext } from '@offramp/kit';
import { AlfredUnavailable } from '../alfred/client.ts';
import { publishFenced, settleIntent, TryLater, type OfframpDeps } from '../offramps/offramps.ts';
import { findOfframp, lockWithdrawal, nothingSent } from '../offramps/offramps-store.ts';
import type { Reconciler } from './reconciliation.ts';

/**
 * `cmd.psp-alfred.reconcile-offramp.v1` (sessions' sweeper, for a withdrawal that waits too long):
 * what Alfred says of the withdrawal's order now reaches the withdrawal again.
 * - created: the order is read and its current status published (source `reconciliation`), even
 *   when it was published before; sessions treats a repeat as a no-op.
 * - requested with an attempt of unknown outcome: looked up or replayed exactly as create-offramp
 *   does; requested with nothing sent: the create-offramp command owns it, nothing here.
 * - refused: the refusal is published again; fenced: a refusal saying so (no order will ever be
 *   made); no intent at all: nothing (logged).
 * Alfred not answering is not retried here: the sweeper asks again.
 */
export async function reconcileOfframp(
  deps: OfframpDeps & { reconciler: Reconciler },
  em: EntityManager,
  withdrawalId: string,
  ctx: Pick<MessageContext, 'log' | 'cause'>,
): Promise<void> {
  const { cause } = ctx;
  const log = ctx.log.child({ withdrawalId, feature: 'reconciliation' });
  await lockWithdrawal(em, withdrawalId);
  const offramp = await findOfframp(em, withdrawalId);
  if (!offramp) return log.info('reconcile-offramp: no offramp intent for this withdrawal; nothing to reconcile');
  try {
    switch (offramp.state) {
      case 'created': {
        const detail = await deps.reconciler.reconcileOrder(offramp, cause.traceId, em);
        log.info(
          { transactionId: detail.transactionId, status: detail.status, outcome: detail.outcome },
          'reconcile-offramp: order read at alfred',
        );
        return;
      }
      case 'requested':
        if (nothingSent(offramp))
          return log.info({ attempts: offramp.attempts }, 'reconcile-offramp: nothing sent yet; the create-offramp command owns it');
        await settleIntent(deps, em, offramp, cause, log);
        return;
      case 'refused': {
        const r = offramp.refusal ?? { partnerCode: null, message: 'refused', status: null };
        await enqueue(em, pspAlfredEvents.offrampRefused, { withdrawalId, partnerCode: r.partnerCode, message: r.message }, cause);
        return log.info('reconcile-offramp: the refusal is published again');
      }
      case 'fenced':
        return publishFenced(em, withdrawalId, cause, log);
    }
  } catch (err) {
    if (!(err instanceof AlfredUnavailable || err instanceof TryLater)) throw err;
    log.warn({ err: err.message }, 'reconcile-offramp: alfred gave no answer; the sweeper will ask again');
  }
}
