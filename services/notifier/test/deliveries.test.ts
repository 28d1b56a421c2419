import { describe, expect, it } from 'vitest';
import { inAppEnvelope, inAppSubject, streams } from '@offramp/contracts';
import type { Messaging } from '@offramp/kit';
import { eventually, testLogger } from '@offramp/kit/testing';
import { z } from 'zod';
import { buildNotifier } from '../src/app.ts';
import { change, notifierPerTest } from './harness.ts';

describe('notifier deliveries (SMTP failures, crashes, replicas, HTTP)', () => {
  const notifiers = notifierPerTest();
  const start = notifiers.withSmtp;

  it('when the SMTP server answers 451 twice, then the e-mail is retried and sent once on the third attempt', async () => {
    const { notifier, sink } = await start();
    sink.refuseNext(2, 451);
    const w = change({ to: 'completed', from: 'processing' });
    await notifier.publishChange(w);
    await eventually('the e-mail', () => sink.messages.length === 1);
    await eventually('the log', async () => (await notifier.deliveries(w.withdrawalId)).every((d) => d.status === 'sent'));
    expect(sink.refused()).toBe(2);
    const [, email] = await notifier.deliveries(w.withdrawalId);
    expect(email).toMatchObject({ channel: 'email', status: 'sent', attempts: 3, last_error: null });
  });

  it('when the SMTP server refuses the recipient for good (550), then the e-mail is logged failed with the reason and the in-app still goes out', async () => {
    const { notifier, sink } = await start();
    sink.refuseNext(1, 550, 'no such mailbox');
    const w = change({ to: 'rejected', from: 'processing' });
    const inbox = notifier.listen(w.traderId);
    await notifier.publishChange(w);
    await eventually('the failure', async () => (await notifier.deliveries(w.withdrawalId))[1]?.status === 'failed');
    await eventually('the push', () => inbox.length === 1);
    const [inApp, email] = await notifier.deliveries(w.withdrawalId);
    expect(inApp).toMatchObject({ channel: 'in_app', status: 'sent', attempts: 1 });
    expect(email).toMatchObject({ channel: 'email', status: 'failed', attempts: 1 });
    expect(email!.last_error).toContain('no such mailbox');
    await notifier.quiet();
    expect(sink.messages).toHaveLength(0);
  });

  it('when the SMTP server keeps failing, then the e-mail is given up as failed after DELIVERY_MAX_ATTEMPTS', async () => {
    const { notifier, sink } = await start({ env: { DELIVERY_MAX_ATTEMPTS: '3', DELIVERY_RETRY_BASE_MS: '50' } });
    sink.refuseNext(10, 421, 'service not available');
    const w = change({ to: 'completed', from: 'processing' });
    await notifier.publishChange(w);
    await eventually('the give-up', async () => (await notifier.deliveries(w.withdrawalId))[1]?.status === 'failed');
    const [, email] = await notifier.deliveries(w.withdrawalId);
    expect(email).toMatchObject({ status: 'failed', attempts: 3 });
    expect(email!.last_error).toContain('service not available');
    await notifier.quiet();
    expect(sink.refused()).toBe(3);
    expect(sink.messages).toHaveLength(0);
  });

  it('when the sender crashes after the SMTP server accepted and before recording it, then after the lease the same message (same Message-ID) is sent again and logged sent', async () => {
    let crashes = 1;
    const { notifier, sink } = await start({
      env: { DELIVERY_LEASE_MS: '700' },
      dispatch: {
        afterSend: (d) => {
          if (d.channel === 'email' && crashes-- > 0) throw new Error('simulated crash between send and record');
        },
      },
    });
    const w = change({ to: 'completed', from: 'processing' });
    await notifier.publishChange(w);
    await eventually('the resend after the lease', () => sink.messages.length === 2);
    await eventually('the log', async () => (await notifier.deliveries(w.withdrawalId))[1]?.status === 'sent');
    const [first, second] = sink.messages;
    expect(second!.messageId).toBe(first!.messageId);
    expect(second!.text).toBe(first!.text);
    expect(second!.headers.date).toBe(first!.headers.date);
    const [, email] = await notifier.deliveries(w.withdrawalId);
    expect(email).toMatchObject({ status: 'sent', attempts: 2, message_id: first!.messageId });
  });

  it('when SMTP_URL is not set, then e-mails are logged as skipped and the in-app notification is sent', async () => {
    const notifier = await notifiers.withoutSmtp();
    const w = change({ to: 'processing' });
    const inbox = notifier.listen(w.traderId);
    await notifier.publishChange(w);
    await eventually('the push', () => inbox.length === 1);
    await eventually('the log', async () => (await notifier.deliveries(w.withdrawalId))[0]?.status === 'sent');
    expect(notifier.app.dispatchers.email).toBeUndefined();
    expect((await notifier.deliveries(w.withdrawalId)).map((d) => [d.channel, d.status, d.last_error])).toEqual([
      ['in_app', 'sent', null],
      ['email', 'skipped', 'e-mail channel off: SMTP_URL is not set'],
    ]);
  });

  /** What the NOTIFICATIONS stream keeps on a trader's subject, in order, with each message's msgID. */
  async function kept(messaging: Messaging, traderId: string) {
    const stream = messaging.streamName(streams.notifications.name);
    const subject = messaging.wire(inAppSubject(traderId));
    const { state } = await messaging.jsm.streams.info(stream);
    const out: { seq: number; msgId: string | undefined; notificationId: string }[] = [];
    for (let seq = state.first_seq; seq > 0 && seq <= state.last_seq; seq++) {
      const m = await messaging.jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (m?.subject !== subject) continue;
      out.push({ seq, msgId: m.header?.get('Nats-Msg-Id'), notificationId: inAppEnvelope.parse(m.json()).payload.notificationId });
    }
    return out;
  }

  it('when an in-app notification is sent, then it is stored in the NOTIFICATIONS stream (for SSE resumption) with the notification id as msgID, and logged sent with its sequence', async () => {
    const notifier = await notifiers.withoutSmtp();
    const w = change({ to: 'processing' });
    const inbox = notifier.listen(w.traderId);
    await notifier.publishChange(w);
    await eventually('the push', () => inbox.length === 1);
    await eventually('the log', async () => (await notifier.deliveries(w.withdrawalId))[0]?.status === 'sent');
    const notificationId = inbox[0]!.payload.notificationId;
    expect(await kept(notifier.messaging, w.traderId)).toEqual([{ seq: expect.any(Number), msgId: notificationId, notificationId }]);
    const [response] = await notifier.rows(
      z.object({ response: z.string().nullable() }),
      `select d.response from deliveries d join notifications n on n.id = d.notification_id where n.withdrawal_id = ? and d.channel = 'in_app'`,
      [w.withdrawalId],
    );
    expect(response?.response).toMatch(new RegExp(`^${notifier.messaging.streamName(streams.notifications.name)} seq \\d+$`));
  });

  it('when the in-app sender crashes after the stream stored the notification and before recording it, then it is published again after the lease with the same msgID and the stream keeps it once', async () => {
    let crashes = 1;
    const notifier = await notifiers.withoutSmtp({
      env: { DELIVERY_LEASE_MS: '700' },
      dispatch: {
        afterSend: (d) => {
          if (d.channel === 'in_app' && crashes-- > 0) throw new Error('simulated crash between send and record');
        },
      },
    });
    const w = change({ to: 'completed', from: 'processing' });
    const inbox = notifier.listen(w.traderId);
    await notifier.publishChange(w);
    await eventually('the publish again after the lease', () => inbox.length === 2);
    await eventually('the log', async () => (await notifier.deliveries(w.withdrawalId))[0]?.status === 'sent');
    expect(inbox[1]!.payload.notificationId).toBe(inbox[0]!.payload.notificationId);
    const [inApp] = await notifier.deliveries(w.withdrawalId);
    expect(inApp).toMatchObject({ channel: 'in_app', status: 'sent', attempts: 2 });
    expect((await kept(notifier.messaging, w.traderId)).map((m) => m.notificationId)).toEqual([inbox[0]!.payload.notificationId]);
  });

  it('when the NOTIFICATIONS stream is missing, then the in-app delivery is retried, and sent once the stream exists again', async () => {
    const notifier = await notifiers.withoutSmtp({ env: { DELIVERY_RETRY_BASE_MS: '50' } });
    const stream = notifier.messaging.streamName(streams.notifications.name);
    const config = (await notifier.messaging.jsm.streams.info(stream)).config;
    await notifier.messaging.jsm.streams.delete(stream);
    const w = change({ to: 'processing' });
    await notifier.publishChange(w);
    await eventually(
      'a failed attempt',
      async () =>
        ((await notifier.deliveries(w.withdrawalId))[0]?.attempts ?? 0) >= 1 &&
        (await notifier.deliveries(w.withdrawalId))[0]?.last_error !== null,
    );
    const [waiting] = await notifier.deliveries(w.withdrawalId);
    expect(waiting).toMatchObject({ channel: 'in_app', status: expect.stringMatching(/^(pending|sending)$/) });
    await notifier.messaging.jsm.streams.add(config);
    await eventually('the delivery', async () => (await notifier.deliveries(w.withdrawalId))[0]?.status === 'sent');
    expect(await kept(notifier.messaging, w.traderId)).toHaveLength(1);
  });

  it('when two replicas share the work, then every status change gives exactly one e-mail and one push', async () => {
    const { notifier, sink } = await start();
    const replica = await buildNotifier({
      config: notifier.config,
      db: notifier.db,
      messaging: notifier.messaging,
      log: testLogger('notifier-2'),
    });
    try {
      const traderId = 'trader-replicas';
      const inbox = notifier.listen(traderId);
      const changes = Array.from({ length: 10 }, () => change({ traderId, to: 'processing' })).flatMap((w) => [
        w,
        { ...w, from: 'processing' as const, to: 'completed' as const },
      ]);
      for (const c of changes) await notifier.publishChange(c);
      await eventually(
        () => `20 e-mails (got ${sink.messages.length})`,
        () => sink.messages.length >= 20 && inbox.length >= 20,
      );
      await notifier.quiet(replica);
      expect(sink.messages).toHaveLength(20);
      expect(new Set(sink.messages.map((m) => m.messageId)).size).toBe(20);
      expect(inbox).toHaveLength(20);
      const statuses = await notifier.rows(
        z.object({ channel: z.string(), status: z.string(), n: z.number() }),
        'select channel, status, count(*)::int as n from deliveries group by channel, status order by channel',
      );
      expect(statuses).toEqual([
        { channel: 'email', status: 'sent', n: 20 },
        { channel: 'in_app', status: 'sent', n: 20 },
      ]);
    } finally {
      await replica.close();
    }
  });

  it('when health, readiness and metrics are asked, then they answer with the database and NATS checks and the delivery counters', async () => {
    const { notifier } = await start();
    const w = change({ to: 'processing' });
    await notifier.publishChange(w);
    await eventually('the deliveries', async () => (await notifier.deliveries(w.withdrawalId)).every((d) => d.status === 'sent'));
    const health = await notifier.app.http.app.inject({ url: '/healthz' });
    expect(health.statusCode).toBe(200);
    const ready = await notifier.app.http.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().data).toEqual({ status: 'ready', checks: { nats: 'ok', database: 'ok' } });
    const sent = /notifications_delivered_total\{[^}]*channel="email"[^}]*outcome="sent"[^}]*\} 1/;
    const handled = /messages_handled_total\{[^}]*consumer="notifier-withdrawals"[^}]*result="handled"[^}]*\} 1/;
    let body = '';
    await eventually('the counters', async () => {
      body = (await notifier.app.http.app.inject({ url: '/metrics' })).body;
      return sent.test(body) && handled.test(body);
    });
    expect(body).toMatch(/notifications_delivered_total\{[^}]*channel="in_app"[^}]*outcome="sent"[^}]*\} 1/);
  });
});
