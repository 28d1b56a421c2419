import { inAppMessage, inAppSubject, type Envelope, type InAppNotification } from '@offramp/contracts';
import { makeEnvelope, newId, type Cause, type EntityManager, type Logger } from '@offramp/kit';
import type { NotifierConfig } from '../config.ts';
import { insertNotification } from '../deliveries/deliveries-store.ts';
import { delayedNotificationOf, isNotified, notificationOf, type PayoutDelayed, type StatusChanged } from './compose.ts';
import { messageIdOf, recipientOf } from './recipient.ts';

export { isNotified };

/** What recording reads of the configuration. */
export type RecordConfig = Pick<NotifierConfig, 'SMTP_URL' | 'MAIL_FROM' | 'MAIL_TO_TEMPLATE' | 'NOTIFY_MAX_EVENT_AGE_SECONDS'>;

/**
 * Records the notification of a status change and one delivery per channel, to be sent after the
 * caller's transaction (the inbox's) commits. Outcomes: `recorded`, `not_notified` (an internal
 * status), `already_notified` (this withdrawal's status was already notified under another event id).
 */
export async function recordNotification(
  em: EntityManager,
  envelope: Envelope<StatusChanged>,
  ctx: { config: RecordConfig; log: Logger; cause: Cause },
): Promise<'recorded' | 'not_notified' | 'already_notified'> {
  const notification = notificationOf(envelope.payload, { notificationId: newId(), occurredAt: envelope.occurredAt });
  if (!notification) return 'not_notified';
  return record(em, envelope, notification, ctx);
}

/** The notice of a payout past its rail's SLA (`withdrawals.payout-delayed`): once per withdrawal, like a status. */
export async function recordDelayedNotification(
  em: EntityManager,
  envelope: Envelope<PayoutDelayed>,
  ctx: { config: RecordConfig; log: Logger; cause: Cause },
): Promise<'recorded' | 'already_notified'> {
  const notification = delayedNotificationOf(envelope.payload, { notificationId: newId(), occurredAt: envelope.occurredAt });
  return record(em, envelope, notification, ctx);
}

async function record(
  em: EntityManager,
  envelope: Envelope<unknown>,
  notification: InAppNotification,
  ctx: { config: RecordConfig; log: Logger; cause: Cause },
): Promise<'recorded' | 'already_notified'> {
  const { config } = ctx;
  const { withdrawalId, traderId, kind } = notification;
  const stale = isStale(envelope.occurredAt, config) ? 'not sent: the event is older than NOTIFY_MAX_EVENT_AGE_SECONDS' : null;
  const recorded = await insertNotification(
    em,
    {
      id: notification.notificationId,
      eventId: envelope.id,
      withdrawalId,
      traderId,
      kind,
      envelope: makeEnvelope(inAppMessage, notification, ctx.cause),
    },
    [
      { channel: 'in_app', recipient: inAppSubject(traderId), messageId: null, skipped: stale },
      {
        channel: 'email',
        recipient: recipientOf(config.MAIL_TO_TEMPLATE, traderId),
        messageId: messageIdOf(notification.notificationId, config.MAIL_FROM),
        skipped: config.SMTP_URL ? stale : 'e-mail channel off: SMTP_URL is not set',
      },
    ],
  );
  // The withdrawal and kind on the line itself: a child logger per notification costs more than the line.
  if (!recorded) {
    ctx.log.info({ withdrawalId, kind, eventId: envelope.id }, 'status already notified under another event; nothing more is sent');
    return 'already_notified';
  }
  ctx.log.info({ withdrawalId, kind, stale: stale !== null }, 'notification recorded');
  return 'recorded';
}

/**
 * A durable consumer reads the EVENTS stream from its start: on a first deploy that is weeks of
 * history, which must not turn into a flood of e-mails about old withdrawals.
 */
function isStale(occurredAt: string, config: RecordConfig): boolean {
  const ageMs = Date.now() - new Date(occurredAt).getTime();
  return ageMs > config.NOTIFY_MAX_EVENT_AGE_SECONDS * 1000;
}
