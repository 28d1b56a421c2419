import { enqueue, on, type ConsumerSpec, type MessageContext } from '@offramp/kit';
import { ledgerCommands, ledgerEvents } from '@offramp/contracts';
import { applyOperation, type LedgerOperation } from './transfers/transfers.ts';

/**
 * Commands from other services' outboxes. The effect (one `ledger_apply` statement), the inbox row
 * and the resulting events commit together; a command that cannot take effect emits
 * `command-refused` for its sender.
 */
export function ledgerConsumers(): ConsumerSpec[] {
  const apply = async (ctx: MessageContext, op: LedgerOperation) => {
    const result = await applyOperation(ctx.em, op);
    if (result.outcome === 'ok' || result.outcome === 'exists') return;
    const { envelope, cause } = ctx;
    const refused = { commandId: envelope.id, commandType: envelope.type, transferId: op.request.id, outcome: result.outcome };
    await enqueue(ctx.em, ledgerEvents.commandRefused, refused, cause);
  };
  const handlers = [
    on(ledgerCommands.transfer, (ctx) => apply(ctx, { kind: 'transfer', request: ctx.envelope.payload, cause: ctx.cause })),
    on(ledgerCommands.placeHold, (ctx) => apply(ctx, { kind: 'hold', request: ctx.envelope.payload, cause: ctx.cause })),
    on(ledgerCommands.postHold, (ctx) => apply(ctx, { kind: 'post', request: ctx.envelope.payload, cause: ctx.cause })),
    on(ledgerCommands.voidHold, (ctx) => apply(ctx, { kind: 'void', request: ctx.envelope.payload, cause: ctx.cause })),
  ];
  // One command per transaction: commands of different withdrawals lock balance rows they share (the
  // system accounts, a trader's) in no fixed order, so two batches could deadlock; the ledger's own
  // group commit takes requests together on its rpc path (`batcher`).
  return [{ name: 'ledger-commands', stream: 'COMMANDS', filterSubject: 'cmd.ledger.>', handlers, batch: 1 }];
}
