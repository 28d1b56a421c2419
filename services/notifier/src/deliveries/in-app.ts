import type { Messaging } from '@offramp/kit';
import type { Deliver } from './dispatcher.ts';

/**
 * Publishes the recorded in-app envelope on the trader's core NATS subject and waits for the
 * server to have it (flush). Core NATS reaches the gateways connected now; a trader without an
 * open stream misses the push, and the withdrawal itself stays readable through the API.
 */
export function inAppSender(deps: { messaging: Messaging; timeoutMs: number }): Deliver {
  const { messaging } = deps;
  return async (d) => {
    messaging.nc.publish(messaging.wire(d.recipient), JSON.stringify(d.envelope));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), deps.timeoutMs)));
    try {
      const flushed = await Promise.race([messaging.nc.flush().then(() => 'flushed' as const), timeout]);
      return flushed === 'flushed' ? { outcome: 'sent', response: null } : { outcome: 'retry', error: 'NATS did not confirm the publish in time' };
    } finally {
      clearTimeout(timer);
    }
  };
}
