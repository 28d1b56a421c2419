import { pspAlfredCommands, pspAlfredEvents, type Envelope } from '@offramp/contracts';
import { enqueue, on, type EntityManager, type HandlerEntry } from '@offramp/kit';
import type { z } from 'zod';
import { AlfredUnavailable } from '../alfred/client.ts';
import { publishFenced, settleIntent, TryLater, type OfframpDeps } from '../offramps/create-offramp.ts';
import { findOfframp, lockWithdrawal, nothingSent } from '../offramps/store.ts';
import type { Reconciler } from './reconcile.ts';

type Command = z.output<typeof pspAlfredCommands.reconcileOfframp.payload>;

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
export function reconcileOfframpHandlers(deps: OfframpDeps & { reconciler: Reconciler }): HandlerEntry[] {
  return [on(pspAlfredCommands.reconcileOfframp, (em, env) => handleReconcile(deps, em, env))];
}

async function handleReconcile(deps: OfframpDeps & { reconciler: Reconciler }, em: EntityManager, env: Envelope<Command>): Promise<void> {
  const { withdrawalId } = env.payload;
  const log = deps.log.child({ withdrawalId, traceId: env.traceId, feature: 'reconciliation' });
  const cause = { correlationId: withdrawalId, causationId: env.id, traceId: env.traceId };
  await lockWithdrawal(em, withdrawalId);
  const offramp = await findOfframp(em, withdrawalId);
  if (!offramp) return log.info('reconcile-offramp: no offramp intent for this withdrawal; nothing to reconcile');
  try {
    switch (offramp.state) {
      case 'created': {
        const detail = await deps.reconciler.reconcileOrder(offramp, env.traceId, em);
        log.info({ transactionId: detail.transactionId, status: detail.status, outcome: detail.outcome }, 'reconcile-offramp: order read at alfred');
        return;
      }
      case 'requested':
        if (nothingSent(offramp)) return log.info({ attempts: offramp.attempts }, 'reconcile-offramp: nothing sent yet; the create-offramp command owns it');
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
