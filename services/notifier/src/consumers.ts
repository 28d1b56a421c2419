import { on, type ConsumerSpec } from '@offramp/kit';
import { withdrawalEvents } from '@offramp/contracts';
import { recordNotification, type RecordConfig } from './notifications/notifications.ts';

/** The durable consumer of `withdrawals.status-changed` on the EVENTS stream; also the inbox key. */
export const withdrawalsConsumerName = 'notifier-withdrawals';

/** What the notifier consumes: each status change worth telling the trader about is recorded, to be sent after the commit. */
export function notifierConsumers(config: RecordConfig): ConsumerSpec[] {
  return [
    {
      name: withdrawalsConsumerName,
      stream: 'EVENTS',
      filterSubject: withdrawalEvents.statusChanged.subject,
      handlers: [
        on(withdrawalEvents.statusChanged, async ({ em, envelope, log, cause }) => {
          await recordNotification(em, envelope, { config, log, cause });
        }),
      ],
    },
  ];
}
