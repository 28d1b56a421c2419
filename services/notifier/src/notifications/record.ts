import { inAppMessage, inAppSubject, withdrawalEvents } from '@offramp/contracts';
import { makeEnvelope, newId, on, type EntityManager, type HandlerEntry, type Logger } from '@offramp/kit';
import type { NotifierConfig } from '../config.ts';
import { notificationOf } from './compose.ts';
import { messageIdOf, recipientOf } from './recipient.ts';
import { NotificationEntity } from './notification-entity.ts';
import { DeliveryEntity } from '../deliveries/delivery-entity.ts';
import type { Channel } from '../deliveries/delivery-store.ts';

export interface RecordDeps {
  config: Pick<NotifierConfig, 'SMTP_URL' | 'MAIL_FROM' | 'MAIL_TO_TEMPLATE' | 'NOTIFY_MAX_EVENT_AGE_SECONDS'>;
  log: Logger;
  now?: () => Date;
}


/** The consumer's handlers: each runs inside the transaction that records the message in the inbox. */
export function notificationHandlers(deps: RecordDeps): HandlerEntry[] {
  return [
    on(withdrawalEvents.statusChanged, async (em, envelope) => {
      await recordNotification(em, envelope, deps);
    }),
  ];
}

/**
 * Records the notification of a status change and one delivery per channel, to be sent after this
 * transaction commits. Outcomes: `recorded`, `not_notified` (an internal status), `already_notified`
 * (this withdrawal's status was already notified under another event id).
 */
export async function recordNotification(
  em: EntityManager,
  envelope: { id: string; occurredAt: string; traceId: string; payload: Parameters<typeof notificationOf>[0] },
  deps: RecordDeps,
): Promise<'recorded' | 'not_notified' | 'already_notified'> {
  const change = envelope.payload;
  const notification = notificationOf(change, { notificationId: newId(), occurredAt: envelope.occurredAt });
  if (!notification) return 'not_notified';
  const wire = makeEnvelope(inAppMessage, notification, { correlationId: change.withdrawalId, causationId: envelope.id, traceId: envelope.traceId });
  // The dedupe is the insert itself: `on conflict do nothing` on the event id and on (withdrawal, kind).
  const inserted = await em
    .createQueryBuilder(NotificationEntity)
    .insert({ id: notification.notificationId, eventId: envelope.id, withdrawalId: change.withdrawalId, traderId: change.traderId, kind: notification.kind, notification: wire })
    .onConflict()
    .ignore()
    .execute('run');
  const log = deps.log.child({ traceId: envelope.traceId, withdrawalId: change.withdrawalId, kind: notification.kind });
  if (inserted.affectedRows === 0) {
    log.info({ eventId: envelope.id }, 'status already notified under another event; nothing more is sent');
    return 'already_notified';
  }
  const stale = isStale(envelope.occurredAt, deps);
  const delivery = { notificationId: notification.notificationId, eventId: envelope.id, stale };
  await insertDelivery(em, { ...delivery, channel: 'in_app', recipient: inAppSubject(change.traderId), messageId: null, off: null });
  await insertDelivery(em, {
    ...delivery,
    channel: 'email',
    recipient: recipientOf(deps.config.MAIL_TO_TEMPLATE, change.traderId),
    messageId: messageIdOf(notification.notificationId, deps.config.MAIL_FROM),
    off: deps.config.SMTP_URL ? null : 'e-mail channel off: SMTP_URL is not set',
  });
  log.info({ stale }, 'notification recorded');
  return 'recorded';
}

/**
 * A durable consumer reads the EVENTS stream from its start: on a first deploy that is weeks of
 * history, which must not turn into a flood of e-mails about old withdrawals.
 */
function isStale(occurredAt: string, deps: RecordDeps): boolean {
  const ageMs = (deps.now?.() ?? new Date()).getTime() - new Date(occurredAt).getTime();
  return ageMs > deps.config.NOTIFY_MAX_EVENT_AGE_SECONDS * 1000;
}

async function insertDelivery(
  em: EntityManager,
  d: { notificationId: string; eventId: string; channel: Channel; recipient: string; messageId: string | null; off: string | null; stale: boolean },
): Promise<void> {
  const skipped = d.off ?? (d.stale ? 'not sent: the event is older than NOTIFY_MAX_EVENT_AGE_SECONDS' : null);
  await em
    .createQueryBuilder(DeliveryEntity)
    .insert({ notificationId: d.notificationId, eventId: d.eventId, channel: d.channel, recipient: d.recipient, messageId: d.messageId, status: skipped ? 'skipped' : 'pending', lastError: skipped })
    .onConflict(['eventId', 'channel'])
    .ignore()
    .execute('run');
}
