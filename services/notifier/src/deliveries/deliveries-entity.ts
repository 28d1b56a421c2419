import { defineEntity, p } from '@offramp/kit';

/**
 * The delivery log and the senders' work queue: one row per notification and channel, table
 * `deliveries` (migration 0001), mapped as it is. The claim of due rows (`skip locked`, with a
 * lease) stays one raw statement in `deliveries-store.ts`.
 */
export const DeliveryEntity = defineEntity({
  name: 'Delivery',
  tableName: 'deliveries',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    notificationId: p.uuid(),
    eventId: p.uuid(),
    channel: p.enum(['in_app', 'email'] as const),
    recipient: p.text(),
    status: p.enum(['pending', 'sending', 'sent', 'failed', 'skipped'] as const),
    attempts: p.integer().default(0),
    lastError: p.text().nullable(),
    messageId: p.text().nullable(),
    response: p.text().nullable(),
    nextAttemptAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
    claimedUntil: p.datetime().columnType('timestamptz').nullable(),
    createdAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
    updatedAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
    sentAt: p.datetime().columnType('timestamptz').nullable(),
  },
});
export type DeliveryEntity = (typeof DeliveryEntity)['~entity'];
