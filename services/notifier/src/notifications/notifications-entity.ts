import { notificationKinds } from '@offramp/contracts';
import { defineEntity, p } from '@offramp/kit';

/**
 * One notification per withdrawal status change worth telling the trader about: table
 * `notifications` (migration 0001), mapped as it is. `notification` is the in-app envelope as it
 * goes on the wire, built once so that every re-publish is identical.
 */
export const NotificationEntity = defineEntity({
  name: 'Notification',
  tableName: 'notifications',
  properties: {
    id: p.uuid().primary(),
    eventId: p.uuid().unique(),
    withdrawalId: p.uuid(),
    traderId: p.text(),
    kind: p.enum(notificationKinds),
    notification: p.json<unknown>(),
    createdAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
  },
});
export type NotificationEntity = (typeof NotificationEntity)['~entity'];
