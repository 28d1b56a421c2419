import type { z } from 'zod';
import { on, type EntityManager, type HandlerEntry, type Logger } from '@offramp/kit';
import { pspAlfredEvents, riskEvents, type Envelope, type MessageDef, type OfframpStatus } from '@offramp/contracts';
import { addNote, applyTrigger, type TransitionObserver } from '../withdrawals/transition.ts';
import { lockWithdrawal } from '../withdrawals/withdrawal-store.ts';
import type { Trigger } from '../withdrawals/state-machine.ts';

/**
 * The saga's reactions to risk and psp-alfred events. Each runs in the inbox transaction of its
 * message, so its effect happens once however often the message is delivered; the withdrawal's
 * row lock orders it against every other change of that withdrawal.
 */

const causeOf = (env: Envelope<unknown>) => ({ correlationId: env.correlationId, causationId: env.id, traceId: env.traceId });

/**
 * No-op handlers for the source's other events (kyc status, and whatever its contract gains later),
 * so the shared consumer of `evt.<source>.>` acks them instead of dead-lettering them.
 */
function ignoreOthers(events: Record<string, MessageDef>, handled: HandlerEntry[]): HandlerEntry[] {
  const taken = new Set(handled.map((h) => h.def.subject));
  return [...handled, ...Object.values(events).filter((def) => !taken.has(def.subject)).map((def) => on(def, async () => {}))];
}

export function riskHandlers(log: Logger, observe?: TransitionObserver): HandlerEntry[] {
  return ignoreOthers(riskEvents, [
    on(riskEvents.decided, async (em, env) => {
      const { withdrawalId, decision, reasons } = env.payload;
      const row = await lockWithdrawal(em, withdrawalId);
      if (!row) return log.warn({ withdrawalId }, 'risk decision for an unknown withdrawal; ignored');
      // A decision re-emitted for a withdrawal that already has one (after a re-published `debited`) is a repeat.
      if (row.risk_decision !== null) return log.info({ withdrawalId, decision }, 'risk decision already recorded; repeat ignored');
      const reason = reasons.length > 0 ? reasons.map((r) => r.code).join(',') : null;
      await applyTrigger(em, withdrawalId, { kind: 'risk_decided', decision }, { actor: 'risk', reason, cause: causeOf(env), patch: { riskDecision: { decision, reasons } }, observe });
    }),
  ]);
}

const intermediate: readonly OfframpStatus[] = ['CREATED', 'ON_CHAIN_DEPOSIT_RECEIVED', 'TRADE_COMPLETED', 'FIAT_TRANSFER_INITIATED'];

export function pspAlfredHandlers(log: Logger, observe?: TransitionObserver): HandlerEntry[] {
  return ignoreOthers(pspAlfredEvents, [
    on(pspAlfredEvents.offrampCreated, async (em, env) => {
      const { withdrawalId, transactionId } = env.payload;
      const row = await lockWithdrawal(em, withdrawalId);
      if (!row) return log.warn({ withdrawalId }, 'offramp-created for an unknown withdrawal; ignored');
      // Overtaken by a later status of the same offramp (webhooks are faster than this event): nothing left to do.
      if (row.psp_transaction_id === transactionId && row.status !== 'approved') return;
      await applyTrigger(em, withdrawalId, { kind: 'offramp_created' }, { actor: 'alfred', reason: `offramp ${transactionId} created`, cause: causeOf(env), patch: { pspTransactionId: transactionId }, observe });
    }),
    on(pspAlfredEvents.offrampRefused, async (em, env) => {
      const { withdrawalId, partnerCode, message } = env.payload;
      const reason = `offramp refused${partnerCode === null ? '' : ` (${partnerCode})`}: ${message}`.slice(0, 500);
      await applyTrigger(em, withdrawalId, { kind: 'offramp_refused' }, { actor: 'alfred', reason, cause: causeOf(env), patch: { failureReason: reason }, observe });
    }),
    on(pspAlfredEvents.offrampStatusChanged, async (em, env) => onOfframpStatus(em, env, log, observe)),
  ]);
}

type StatusEnvelope = Envelope<z.output<typeof pspAlfredEvents.offrampStatusChanged.payload>>;

/**
 * FIAT_TRANSFER_COMPLETED -> completed; FAILED -> rejected with Alfred's reason; an intermediate
 * status is a timeline note (and, while still `approved`, proof that the offramp exists).
 */
async function onOfframpStatus(em: EntityManager, env: StatusEnvelope, log: Logger, observe?: TransitionObserver): Promise<void> {
  const { withdrawalId, transactionId, status, failureReason, source } = env.payload;
  const row = await lockWithdrawal(em, withdrawalId);
  if (!row) return log.warn({ withdrawalId, status }, 'offramp status for an unknown withdrawal; ignored');
  const cause = causeOf(env);
  const patch = { pspTransactionId: transactionId };
  if (intermediate.includes(status)) {
    let current = row.status;
    if (current === 'approved') {
      await applyTrigger(em, withdrawalId, { kind: 'offramp_created' }, { actor: 'alfred', reason: `offramp ${transactionId} reported ${status}`, cause, patch, observe });
      current = 'processing';
    }
    return addNote(em, withdrawalId, current, 'alfred', `Alfred status ${status} (${source})`);
  }
  const trigger: Trigger = status === 'FIAT_TRANSFER_COMPLETED' ? { kind: 'offramp_completed' } : { kind: 'offramp_failed' };
  const reason = status === 'FAILED' ? (failureReason ?? 'FAILED') : `Alfred status ${status} (${source})`;
  const result = await applyTrigger(em, withdrawalId, trigger, {
    actor: 'alfred',
    reason,
    cause,
    patch: status === 'FAILED' ? { ...patch, failureReason: reason } : patch,
    observe,
  });
  if (result.outcome === 'refused') log.warn({ withdrawalId, status, from: result.from }, 'offramp status refused: ALFRED_INCORRECT_STATUS_CHANGE, no money moved');
}
