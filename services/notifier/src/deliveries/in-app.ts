import type { Messaging } from '@offramp/kit';
import type { Deliver } from './dispatcher.ts';

/**
 * Publishes the recorded in-app envelope on the trader's subject into JetStream (the NOTIFICATIONS
 * stream keeps it a day) and counts it sent once the stream has acknowledged storing it. The
 * gateway's SSE streams read it from there, so a trader whose stream was down gets it on
 * reconnecting (`Last-Event-ID`). The msgID is the notification id: a re-publish of the same
 * notification within the stream's duplicate window (an hour, longer than the delivery lease) is
 * stored once.
 */
export function inAppSender(deps: { messaging: Messaging; timeoutMs: number }): Deliver {
  const { messaging } = deps;
  return async (d) => {
    if (!d.notification) return { outcome: 'failed', error: 'the recorded notification does not parse' };
    const ack = await messaging.js.publish(messaging.wire(d.recipient), JSON.stringify(d.envelope), {
      msgID: d.notification.notificationId,
      timeout: deps.timeoutMs,
    });
    return { outcome: 'sent', response: `${ack.stream} seq ${ack.seq}${ack.duplicate ? ' (duplicate)' : ''}` };
  };
}
