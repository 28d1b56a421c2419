import { z } from 'zod';
import { executeBound, queryRowsBound, type EntityManager } from '@offramp/kit';
import { inAppEnvelope, type InAppNotification } from '@offramp/contracts';
import type { DeliveryEntity } from './deliveries-entity.ts';

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

// The statements here run on every withdrawal (a notification per status change, a claim and an
// outcome per delivery), so they go with bound parameters on fixed texts (`queryRowsBound`,
// `executeBound`): Postgres prepares each once per connection instead of parsing and planning it
// on every call. The deliveries of a notification travel as one jsonb array for that reason.

/**
 * Records a notification and its deliveries (`pending`, or `skipped` with the reason), in the given
 * order, in one statement: one round trip where a row each took three. The dedupe is the insert
 * itself: `on conflict do nothing` on the event id and on (withdrawal, kind); the deliveries are
 * inserted only with a notification that was (a repeat of one per event and channel is ignored).
 * Returns whether the notification was new.
 */
export async function insertNotification(em: EntityManager, n: NewNotification, deliveries: NewDelivery[]): Promise<boolean> {
  const rows = deliveries.map((d, position) => ({
    position,
    channel: d.channel,
    recipient: d.recipient,
    message_id: d.messageId,
    status: d.skipped ? 'skipped' : 'pending',
    last_error: d.skipped,
  }));
  const recorded = await queryRowsBound(
    em,
    recordedRow,
    `with notification as (
       insert into notifications (id, event_id, withdrawal_id, trader_id, kind, notification)
       values ($1::uuid, $2::uuid, $3::uuid, $4::text, $5::text, $6::jsonb)
       on conflict do nothing
       returning id
     ), delivery as (
       insert into deliveries (notification_id, event_id, channel, recipient, message_id, status, last_error)
       select notification.id, $2::uuid, d.channel, d.recipient, d.message_id, d.status, d.last_error
       from notification,
         jsonb_to_recordset($7::jsonb) as d (position int, channel text, recipient text, message_id text, status text, last_error text)
       order by d.position
       on conflict (event_id, channel) do nothing
     )
     select count(*)::int as recorded from notification`,
    [n.id, n.eventId, n.withdrawalId, n.traderId, n.kind, JSON.stringify(n.envelope), JSON.stringify(rows)],
  );
  return recorded[0]!.recorded > 0;
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
  const rows = await queryRowsBound(
    em,
    claimRow,
    `with due as (
       select id from deliveries
       where channel = $1::text and ((status = 'pending' and next_attempt_at <= now()) or (status = 'sending' and claimed_until < now()))
       order by id limit $2::int for update skip locked
     )
     update deliveries d
     set status = 'sending', attempts = d.attempts + 1, claimed_until = now() + ($3::double precision * interval '1 millisecond'),
       updated_at = now()
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
  if (result.outcome === 'sent') {
    await executeBound(
      em,
      `update deliveries set status = 'sent', sent_at = now(), response = $2::text, last_error = null, claimed_until = null, updated_at = now()
       where id = $1::bigint and status = 'sending'`,
      [id, result.response?.slice(0, 500) ?? null],
    );
    return;
  }
  const giveUp = result.outcome === 'failed' || retryAt === null;
  await executeBound(
    em,
    `update deliveries set status = $2::text, last_error = $3::text, next_attempt_at = coalesce($4::timestamptz, next_attempt_at),
       claimed_until = null, updated_at = now()
     where id = $1::bigint and status = 'sending'`,
    [id, giveUp ? 'failed' : 'pending', result.error.slice(0, 1_000), retryAt?.toISOString() ?? null],
  );
}
