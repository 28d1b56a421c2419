import { minorToDecimal, type InAppNotification, type NotificationEventData } from '@offramp/contracts';

/** The public `data:` of a notification: snake_case, USDT amounts with their 6 decimals. */
export function eventDataOf(n: InAppNotification): NotificationEventData {
  return {
    notification_id: n.notificationId,
    withdrawal_id: n.withdrawalId,
    status: n.status,
    crypto_amount: minorToDecimal(n.debitedMinor, 6),
    crypto_currency: 'USDT',
    fiat_amount: n.fiatAmount,
    fiat_currency: n.fiatCurrency,
    restored_amount: n.restoredMinor === null ? null : minorToDecimal(n.restoredMinor, 6),
    message: n.message,
    failure: n.failure ?? null,
    occurred_at: n.occurredAt,
  };
}

/**
 * One Server-Sent Event. The id is the notification id, which stays the same when the notifier
 * publishes a notification again, so a client can drop a repeat. JSON has no raw newlines, so the
 * data fits on one `data:` line.
 */
export function frameOf(n: InAppNotification): string {
  return `id: ${n.notificationId}\nevent: ${n.kind}\ndata: ${JSON.stringify(eventDataOf(n))}\n\n`;
}

export const heartbeatFrame = ': heartbeat\n\n';
