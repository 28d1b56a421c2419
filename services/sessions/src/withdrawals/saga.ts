import type { z } from 'zod';
import type { MessageContext } from '@offramp/kit';
import { ledgerCommands, type ledgerEvents, type pspAlfredEvents } from '@offramp/contracts';
import { openException } from '../exceptions/exceptions.ts';
import type { WithdrawalEvent } from './decide.ts';
import { applyEvent, type TransitionDeps } from './transition.ts';
import { findWithdrawalRow } from './withdrawals-store.ts';

/**
 * The saga's reactions to what risk, psp-alfred and the ledger report. Each runs in the inbox
 * transaction of its message, so its effect happens once however often the message is delivered;
 * what an event does to a withdrawal is `decide`'s to say, under the withdrawal's row lock.
 */

/** The part of a consumed message's context a reaction uses: its transaction, its logger, its cause. */
export type Reaction = Pick<MessageContext, 'em' | 'log' | 'cause'>;

type Discrepancy = z.output<typeof pspAlfredEvents.discrepancyFound.payload>;
type CommandRefused = z.output<typeof ledgerEvents.commandRefused.payload>;

/** Applies a reported event; a withdrawal this service does not know is logged and dropped, as there is nothing to change. */
export async function applyReported(r: Reaction, deps: TransitionDeps, withdrawalId: string, event: WithdrawalEvent): Promise<void> {
  const result = await applyEvent(r.em, deps, withdrawalId, event, r.cause);
  if (result.outcome === 'not_found') r.log.warn({ withdrawalId, event: event.kind }, 'event for an unknown withdrawal; ignored');
  else if (result.outcome === 'refused')
    r.log.warn({ withdrawalId, event: event.kind, refusal: result.refusal }, 'event refused; recorded on the timeline');
}

/** psp-alfred saw the partner disagree with what we asked for: the exception it names, once per key. */
export async function openDiscrepancy(r: Reaction, d: Discrepancy): Promise<void> {
  const row = d.withdrawalId ? await findWithdrawalRow(r.em, d.withdrawalId) : null;
  // A withdrawal id this service does not know is kept in the facts rather than linked.
  const unknown = d.withdrawalId && !row ? { unknownWithdrawalId: d.withdrawalId } : {};
  await openException(
    r.em,
    {
      kind: d.kind,
      key: d.key,
      withdrawalId: row?.id ?? null,
      traderId: row?.trader_id ?? null,
      partnerReference: d.transactionId,
      facts: { ...d.facts, ...unknown },
      exposure: 'none',
      amountMinor: 0n,
    },
    r.cause,
  );
}

/**
 * The ledger refused a command this service sent (the post or void of a hold). About a known
 * withdrawal: the decider records the refusal and opens its exception. The void of an initiation
 * given up before its hold was placed has nothing to undo. Anything else: an exception without a
 * withdrawal, naming the command.
 */
export async function ledgerRefusedCommand(
  r: Reaction,
  deps: TransitionDeps,
  refused: CommandRefused,
  correlationId: string,
): Promise<void> {
  const { commandType, transferId, outcome } = refused;
  const command = commandType === ledgerCommands.postHold.type ? 'post' : commandType === ledgerCommands.voidHold.type ? 'void' : null;
  // The correlation id of a command about a withdrawal is the withdrawal (and hold) id.
  const withdrawalId = correlationId;
  const row = command ? await findWithdrawalRow(r.em, withdrawalId) : null;
  if (command && row)
    return applyReported(r, deps, withdrawalId, { kind: 'ledger_refused', command, outcome, transferId, attempted: null });
  if (command === 'void' && outcome === 'hold_not_found')
    return r.log.info({ withdrawalId, transferId }, 'void of a hold never placed; nothing to undo');
  await openException(
    r.em,
    {
      kind: 'ledger_command_refused',
      key: `ledger_command_refused:${transferId}`,
      withdrawalId: null,
      traderId: null,
      partnerReference: null,
      facts: { commandType, ledgerOutcome: outcome, transferId, correlationId },
      exposure: 'none',
      amountMinor: 0n,
    },
    r.cause,
  );
}
