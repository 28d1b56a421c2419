import { on, type ConsumerSpec } from '@offramp/kit';
import { withdrawalEvents } from '@offramp/contracts';
import { isNotified, recordDelayedNotification, recordNotification, type RecordConfig } from './notifications/notifications.ts';

/** The durable consumer of `withdrawals.status-changed` on the EVENTS stream; also the inbox key. */
export const withdrawalsConsumerName = 'notifier-withdrawals';
/** The durable consumer of `withdrawals.payout-delayed` (a payout past its rail's SLA). */
export const delayedConsumerName = 'notifier-payout-delayed';

/** What the notifier consumes: each status change worth telling the trader about is recorded, to be sent after the commit. */
export function notifierConsumers(config: RecordConfig): ConsumerSpec[] {
  return [
    {
      name: withdrawalsConsumerName,
      stream: 'EVENTS',
      filterSubject: withdrawalEvents.statusChanged.subject,
      handlers: [
        on(
          withdrawalEvents.statusChanged,
          async ({ em, envelope, log, cause }) => {
            await recordNotification(em, envelope, { config, log, cause });
          },
          // Half of a withdrawal's status changes (pending, in_review, approved) are told to no one:
          // acked without an inbox transaction (and without waking the senders), decided by the
          // payload alone, so a redelivery decides the same.
          { concerns: async ({ envelope }) => isNotified(envelope.payload) },
        ),
      ],
    },
    {
      name: delayedConsumerName,
      stream: 'EVENTS',
      filterSubject: withdrawalEvents.payoutDelayed.subject,
      handlers: [
        on(withdrawalEvents.payoutDelayed, async ({ em, envelope, log, cause }) => {
          await recordDelayedNotification(em, envelope, { config, log, cause });
        }),
      ],
    },
  ];
}
