import { ignore, on, type ConsumerSpec, type HandlerEntry } from '@offramp/kit';
import { ledgerEvents, pspAlfredEvents, riskEvents, withdrawalEvents, type MessageDef } from '@offramp/contracts';
import { recordPartnerDelivery, type PartnerWithdrawals } from './partner-webhooks/partner-webhooks.ts';
import { applyReported, ledgerRefusedCommand, openDiscrepancy } from './withdrawals/saga.ts';
import type { TransitionDeps } from './withdrawals/transition.ts';

/**
 * The source's other events (kyc status, ledger postings, and whatever a contract gains later) are
 * ignored: the shared consumer of `evt.<source>.>` acks them (without a transaction or an inbox
 * row) instead of dead-lettering them.
 */
function ignoreOthers(events: Record<string, MessageDef>, handled: HandlerEntry[]): HandlerEntry[] {
  const taken = new Set(handled.map((h) => h.def.subject));
  return [
    ...handled,
    ...Object.values(events)
      .filter((def) => !taken.has(def.subject))
      .map((def) => ignore(def)),
  ];
}

/**
 * The saga's consumers, one per source (NATS 2.9 takes one filter subject per consumer); the reactions are the withdrawals feature's.
 * And the partner webhooks' consumer of sessions' own status changes.
 */
export function sessionsConsumers(deps: TransitionDeps & { partnerWithdrawals: PartnerWithdrawals }): ConsumerSpec[] {
  return [
    {
      name: 'sessions-risk',
      stream: 'EVENTS',
      filterSubject: 'evt.risk.>',
      handlers: ignoreOthers(riskEvents, [
        on(riskEvents.decided, async (ctx) => {
          const { withdrawalId, decision, reasons } = ctx.envelope.payload;
          await applyReported(ctx, deps, withdrawalId, { kind: 'risk_decided', decision, reasons });
        }),
      ]),
    },
    {
      name: 'sessions-psp-alfred',
      stream: 'EVENTS',
      filterSubject: 'evt.psp-alfred.>',
      handlers: ignoreOthers(pspAlfredEvents, [
        on(pspAlfredEvents.offrampCreated, async (ctx) => {
          const { withdrawalId, transactionId } = ctx.envelope.payload;
          await applyReported(ctx, deps, withdrawalId, { kind: 'offramp_created', transactionId });
        }),
        on(pspAlfredEvents.offrampRefused, async (ctx) => {
          const { withdrawalId, partnerCode, message } = ctx.envelope.payload;
          await applyReported(ctx, deps, withdrawalId, { kind: 'offramp_refused', partnerCode, message });
        }),
        on(pspAlfredEvents.offrampStatusChanged, async (ctx) => {
          const { withdrawalId, transactionId, status, failureReason, source } = ctx.envelope.payload;
          await applyReported(ctx, deps, withdrawalId, { kind: 'offramp_status', transactionId, status, failureReason, source });
        }),
        on(pspAlfredEvents.discrepancyFound, (ctx) => openDiscrepancy(ctx, ctx.envelope.payload)),
      ]),
    },
    {
      // Only the one ledger event it handles: the server filters out the hold-placed, hold-posted and
      // transfer events (two or more per withdrawal) that would be delivered, parsed and acked for
      // nothing. The durable was made with `evt.ledger.>`; NATS 2.9 updates an existing one's filter.
      name: 'sessions-ledger',
      stream: 'EVENTS',
      filterSubject: ledgerEvents.commandRefused.subject,
      handlers: [
        on(ledgerEvents.commandRefused, (ctx) => ledgerRefusedCommand(ctx, deps, ctx.envelope.payload, ctx.envelope.correlationId)),
      ],
    },
    {
      // Sessions' own status changes: a partner's withdrawal gets its webhook recorded, sent after the commit.
      name: 'sessions-partner-webhooks',
      stream: 'EVENTS',
      filterSubject: withdrawalEvents.statusChanged.subject,
      handlers: [
        on(
          withdrawalEvents.statusChanged,
          async ({ em, envelope, log }) => {
            await recordPartnerDelivery(em, envelope, log);
          },
          // Most withdrawals are the widget's: theirs are acked without an inbox transaction, and mostly
          // without a read (a partner's request is stored before its withdrawal exists, so "not a
          // partner's" never changes: PartnerWithdrawals remembers it).
          { concerns: ({ em, envelope }) => deps.partnerWithdrawals.concerns(em, envelope.payload) },
        ),
      ],
    },
  ];
}
