import { z } from 'zod';
import { envelopeHeader, type MessageDef } from './envelope.ts';
import { currencyCode, minorUnits, positiveMinorUnits } from './money.ts';
import { payoutFailureView } from './payout-failures.ts';
import { decimalAmount, principalId } from './withdrawals.ts';

/*
 * What the notifier tells a trader, and how the gateway receives it for the trader's SSE stream.
 * In-app notifications travel one subject per trader, kept in the NOTIFICATIONS stream, so that a
 * gateway stream only ever reads its own trader's subject and NATS itself keeps traders apart.
 */

export const notifiedStatuses = ['processing', 'completed', 'rejected'] as const;
export const notifiedStatus = z.enum(notifiedStatuses);
export type NotifiedStatus = z.infer<typeof notifiedStatus>;

/** `withdrawal.delayed`: the payout is past its rail's SLA at the partner (told once; the status stays `processing`). */
export const notificationKinds = ['withdrawal.processing', 'withdrawal.completed', 'withdrawal.rejected', 'withdrawal.delayed'] as const;
export const notificationKind = z.enum(notificationKinds);
export type NotificationKind = z.infer<typeof notificationKind>;

/** A notification about one withdrawal status change, as the notifier records and publishes it. */
export const inAppNotification = z.object({
  /** Stable across re-publishes: the JetStream msgID and the SSE event id (`Last-Event-ID` resumes after it). */
  notificationId: z.uuid(),
  kind: notificationKind,
  traderId: principalId,
  withdrawalId: z.uuid(),
  status: notifiedStatus,
  debitedMinor: positiveMinorUnits,
  fiatAmount: decimalAmount,
  fiatCurrency: currencyCode,
  /** On rejection: the USDT returned to the trader's available balance. */
  restoredMinor: minorUnits.nullable(),
  /** One sentence for the trader, in plain words. */
  message: z.string().min(1).max(500),
  /** When the partner failed the payout: its class and the trader's message in the trader's language. */
  failure: payoutFailureView.nullable().optional(),
  /** When the withdrawal changed status. */
  occurredAt: z.iso.datetime({ offset: true }),
});
export type InAppNotification = z.infer<typeof inAppNotification>;

/**
 * The in-app message. Its subject is per trader (`inAppSubject`), in the NOTIFICATIONS stream
 * (kept 24 h, msgID = notification id) so that a trader's SSE stream can resume after a drop.
 */
export const inAppMessage: MessageDef<typeof inAppNotification> = {
  subject: 'notify.v1.user',
  type: 'notifications.in-app',
  version: 1,
  payload: inAppNotification,
};

export const inAppEnvelope = envelopeHeader.extend({ payload: inAppNotification });

/**
 * `notify.v1.user.<traderId>` with the trader id as exactly one subject token: characters that
 * NATS treats specially (`.`, `*`, `>`, whitespace) and `%` are percent-encoded (UTF-8 bytes), so two trader ids
 * never share a subject and no id can widen a subscription.
 */
export function inAppSubject(traderId: string): string {
  const hex = (b: number) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  const token = traderId.replace(/[^A-Za-z0-9_:@-]/gu, (c) => [...new TextEncoder().encode(c)].map(hex).join(''));
  return `${inAppMessage.subject}.${token}`;
}

/** The `data:` of a notification on the trader's SSE stream (`GET /psp/alfred/events`), snake_case like every public body. */
export const notificationEventData = z.object({
  notification_id: z.uuid(),
  withdrawal_id: z.uuid(),
  status: notifiedStatus,
  crypto_amount: z.string(),
  crypto_currency: z.literal('USDT'),
  fiat_amount: decimalAmount,
  fiat_currency: currencyCode,
  /** The USDT returned to the available balance; null unless rejected. */
  restored_amount: z.string().nullable(),
  message: z.string(),
  /** When the partner failed the payout: the failure's class and what it means for the trader, in the trader's language; null otherwise. */
  failure: payoutFailureView.nullable(),
  occurred_at: z.iso.datetime({ offset: true }),
});
export type NotificationEventData = z.infer<typeof notificationEventData>;
