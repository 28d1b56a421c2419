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

/** A delivery to record beside its notification; `skipped` says why it will not be sent, if so. */
export interface NewDelivery {
  notificationId: string;
  eventId: string;
  channel: Channel;
  recipient: string;
  messageId: string | null;
  skipped: string | null;
}

/** Records a delivery as `pending` (or `skipped`, with the reason); one per event and channel, a repeat is ignored. */
export async function insertDelivery(em: EntityManager, d: NewDelivery): Promise<void> {
  await em
    .createQueryBuilder(DeliveryEntity)
    .insert({
      notificationId: d.notificationId,
      eventId: d.eventId,
      channel: d.channel,
      recipient: d.recipient,
      messageId: d.messageId,
      status: d.skipped ? 'skipped' : 'pending',
      lastError: d.skipped,
    })
    .onConflict(['eventId', 'channel'])
    .ignore()
    .execute('run');
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
