import { openDatabase, startService, type Service, type ServiceDeps, type ServiceHooks } from '@offramp/kit';
import type { NotifierConfig } from './config.ts';
import { notifierConsumers } from './consumers.ts';
import { DeliveryEntity } from './deliveries/deliveries-entity.ts';
import type { DispatcherHooks } from './deliveries/dispatcher.ts';
import { createMailTransport } from './deliveries/email.ts';
import { startSenders, type Senders } from './deliveries/senders.ts';
import { migrations } from './migrations/0001-notifier.ts';
import { NotificationEntity } from './notifications/notifications-entity.ts';

export { migrations };
export { readNotifierConfig, notifierConfig, type NotifierConfig } from './config.ts';
export { withdrawalsConsumerName } from './consumers.ts';
export { notificationOf, messageOf } from './notifications/compose.ts';
export { emailOf } from './notifications/templates.ts';
export { recipientOf } from './notifications/recipient.ts';

export interface NotifierHooks extends ServiceHooks {
  /** On the senders (tests crash between send and record with them). */
  dispatch?: DispatcherHooks;
}

export interface NotifierDeps extends ServiceDeps<NotifierConfig> {
  hooks?: NotifierHooks;
}

export interface NotifierApp extends Service {
  /** The sender per channel; the e-mail one is absent when SMTP_URL is not set. */
  dispatchers: Senders;
}

export const openNotifierDatabase = (config: NotifierConfig) =>
  openDatabase({
    url: config.DATABASE_URL,
    schema: config.DB_SCHEMA,
    migrations,
    entities: [NotificationEntity, DeliveryEntity],
    poolMax: config.DB_POOL_MAX,
  });

/**
 * The notifier: the status-change consumer records deliveries, one sender loop per channel sends
 * them. On close the consumer stops first, then the senders finish the batch in hand (what is left
 * stays pending in the delivery log for the next start), then the SMTP transport is closed.
 */
export async function buildNotifier(deps: NotifierDeps): Promise<NotifierApp> {
  const { config, log } = deps;
  let dispatchers: Senders = {};
  const service = await startService('notifier', deps, ({ metrics }) => {
    const transport = config.SMTP_URL ? createMailTransport({ ...config, SMTP_URL: config.SMTP_URL }) : null;
    if (!transport) log.warn('e-mail channel off: SMTP_URL is not set; e-mail deliveries are logged as skipped');
    dispatchers = startSenders({ ...deps, metrics, transport, hooks: deps.hooks?.dispatch });
    const senders = Object.values(dispatchers);
    return {
      consumers: notifierConsumers(config),
      loops: senders,
      // The deliveries are committed now: send them without waiting for the next poll.
      afterConsume: () => {
        for (const s of senders) s.wake();
      },
      release: () => transport?.close(),
    };
  });
  return { ...service, dispatchers };
}
