import {
  failureMessage,
  messageLanguage,
  minorToDecimal,
  notifiedStatus,
  withdrawalEvents,
  type InAppNotification,
  type NotificationKind,
  type NotifiedStatus,
} from '@offramp/contracts';
import type { z } from 'zod';

export type StatusChanged = z.output<typeof withdrawalEvents.statusChanged.payload>;
export type PayoutDelayed = z.output<typeof withdrawalEvents.payoutDelayed.payload>;

/** USDT has 6 decimals; amounts are shown with all of them, as the trader's balance is. */
export const usdt = (minor: bigint) => minorToDecimal(minor, 6);

const kindOf: Record<NotifiedStatus, NotificationKind> = {
  processing: 'withdrawal.processing',
  completed: 'withdrawal.completed',
  rejected: 'withdrawal.rejected',
};

/** Whether the trader is told about this status change (processing, completed, rejected). */
export function isNotified(change: Pick<StatusChanged, 'to'>): boolean {
  return notifiedStatus.safeParse(change.to).success;
}

/**
 * The notification a status change causes, or null when the status is not one the trader is told
 * about (pending, in_review, approved are internal steps).
 */
export function notificationOf(change: StatusChanged, at: { notificationId: string; occurredAt: string }): InAppNotification | null {
  const status = notifiedStatus.safeParse(change.to);
  if (!status.success) return null;
  // Every rejection voids the hold in full, so the restored amount is the debit when the event
  // does not carry it.
  const restoredMinor = status.data === 'rejected' ? (change.restoredMinor ?? change.debitedMinor) : null;
  const base = { ...change, status: status.data, restoredMinor };
  return {
    notificationId: at.notificationId,
    kind: kindOf[status.data],
    traderId: change.traderId,
    withdrawalId: change.withdrawalId,
    status: status.data,
    debitedMinor: change.debitedMinor,
    fiatAmount: change.fiatAmount,
    fiatCurrency: change.fiatCurrency,
    restoredMinor,
    message: messageOf(base),
    failure: failureOf(change),
    occurredAt: at.occurredAt,
  };
}

/** The notice that a payout is past its rail's SLA: the withdrawal stays `processing`, its funds held. */
export function delayedNotificationOf(d: PayoutDelayed, at: { notificationId: string; occurredAt: string }): InAppNotification {
  return {
    notificationId: at.notificationId,
    kind: 'withdrawal.delayed',
    traderId: d.traderId,
    withdrawalId: d.withdrawalId,
    status: 'processing',
    debitedMinor: d.debitedMinor,
    fiatAmount: d.fiatAmount,
    fiatCurrency: d.fiatCurrency,
    restoredMinor: null,
    message: `Your withdrawal of ${d.fiatAmount} ${d.fiatCurrency} is taking longer than usual at the bank. Your ${usdt(d.debitedMinor)} USDT stays held for it and we are checking with our payment partner.`,
    failure: null,
    occurredAt: at.occurredAt,
  };
}

/**
 * A payout the partner failed: its class and the trader's message in the trader's country's
 * language (the notifier has no Accept-Language); null for anything else.
 */
export function failureOf(change: StatusChanged): InAppNotification['failure'] {
  if (change.to !== 'rejected' || !change.failureClass) return null;
  return { class: change.failureClass, message: failureMessage(change.failureClass, messageLanguage(null, change.country)) };
}

/**
 * One sentence for the trader. The transition's reason is never shown: it can be a risk or
 * screening code, which is not for the trader to see.
 */
export function messageOf(n: Pick<InAppNotification, 'status' | 'debitedMinor' | 'fiatAmount' | 'fiatCurrency' | 'restoredMinor'>): string {
  const fiat = `${n.fiatAmount} ${n.fiatCurrency}`;
  switch (n.status) {
    case 'processing':
      return `Your withdrawal of ${fiat} (${usdt(n.debitedMinor)} USDT) is being sent to your bank.`;
    case 'completed':
      return `Your withdrawal of ${fiat} is complete: the money was sent to your bank account (${usdt(n.debitedMinor)} USDT debited).`;
    case 'rejected':
      return `Your withdrawal of ${fiat} could not be completed. ${usdt(n.restoredMinor ?? n.debitedMinor)} USDT was returned to your available balance.`;
  }
}
