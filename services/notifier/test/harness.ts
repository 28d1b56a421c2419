import { afterEach } from 'vitest';
import { makeEnvelope, newId } from '@offramp/kit';
import { eventually, startTestService, waitUntilQuiet } from '@offramp/kit/testing';
import { inAppEnvelope, inAppSubject, withdrawalEvents, type Envelope } from '@offramp/contracts';
import { z } from 'zod';
import { buildNotifier, openNotifierDatabase, type NotifierApp, type NotifierHooks } from '../src/app.ts';
import { readNotifierConfig } from '../src/config.ts';
import { startSmtpSink, type SmtpSink } from './smtp-sink.ts';

export type StatusChange = z.output<typeof withdrawalEvents.statusChanged.payload>;
export type InApp = z.output<typeof inAppEnvelope>;
export type TestNotifier = Awaited<ReturnType<typeof startTestNotifier>>;

/** A status change as sessions publishes it: 20.049116 USDT for 100.00 BRL unless overridden. */
export function change(overrides: Partial<StatusChange> = {}): StatusChange {
  const to = overrides.to ?? 'processing';
  return {
    withdrawalId: newId(),
    traderId: `trader-${newId()}`,
    from: 'approved',
    to,
    actor: 'system',
    reason: null,
    debitedMinor: 20_049_116n,
    fiatAmount: '100.00',
    fiatCurrency: 'BRL',
    restoredMinor: to === 'rejected' ? 20_049_116n : null,
    ...overrides,
  };
}

/** A row of the delivery log, as the tests read it. */
const deliveryRow = z.object({
  channel: z.string(),
  status: z.string(),
  attempts: z.number(),
  recipient: z.string(),
  last_error: z.string().nullable(),
  message_id: z.string().nullable(),
  event_id: z.string(),
});

type Options = NotifierHooks & { env?: Record<string, string> };

/** A notifier on its own schema and NATS namespace, against the real Postgres and NATS. */
export async function startTestNotifier(opts: Options = {}) {
  const { env, ...hooks } = opts;
  const notifier = await startTestService({
    name: 'notifier',
    readConfig: readNotifierConfig,
    env: { DB_POOL_MAX: '5', DELIVERY_POLL_MS: '100', DELIVERY_RETRY_BASE_MS: '100', ...env },
    openDatabase: openNotifierDatabase,
    build: buildNotifier,
    hooks,
  });
  const { db, messaging } = notifier;
  const subscriptions: { unsubscribe(): void }[] = [];
  const cleanup = notifier.cleanup;

  return Object.assign(notifier, {
    /** The delivery log of a withdrawal, in channel order. */
    deliveries(withdrawalId: string) {
      return notifier.rows(
        deliveryRow,
        `select d.channel, d.status, d.attempts, d.recipient, d.last_error, d.message_id, d.event_id
         from deliveries d join notifications n on n.id = d.notification_id where n.withdrawal_id = ? order by d.id`,
        [withdrawalId],
      );
    },
    /** Publishes a real `evt.withdrawals.status-changed.v1` envelope, as sessions' outbox relay would. */
    async publishChange(payload: StatusChange, envelope?: Envelope<unknown>, msgID?: string): Promise<Envelope<unknown>> {
      const env =
        envelope ?? makeEnvelope(withdrawalEvents.statusChanged, payload, { correlationId: payload.withdrawalId, traceId: newId() });
      await messaging.js.publish(messaging.wire(withdrawalEvents.statusChanged.subject), JSON.stringify(env), { msgID: msgID ?? env.id });
      return env;
    },
    /** Collects the in-app notifications published for a trader from now on, as a gateway would receive them. */
    listen(traderId: string): InApp[] {
      const received: InApp[] = [];
      const sub = messaging.nc.subscribe(messaging.wire(inAppSubject(traderId)), {
        callback: (_err, msg) => void received.push(inAppEnvelope.parse(msg.json())),
      });
      subscriptions.push(sub);
      return received;
    },
    /**
     * Waits until nothing more can be sent, so "nothing more happened" can be asserted: every event
     * handled, every delivery in a final state (sent, failed or skipped: no sender claims it again),
     * then one more pass of every sender (of this app and of the given replicas), the same pass
     * their poll timer runs, and a NATS round trip so a push published by then has been received.
     */
    async quiet(...replicas: NotifierApp[]) {
      await waitUntilQuiet({ databases: [db], messaging });
      await eventually(
        'every delivery in a final state',
        async () => (await notifier.rows(z.unknown(), "select 1 from deliveries where status in ('pending', 'sending')")).length === 0,
      );
      for (const a of [notifier.app, ...replicas]) for (const d of Object.values(a.dispatchers)) await d.flush();
      await messaging.nc.flush();
    },
    async cleanup() {
      for (const s of subscriptions) s.unsubscribe();
      await cleanup();
    },
  });
}

/**
 * The notifiers of a describe block's tests, each one stopped after its test (with its SMTP sink):
 * `withSmtp` sends e-mail to a sink of its own, `withoutSmtp` has the e-mail channel off.
 */
export function notifierPerTest() {
  let notifier: TestNotifier | undefined;
  let sink: SmtpSink | undefined;
  afterEach(async () => {
    await notifier?.cleanup();
    await sink?.close();
    notifier = undefined;
    sink = undefined;
  });
  return {
    async withSmtp(opts: Options = {}) {
      sink = await startSmtpSink();
      notifier = await startTestNotifier({ ...opts, env: { SMTP_URL: sink.url, ...opts.env } });
      return { notifier, sink };
    },
    async withoutSmtp(opts: Options = {}) {
      notifier = await startTestNotifier(opts);
      return notifier;
    },
  };
}
