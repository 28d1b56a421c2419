import { z } from 'zod';
import { queryRows, sql, type EntityManager } from '@offramp/kit';
import { inAppEnvelope, type InAppNotification } from '@offramp/contracts';
import { DeliveryEntity } from './deliveries-entity.ts';

export type Channel = DeliveryEntity['channel'];

/** A delivery reserved by one sender until `leaseMs` has passed. */
export interface ClaimedDelivery {
  id: string;
  channel: Channel;
  recipient: string;
  messageId: string | null;
  /** Counting the attempt this claim starts. */
  attempts: number;
  /** The in-app envelope as recorded (wire form), published as is. */
  envelope: unknown;
  /** Its payload, or null when the recorded row does not parse (a bug: the delivery fails, the loop goes on). */
  notification: InAppNotification | null;
}

/** What one attempt ended with: sent, worth retrying, or refused for good. */
export type DeliveryResult =
  { outcome: 'sent'; response: string | null } | { outcome: 'retry'; error: string } | { outcome: 'failed'; error: string };

/** A delivery to record with its notification; `skipped` says why it will not be sent, if so. */
export interface NewDelivery {
  channel: Channel;
  recipient: string;
  messageId: string | null;
  skipped: string | null;
}

/** A notification to record: `envelope` is the in-app envelope as it goes on the wire. */
export interface NewNotification {
  id: string;
  eventId: string;
  withdrawalId: string;
  traderId: string;
  kind: InAppNotification['kind'];
  envelope: unknown;
}

const recordedRow = z.object({ recorded: z.number().int() });

/**
 * Records a notification and its deliveries (`pending`, or `skipped` with the reason), in the given
 * order, in one statement: one round trip where a row each took three. The dedupe is the insert
 * itself: `on conflict do nothing` on the event id and on (withdrawal, kind); the deliveries are
 * inserted only with a notification that was (a repeat of one per event and channel is ignored).
 * Returns whether the notification was new.
 */
export async function insertNotification(em: EntityManager, n: NewNotification, deliveries: NewDelivery[]): Promise<boolean> {
  const values = deliveries.map((_, i) => `(${i}, ?::text, ?::text, ?::text, ?::text, ?::text)`).join(', ');
  const params = deliveries.flatMap((d) => [d.channel, d.recipient, d.messageId, d.skipped ? 'skipped' : 'pending', d.skipped]);
  const rows = await queryRows(
    em,
    recordedRow,
    `with notification as (
       insert into notifications (id, event_id, withdrawal_id, trader_id, kind, notification)
       values (?, ?, ?, ?, ?, ?::jsonb)
       on conflict do nothing
       returning id
     ), delivery as (
       insert into deliveries (notification_id, event_id, channel, recipient, message_id, status, last_error)
       select notification.id, ?::uuid, d.channel, d.recipient, d.message_id, d.status, d.last_error
       from notification, (values ${values}) as d (position, channel, recipient, message_id, status, last_error)
       order by d.position
       on conflict (event_id, channel) do nothing
     )
     select count(*)::int as recorded from notification`,
    [n.id, n.eventId, n.withdrawalId, n.traderId, n.kind, JSON.stringify(n.envelope), n.eventId, ...params],
  );
  return rows[0]!.recorded > 0;
}

/**
 * A claimed row. `notification` is the recorded envelope, left unchecked here on purpose: a row
 * that does not parse fails its delivery (see `notification` below) instead of stopping the loop.
 */
const claimRow = z.object({
  id: z.string(),
  channel: z.enum(['in_app', 'email']),
  recipient: z.string(),
  message_id: z.string().nullable(),
  attempts: z.number().int(),
  notification: z.unknown(),
});

/**
 * Reserves due deliveries of a channel: pending ones whose retry time has come, and `sending` ones
 * whose lease ran out (their sender crashed, or could not record the outcome). The claim commits
 * before anything is sent; `skip locked` lets replicas share the queue.
 */
export async function claimDue(em: EntityManager, channel: Channel, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const rows = await queryRows(
    em,
    claimRow,
    `with due as (
       select id from deliveries
       where channel = ? and ((status = 'pending' and next_attempt_at <= now()) or (status = 'sending' and claimed_until < now()))
       order by id limit ? for update skip locked
     )
     update deliveries d
     set status = 'sending', attempts = d.attempts + 1, claimed_until = now() + (? * interval '1 millisecond'), updated_at = now()
     from due, notifications n
     where d.id = due.id and n.id = d.notification_id
     returning d.id::text as id, d.channel, d.recipient, d.message_id, d.attempts, n.notification`,
    [channel, limit, leaseMs],
  );
  return rows
    .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))
    .map((r) => ({
      id: r.id,
      channel: r.channel,
      recipient: r.recipient,
      messageId: r.message_id,
      attempts: r.attempts,
      envelope: r.notification,
      notification: inAppEnvelope.safeParse(r.notification).data?.payload ?? null,
    }));
}

/**
 * Writes the outcome of an attempt. Only a row still `sending` is updated, so an outcome recorded
 * twice (a slow sender whose lease another took over) cannot undo a later state.
 */
export async function recordOutcome(em: EntityManager, id: string, result: DeliveryResult, retryAt: Date | null): Promise<void> {
  const sending = { id, status: 'sending' } as const;
  if (result.outcome === 'sent') {
    await em.nativeUpdate(DeliveryEntity, sending, {
      status: 'sent',
      sentAt: sql`now()`,
      response: result.response?.slice(0, 500) ?? null,
      lastError: null,
      claimedUntil: null,
      updatedAt: sql`now()`,
    });
    return;
  }
  const giveUp = result.outcome === 'failed' || retryAt === null;
  await em.nativeUpdate(DeliveryEntity, sending, {
    status: giveUp ? 'failed' : 'pending',
    lastError: result.error.slice(0, 1_000),
    ...(retryAt ? { nextAttemptAt: retryAt } : {}),
    claimedUntil: null,
    updatedAt: sql`now()`,
  });
}
