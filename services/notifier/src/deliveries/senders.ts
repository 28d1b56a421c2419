import { Counter } from 'prom-client';
import type { Database, Logger, Messaging, Metrics } from '@offramp/kit';
import type { NotifierConfig } from '../config.ts';
import type { Channel } from './deliveries-store.ts';
import { startDispatcher, type Deliver, type Dispatcher, type DispatcherHooks } from './dispatcher.ts';
import { emailSender, type MailTransport } from './email.ts';
import { inAppSender } from './in-app.ts';

/** The sender per channel; the e-mail one is absent when there is no SMTP transport. */
export type Senders = Partial<Record<Channel, Dispatcher>>;

/** Starts one sender loop per channel, counting every attempt's outcome in `notifications_delivered_total`. */
export function startSenders(deps: {
  config: NotifierConfig;
  db: Database;
  messaging: Messaging;
  log: Logger;
  metrics: Metrics;
  transport: MailTransport | null;
  hooks?: DispatcherHooks | undefined;
}): Senders {
  const { config, db, log, hooks } = deps;
  const delivered = new Counter({
    name: 'notifications_delivered_total',
    help: 'Delivery attempts, by channel and outcome',
    labelNames: ['channel', 'outcome'],
    registers: [deps.metrics.registry],
  });
  const start = (channel: Channel, deliver: Deliver) =>
    startDispatcher({
      db,
      log,
      channel,
      deliver,
      maxAttempts: config.DELIVERY_MAX_ATTEMPTS,
      leaseMs: config.DELIVERY_LEASE_MS,
      pollMs: config.DELIVERY_POLL_MS,
      retryBaseMs: config.DELIVERY_RETRY_BASE_MS,
      ...hooks,
      onSettled: (d, result) => {
        delivered.inc({ channel, outcome: result.outcome });
        hooks?.onSettled?.(d, result);
      },
    });
  const senders: Senders = { in_app: start('in_app', inAppSender({ messaging: deps.messaging, timeoutMs: 5_000 })) };
  if (deps.transport) senders.email = start('email', emailSender({ transport: deps.transport, from: config.MAIL_FROM }));
  return senders;
}
