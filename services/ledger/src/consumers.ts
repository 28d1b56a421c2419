import { enqueue, on, type ConsumerSpec, type MessageContext } from '@offramp/kit';
import { ledgerCommands, ledgerEvents, type TransferResult } from '@offramp/contracts';
import { createTransfer, resolveHold } from './transfers/transfers.ts';
import type { AccountDirectory } from './transfers/transfers-store.ts';

/**
 * Commands from other services' outboxes. The effect, the inbox row and the resulting events
 * commit together; a command that cannot take effect emits `command-refused` for its sender.
 */
export function ledgerConsumers(accounts: AccountDirectory): ConsumerSpec[] {
  const refuseUnlessDone = async ({ em, envelope, cause }: MessageContext, transferId: string, result: TransferResult) => {
    if (result.outcome === 'ok' || result.outcome === 'exists') return;
    const refused = { commandId: envelope.id, commandType: envelope.type, transferId, outcome: result.outcome };
    await enqueue(em, ledgerEvents.commandRefused, refused, cause);
  };
  const handlers = [
    on(ledgerCommands.transfer, async (ctx) =>
      refuseUnlessDone(ctx, ctx.envelope.payload.id, await createTransfer(ctx.em, accounts, 'transfer', ctx.envelope.payload, ctx.cause)),
    ),
    on(ledgerCommands.placeHold, async (ctx) =>
      refuseUnlessDone(ctx, ctx.envelope.payload.id, await createTransfer(ctx.em, accounts, 'hold', ctx.envelope.payload, ctx.cause)),
    ),
    on(ledgerCommands.postHold, async (ctx) =>
      refuseUnlessDone(ctx, ctx.envelope.payload.id, await resolveHold(ctx.em, accounts, 'post', ctx.envelope.payload, ctx.cause)),
    ),
    on(ledgerCommands.voidHold, async (ctx) =>
      refuseUnlessDone(ctx, ctx.envelope.payload.id, await resolveHold(ctx.em, accounts, 'void', ctx.envelope.payload, ctx.cause)),
    ),
  ];
  return [{ name: 'ledger-commands', stream: 'COMMANDS', filterSubject: 'cmd.ledger.>', handlers }];
}
