import { pspAlfredCommands } from '@offramp/contracts';
import { on, type ConsumerSpec } from '@offramp/kit';
import { markErrored } from './fiat-accounts/fiat-accounts-store.ts';
import { createOfframp, type OfframpDeps } from './offramps/offramps.ts';
import { reconcileOfframp } from './reconciliation/reconcile-offramp.ts';
import type { Reconciler } from './reconciliation/reconciliation.ts';

/**
 * A command that cannot reach Alfred waits in `approved` and is redelivered with a growing delay,
 * for about six hours before it is dead-lettered for an operator.
 */
const offrampBackoffMs = [1_000, 5_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000];
const offrampMaxDeliver = 40;

/**
 * How many offramp commands are handled at once: as configured, but at most half the pool. A
 * command holds its inbox transaction (and the withdrawal's lock) through its calls to Alfred and
 * opens short transactions of its own beside it (the intent, the attempt, the transaction id): with
 * every connection held by a command waiting for a second one, none would ever get it.
 */
export const offrampConcurrency = (configured: number, poolMax: number) => Math.max(1, Math.min(configured, Math.floor(poolMax / 2)));

/**
 * psp-alfred's one consumer: the commands sessions sends it; the work is the offramps and
 * reconciliation features'. Several are handled at once (`concurrency`); two about one withdrawal
 * never interleave: both handlers first take the withdrawal's advisory lock
 * (`offramp:<withdrawalId>`, `lockWithdrawal`) in the inbox transaction, so the second waits for the
 * first to commit and then finds its outcome; an order's transaction id is locked
 * (`lockReference`) before its row, as the webhook path does.
 */
export function pspAlfredConsumers(
  deps: OfframpDeps & { reconciler: Reconciler; alfredTimeoutMs: number; concurrency: number },
): ConsumerSpec[] {
  return [
    {
      name: 'psp-alfred-commands',
      stream: 'COMMANDS',
      filterSubject: 'cmd.psp-alfred.>',
      handlers: [
        on(pspAlfredCommands.createOfframp, ({ em, envelope, log, cause }) => createOfframp(deps, em, envelope.payload, { log, cause })),
        on(pspAlfredCommands.reconcileOfframp, ({ em, envelope, log, cause }) =>
          reconcileOfframp(deps, em, envelope.payload.withdrawalId, { log, cause }),
        ),
        on(pspAlfredCommands.markFiatAccountErrored, async ({ em, envelope, log }) => {
          const marked = await markErrored(em, envelope.payload);
          const { fiatAccountId, failureClass, withdrawalId } = envelope.payload;
          log.info({ fiatAccountId, failureClass, withdrawalId, marked: marked > 0 }, 'fiat account marked errored');
        }),
      ],
      backoffMs: offrampBackoffMs,
      maxDeliver: offrampMaxDeliver,
      // One delivery may wait on several Alfred calls, each up to ALFRED_TIMEOUT_MS.
      ackWaitMs: Math.max(30_000, deps.alfredTimeoutMs * 8),
      concurrency: deps.concurrency,
      // One command per transaction: each waits on Alfred's answers, and in a batch they would wait for each other.
      batch: 1,
    },
  ];
}
