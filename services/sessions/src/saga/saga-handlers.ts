import { on, type Cause, type EntityManager, type HandlerEntry, type Logger } from '@offramp/kit';
import { ledgerCommands, ledgerEvents, pspAlfredEvents, riskEvents, type Envelope, type MessageDef } from '@offramp/contracts';
import { openException } from '../exceptions/exceptions.ts';
import type { WithdrawalEvent } from '../withdrawals/decide.ts';
import { applyEvent, type TransitionDeps } from '../withdrawals/transition.ts';
import { findWithdrawalRow } from '../withdrawals/withdrawal-store.ts';

/**
 * The saga's reactions to risk, psp-alfred and ledger events. Each runs in the inbox transaction of
 * its message, so its effect happens once however often the message is delivered; what an event
 * does is `decide`'s to say, under the withdrawal's row lock.
 */

export interface SagaDeps extends TransitionDeps {
  log: Logger;
}

const causeOf = (env: Envelope<unknown>): Cause => ({ correlationId: env.correlationId, causationId: env.id, traceId: env.traceId });

/**
 * No-op handlers for the source's other events (kyc status, ledger postings, and whatever a
 * contract gains later), so the shared consumer of `evt.<source>.>` acks them instead of
 * dead-lettering them.
 */
function ignoreOthers(events: Record<string, MessageDef>, handled: HandlerEntry[]): HandlerEntry[] {
  const taken = new Set(handled.map((h) => h.def.subject));
  return [...handled, ...Object.values(events).filter((def) => !taken.has(def.subject)).map((def) => on(def, async () => {}))];
}

/** Applies the event; a withdrawal this service does not know is logged and dropped, as there is nothing to change. */
async function apply(deps: SagaDeps, em: EntityManager, env: Envelope<unknown>, withdrawalId: string, event: WithdrawalEvent): Promise<void> {
  const result = await applyEvent(em, deps, withdrawalId, event, causeOf(env));
  if (result.outcome === 'not_found') deps.log.warn({ withdrawalId, event: event.kind }, 'event for an unknown withdrawal; ignored');
  else if (result.outcome === 'refused') deps.log.warn({ withdrawalId, event: event.kind, refusal: result.refusal }, 'event refused; recorded on the timeline');
}

export function riskHandlers(deps: SagaDeps): HandlerEntry[] {
  return ignoreOthers(riskEvents, [
    on(riskEvents.decided, async (em, env) => {
      const { withdrawalId, decision, reasons } = env.payload;
      await apply(deps, em, env, withdrawalId, { kind: 'risk_decided', decision, reasons });
    }),
  ]);
}

export function pspAlfredHandlers(deps: SagaDeps): HandlerEntry[] {
  return ignoreOthers(pspAlfredEvents, [
    on(pspAlfredEvents.offrampCreated, async (em, env) => {
      const { withdrawalId, transactionId } = env.payload;
      await apply(deps, em, env, withdrawalId, { kind: 'offramp_created', transactionId });
    }),
    on(pspAlfredEvents.offrampRefused, async (em, env) => {
      const { withdrawalId, partnerCode, message } = env.payload;
      await apply(deps, em, env, withdrawalId, { kind: 'offramp_refused', partnerCode, message });
    }),
    on(pspAlfredEvents.offrampStatusChanged, async (em, env) => {
      const { withdrawalId, transactionId, status, failureReason, source } = env.payload;
      await apply(deps, em, env, withdrawalId, { kind: 'offramp_status', transactionId, status, failureReason, source });
    }),
    // psp-alfred saw the partner disagree with what we asked for: the exception it names, once per key.
    on(pspAlfredEvents.discrepancyFound, async (em, env) => {
      const { key, kind, withdrawalId, transactionId, facts } = env.payload;
      const row = withdrawalId ? await findWithdrawalRow(em, withdrawalId) : null;
      await openException(
        em,
        { kind, key, withdrawalId: row?.id ?? null, traderId: row?.trader_id ?? null, partnerReference: transactionId, facts: { ...facts, ...(withdrawalId && !row ? { unknownWithdrawalId: withdrawalId } : {}) }, exposure: 'none', amountMinor: 0n },
        causeOf(env),
      );
    }),
  ]);
}

/**
 * The ledger's refusals of the commands this service sent (the void of an initiation given up):
 * an exception for the withdrawal the command concerned. Every other ledger event is acked and ignored.
 */
export function ledgerHandlers(deps: SagaDeps): HandlerEntry[] {
  return ignoreOthers(ledgerEvents, [
    on(ledgerEvents.commandRefused, async (em, env) => {
      const { commandType, transferId, outcome } = env.payload;
      const command = commandType === ledgerCommands.postHold.type ? 'post' : commandType === ledgerCommands.voidHold.type ? 'void' : null;
      // The correlation id of a command about a withdrawal is the withdrawal (and hold) id.
      const withdrawalId = env.correlationId;
      const row = command ? await findWithdrawalRow(em, withdrawalId) : null;
      if (command && row) return apply(deps, em, env, withdrawalId, { kind: 'ledger_refused', command, outcome, transferId, attempted: null });
      // The void of an initiation given up before its hold was placed has nothing to undo.
      if (command === 'void' && outcome === 'hold_not_found') return deps.log.info({ withdrawalId, transferId }, 'void of a hold never placed; nothing to undo');
      await openException(
        em,
        {
          kind: 'ledger_command_refused',
          key: `ledger_command_refused:${transferId}`,
          withdrawalId: null,
          traderId: null,
          partnerReference: null,
          facts: { commandType, ledgerOutcome: outcome, transferId, correlationId: env.correlationId },
          exposure: 'none',
          amountMinor: 0n,
        },
        causeOf(env),
      );
    }),
  ]);
}
