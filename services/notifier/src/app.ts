import { Counter } from 'prom-client';
import {
  readinessOf,
  createHttpServer,
  createMetrics,
  openDatabase,
  startConsumer,
  type ConsumerOptions,
  type Database,
  type HttpServer,
  type Logger,
  type Messaging,
} from '@offramp/kit';
import { withdrawalEvents } from '@offramp/contracts';
import type { NotifierConfig } from './config.ts';
import { migrations } from './migrations/0001-notifier.ts';
import { notificationHandlers } from './notifications/record.ts';
import { startDispatcher, type Deliver, type Dispatcher, type DispatcherHooks } from './deliveries/dispatcher.ts';
import type { Channel } from './deliveries/delivery-store.ts';
import { createMailTransport, emailSender } from './deliveries/email.ts';
import { inAppSender } from './deliveries/in-app.ts';
import { DeliveryEntity } from './deliveries/delivery-entity.ts';
import { NotificationEntity } from './notifications/notification-entity.ts';

export { migrations };
export { readNotifierConfig, notifierConfig, type NotifierConfig } from './config.ts';
export { notificationOf, messageOf } from './notifications/compose.ts';
export { emailOf } from './notifications/templates.ts';
export { recipientOf } from './notifications/recipient.ts';

/** The durable consumer of `withdrawals.status-changed` on the EVENTS stream; also the inbox key. */
export const withdrawalsConsumerName = 'notifier-withdrawals';

export interface NotifierDeps {
  config: NotifierConfig;
  db: Database;
  messaging: Messaging;
  log: Logger;
  /** Hooks on the consumer (tests inject crashes and watch settlements with them). */
  consumer?: Pick<ConsumerOptions, 'afterCommit' | 'onSettled' | 'backoffMs'>;
  /** Hooks on the senders (tests crash between send and record with them). */
  dispatch?: DispatcherHooks;
}

export interface NotifierApp {
  http: HttpServer;
  /** The sender per channel; the e-mail one is absent when SMTP_URL is not set. */
  dispatchers: Partial<Record<Channel, Dispatcher>>;
  close(): Promise<void>;
}

export const openNotifierDatabase = (config: NotifierConfig) =>
  openDatabase({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations, entities: [NotificationEntity, DeliveryEntity], poolMax: config.DB_POOL_MAX });

/** Wires the notifier: the status-change consumer, one sender per channel and the HTTP health surface. */
export async function buildNotifier(deps: NotifierDeps): Promise<NotifierApp> {
  const { config, db, messaging, log } = deps;
  const metrics = createMetrics('notifier');
  const delivered = new Counter({ name: 'notifications_delivered_total', help: 'Delivery attempts, by channel and outcome', labelNames: ['channel', 'outcome'], registers: [metrics.registry] });
  const transport = config.SMTP_URL ? createMailTransport({ ...config, SMTP_URL: config.SMTP_URL }) : null;
  if (!transport) log.warn('e-mail channel off: SMTP_URL is not set; e-mail deliveries are logged as skipped');

  const dispatch = (channel: Channel, deliver: Deliver) =>
    startDispatcher({
      db,
      log,
      channel,
      deliver,
      maxAttempts: config.DELIVERY_MAX_ATTEMPTS,
      leaseMs: config.DELIVERY_LEASE_MS,
      pollMs: config.DELIVERY_POLL_MS,
      retryBaseMs: config.DELIVERY_RETRY_BASE_MS,
      ...deps.dispatch,
      onSettled: (d, result) => {
        delivered.inc({ channel, outcome: result.outcome });
        deps.dispatch?.onSettled?.(d, result);
      },
    });
  const dispatchers: NotifierApp['dispatchers'] = { in_app: dispatch('in_app', inAppSender({ messaging, timeoutMs: 5_000 })) };
  if (transport) dispatchers.email = dispatch('email', emailSender({ transport, from: config.MAIL_FROM }));

  const consumer = await startConsumer({
    db,
    messaging,
    log,
    metrics,
    name: withdrawalsConsumerName,
    stream: 'EVENTS',
    filterSubject: withdrawalEvents.statusChanged.subject,
    handlers: notificationHandlers({ config, log }),
    ...deps.consumer,
    afterCommit: async (envelope) => {
      // The deliveries are committed now; send them without waiting for the next poll.
      for (const d of Object.values(dispatchers)) d.wake();
      await deps.consumer?.afterCommit?.(envelope);
    },
  });
  const http = createHttpServer({ log, metrics, readiness: readinessOf({ db, messaging }) });
  let closing: Promise<void> | undefined;
  // Stop taking events first, then let the senders finish the batch in hand; what is left stays
  // pending in the delivery log for the next start.
  const close = async () => {
    http.setDraining();
    await consumer.stop();
    for (const d of Object.values(dispatchers)) await d.stop();
    transport?.close();
    await http.app.close();
  };
  return { http, dispatchers, close: () => (closing ??= close()) };
}
