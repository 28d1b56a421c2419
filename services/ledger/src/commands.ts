import { enqueue, on, type EntityManager, type HandlerEntry } from '@offramp/kit';
import { ledgerCommands, ledgerEvents, type Envelope, type TransferResult } from '@offramp/contracts';
import { createTransfer, resolveHold } from './transfers/transfers.ts';
import type { AccountDirectory } from './transfers/store.ts';

/**
 * Commands from other services' outboxes. The effect, the inbox row and the resulting events
 * commit together; a command that cannot take effect emits `command-refused` for its sender.
 */
export function ledgerCommandHandlers(accounts: AccountDirectory): HandlerEntry[] {
  const cause = (env: Envelope<unknown>) => ({ correlationId: env.correlationId, causationId: env.id, traceId: env.traceId });
  const refuseUnlessDone = async (em: EntityManager, env: Envelope<unknown>, transferId: string, result: TransferResult) => {
    if (result.outcome === 'ok' || result.outcome === 'exists') return;
    await enqueue(em, ledgerEvents.commandRefused, { commandId: env.id, commandType: env.type, transferId, outcome: result.outcome }, cause(env));
  };
  return [
    on(ledgerCommands.transfer, async (em, env) => refuseUnlessDone(em, env, env.payload.id, await createTransfer(em, accounts, 'transfer', env.payload, cause(env)))),
    on(ledgerCommands.placeHold, async (em, env) => refuseUnlessDone(em, env, env.payload.id, await createTransfer(em, accounts, 'hold', env.payload, cause(env)))),
    on(ledgerCommands.postHold, async (em, env) => refuseUnlessDone(em, env, env.payload.id, await resolveHold(em, accounts, 'post', env.payload, cause(env)))),
    on(ledgerCommands.voidHold, async (em, env) => refuseUnlessDone(em, env, env.payload.id, await resolveHold(em, accounts, 'void', env.payload, cause(env)))),
  ];
}
