import nodemailer from 'nodemailer';
import type { NotifierConfig } from '../config.ts';
import { emailOf } from '../notifications/templates.ts';
import type { DeliveryResult } from './deliveries-store.ts';
import type { Deliver } from './dispatcher.ts';

export type MailTransport = ReturnType<typeof nodemailer.createTransport>;

/** One SMTP transport per process, from `SMTP_URL`; every phase has a timeout so a send cannot outlive its lease. */
export function createMailTransport(config: Pick<NotifierConfig, 'SMTP_TIMEOUT_MS'> & { SMTP_URL: string }): MailTransport {
  return nodemailer.createTransport({
    url: config.SMTP_URL,
    connectionTimeout: config.SMTP_TIMEOUT_MS,
    greetingTimeout: config.SMTP_TIMEOUT_MS,
    socketTimeout: config.SMTP_TIMEOUT_MS * 2,
  });
}

/**
 * Sends a notification's e-mail. Every attempt at one delivery is the same message: the recorded
 * Message-ID, the status change's time as Date, the same body. A 5xx answer is the server refusing
 * the message for good; anything else (4xx, network, timeout) is worth another attempt.
 */
export function emailSender(deps: { transport: MailTransport; from: string }): Deliver {
  return async (d): Promise<DeliveryResult> => {
    const n = d.notification;
    if (!n) return { outcome: 'failed', error: 'the recorded notification does not parse' };
    const content = emailOf(n);
    try {
      const info = await deps.transport.sendMail({
        from: deps.from,
        to: d.recipient,
        subject: content.subject,
        text: content.text,
        html: content.html,
        date: new Date(n.occurredAt),
        ...(d.messageId ? { messageId: d.messageId } : {}),
        headers: { 'X-Offramp-Notification-Id': n.notificationId, 'X-Offramp-Withdrawal-Id': n.withdrawalId },
      });
      return { outcome: 'sent', response: typeof info.response === 'string' ? info.response : null };
    } catch (err) {
      const code = (err as { responseCode?: unknown }).responseCode;
      const error = err instanceof Error ? err.message : String(err);
      return typeof code === 'number' && code >= 500 && code < 600 ? { outcome: 'failed', error } : { outcome: 'retry', error };
    }
  };
}
