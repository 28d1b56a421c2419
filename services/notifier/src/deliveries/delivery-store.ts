import type { EntityManager } from '@offramp/kit';
import { inAppEnvelope, type InAppNotification } from '@offramp/contracts';

export type Channel = 'in_app' | 'email';

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
export type DeliveryResult = { outcome: 'sent'; response: string | null } | { outcome: 'retry'; error: string } | { outcome: 'failed'; error: string };

interface ClaimRow {
  id: string;
  channel: Channel;
  recipient: string;
  message_id: string | null;
  attempts: number;
  notification: unknown;
}

/**
 * Reserves due deliveries of a channel: pending ones whose retry time has come, and `sending` ones
 * whose lease ran out (their sender crashed, or could not record the outcome). The claim commits
 * before anything is sent; `skip locked` lets replicas share the queue.
 */
export async function claimDue(em: EntityManager, channel: Channel, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const rows = await em.execute<ClaimRow[]>(
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
  if (result.outcome === 'sent') {
    await em.execute(
      `update deliveries set status = 'sent', sent_at = now(), response = ?, last_error = null, claimed_until = null, updated_at = now() where id = ? and status = 'sending'`,
      [result.response?.slice(0, 500) ?? null, id],
      'run',
    );
    return;
  }
  const giveUp = result.outcome === 'failed' || retryAt === null;
  await em.execute(
    `update deliveries set status = ?, last_error = ?, next_attempt_at = coalesce(?::timestamptz, next_attempt_at), claimed_until = null, updated_at = now() where id = ? and status = 'sending'`,
    [giveUp ? 'failed' : 'pending', result.error.slice(0, 1_000), retryAt?.toISOString() ?? null, id],
    'run',
  );
}
