import { describe, expect, it } from 'vitest';
import { makeEnvelope, newId } from '@offramp/kit';
import { eventually } from '@offramp/kit/testing';
import { withdrawalEvents } from '@offramp/contracts';
import { z } from 'zod';
import { withdrawalsConsumerName } from '../src/app.ts';
import { change, notifierPerTest } from './harness.ts';
import type { SmtpSink } from './smtp-sink.ts';

describe('notifier on withdrawals.status-changed', () => {
  const start = notifierPerTest().withSmtp;

  const mailsTo = (s: SmtpSink, withdrawalId: string) => s.messages.filter((m) => m.headers['x-offramp-withdrawal-id'] === withdrawalId);

  it('when a withdrawal goes to processing then completed, then the trader gets both in-app notifications in order and one e-mail each', async () => {
    const { notifier, sink } = await start();
    const processing = change({ to: 'processing' });
    const completed = { ...processing, from: 'processing' as const, to: 'completed' as const, actor: 'alfred' };
    const inbox = notifier.listen(processing.traderId);
    const first = await notifier.publishChange(processing);
    await notifier.publishChange(completed);

    await eventually('two e-mails and two pushes', () => mailsTo(sink, processing.withdrawalId).length === 2 && inbox.length === 2);
    expect(inbox.map((m) => m.payload)).toEqual([
      expect.objectContaining({
        kind: 'withdrawal.processing',
        status: 'processing',
        withdrawalId: processing.withdrawalId,
        traderId: processing.traderId,
        debitedMinor: 20_049_116n,
      }),
      expect.objectContaining({
        kind: 'withdrawal.completed',
        status: 'completed',
        fiatAmount: '100.00',
        fiatCurrency: 'BRL',
        restoredMinor: null,
      }),
    ]);
    expect(inbox[0]).toMatchObject({
      type: 'notifications.in-app',
      correlationId: processing.withdrawalId,
      causationId: first.id,
      traceId: first.traceId,
    });
    const [mail1, mail2] = mailsTo(sink, processing.withdrawalId);
    expect(mail1!.to).toEqual([`trader+${processing.traderId}@example.test`]);
    expect(mail1!.subject).toBe('Your withdrawal of 100.00 BRL is on its way to your bank');
    expect(mail1!.text).toContain('20.049116 USDT');
    expect(mail2!.subject).toBe('Your withdrawal of 100.00 BRL is complete');
    expect(mail2!.html).toContain('<strong>100.00 BRL</strong>');
    await eventually('the log to show every delivery sent', async () =>
      (await notifier.deliveries(processing.withdrawalId)).every((d) => d.status === 'sent'),
    );
    const log = await notifier.deliveries(processing.withdrawalId);
    expect(log.map((d) => [d.channel, d.status, d.attempts, d.last_error])).toEqual([
      ['in_app', 'sent', 1, null],
      ['email', 'sent', 1, null],
      ['in_app', 'sent', 1, null],
      ['email', 'sent', 1, null],
    ]);
    expect(log[1]!.message_id).toBe(mail1!.messageId);
  });

  it('when a withdrawal is rejected, then the notification and the e-mail carry the restored USDT', async () => {
    const { notifier, sink } = await start();
    const rejected = change({
      from: 'processing',
      to: 'rejected',
      actor: 'alfred',
      reason: 'QA_SIMULATED_FAILURE',
      restoredMinor: 7_500_000n,
    });
    const inbox = notifier.listen(rejected.traderId);
    await notifier.publishChange(rejected);
    await eventually('the e-mail and the push', () => mailsTo(sink, rejected.withdrawalId).length === 1 && inbox.length === 1);
    expect(inbox[0]!.payload).toMatchObject({ kind: 'withdrawal.rejected', restoredMinor: 7_500_000n });
    expect(inbox[0]!.payload.message).toBe(
      'Your withdrawal of 100.00 BRL could not be completed. 7.500000 USDT was returned to your available balance.',
    );
    const [mail] = mailsTo(sink, rejected.withdrawalId);
    expect(mail!.subject).toBe('Your withdrawal of 100.00 BRL could not be completed: 7.500000 USDT returned');
    expect(mail!.text).toMatch(/Returned to your balance:\s+7\.500000 USDT/);
    expect(mail!.html).toContain('7.500000 USDT');
    expect(mail!.text).not.toContain('QA_SIMULATED_FAILURE');
  });

  it('when the same envelope is published twice under different message ids, then one notification and one e-mail', async () => {
    const settled: string[] = [];
    const { notifier, sink } = await start({ consumer: { onSettled: (r) => void settled.push(r) } });
    const completed = change({ from: 'processing', to: 'completed' });
    const env = await notifier.publishChange(completed);
    await notifier.publishChange(completed, env, newId());
    await eventually('both deliveries of the event', () => settled.length === 2);
    expect(settled).toEqual(['handled', 'duplicate']);
    await eventually('the e-mail', () => mailsTo(sink, completed.withdrawalId).length === 1);
    await notifier.app.dispatchers.email!.flush();
    await notifier.quiet();
    expect(mailsTo(sink, completed.withdrawalId)).toHaveLength(1);
    expect(await notifier.rows(z.unknown(), 'select 1 from notifications where event_id = ?', [env.id])).toHaveLength(1);
    expect((await notifier.deliveries(completed.withdrawalId)).map((d) => [d.channel, d.event_id])).toEqual([
      ['in_app', env.id],
      ['email', env.id],
    ]);
  });

  it('when JetStream redelivers after a crash between commit and ack, then one notification and one e-mail', async () => {
    const settled: string[] = [];
    let crashes = 1;
    const { notifier, sink } = await start({
      consumer: {
        backoffMs: [100],
        afterCommit: () => {
          if (crashes-- > 0) throw new Error('simulated crash after commit, before ack');
        },
        onSettled: (r) => void settled.push(r),
      },
    });
    const completed = change({ from: 'processing', to: 'completed' });
    await notifier.publishChange(completed);
    await eventually('the redelivery', () => settled.includes('duplicate'));
    expect(settled).toEqual(['retry', 'duplicate']);
    await eventually('the e-mail', () => mailsTo(sink, completed.withdrawalId).length === 1);
    await notifier.quiet();
    expect(mailsTo(sink, completed.withdrawalId)).toHaveLength(1);
    expect((await notifier.deliveries(completed.withdrawalId)).map((d) => [d.channel, d.status, d.attempts])).toEqual([
      ['in_app', 'sent', 1],
      ['email', 'sent', 1],
    ]);
  });

  it('when the same status change comes again under a new event id, then nothing more is sent', async () => {
    const settled: string[] = [];
    const { notifier, sink } = await start({ consumer: { onSettled: (r) => void settled.push(r) } });
    const completed = change({ from: 'processing', to: 'completed' });
    await notifier.publishChange(completed);
    await notifier.publishChange(completed);
    await eventually('both events', () => settled.length === 2);
    expect(settled).toEqual(['handled', 'handled']);
    await eventually('the e-mail', () => mailsTo(sink, completed.withdrawalId).length === 1);
    await notifier.quiet();
    expect(mailsTo(sink, completed.withdrawalId)).toHaveLength(1);
    expect(await notifier.rows(z.unknown(), 'select 1 from notifications where withdrawal_id = ?', [completed.withdrawalId])).toHaveLength(
      1,
    );
  });

  it('when a withdrawal enters pending, approved or in_review, then nothing is recorded or sent', async () => {
    const settled: string[] = [];
    const { notifier, sink } = await start({ consumer: { onSettled: (r) => void settled.push(r) } });
    const w = change({ from: null, to: 'pending' });
    const inbox = notifier.listen(w.traderId);
    await notifier.publishChange(w);
    await notifier.publishChange({ ...w, from: 'pending', to: 'in_review', actor: 'risk' });
    await notifier.publishChange({ ...w, from: 'in_review', to: 'approved', actor: 'operator:op-1' });
    await eventually('three events', () => settled.length === 3);
    await notifier.quiet();
    expect(settled).toEqual(['handled', 'handled', 'handled']);
    expect(await notifier.rows(z.unknown(), 'select 1 from notifications')).toHaveLength(0);
    expect(await notifier.rows(z.unknown(), 'select 1 from deliveries')).toHaveLength(0);
    expect(inbox).toHaveLength(0);
    expect(sink.messages).toHaveLength(0);
  });

  it('when a withdrawal goes through its internal statuses, then only the notified ones take an inbox row (the others are acked without a transaction)', async () => {
    const settled: string[] = [];
    const { notifier } = await start({ consumer: { onSettled: (r) => void settled.push(r) } });
    const w = change({ from: null, to: 'pending' });
    const events = [
      await notifier.publishChange(w),
      await notifier.publishChange({ ...w, from: 'pending', to: 'in_review', actor: 'risk' }),
      await notifier.publishChange({ ...w, from: 'in_review', to: 'approved', actor: 'operator:op-1' }),
      await notifier.publishChange({ ...w, from: 'approved', to: 'processing', actor: 'system' }),
    ];
    await eventually('four events', () => settled.length === 4);
    await notifier.quiet();
    expect(settled).toEqual(['handled', 'handled', 'handled', 'handled']);
    const inbox = await notifier.rows(z.object({ message_id: z.string() }), 'select message_id from inbox where consumer = ?', [
      withdrawalsConsumerName,
    ]);
    expect(inbox.map((r) => r.message_id)).toEqual([events[3]!.id]);
    expect((await notifier.deliveries(w.withdrawalId)).map((d) => [d.channel, d.status])).toEqual([
      ['in_app', 'sent'],
      ['email', 'sent'],
    ]);
  });

  it('when the event is older than NOTIFY_MAX_EVENT_AGE_SECONDS, then it is logged as skipped and not sent', async () => {
    const { notifier, sink } = await start({ env: { NOTIFY_MAX_EVENT_AGE_SECONDS: '60' } });
    const stale = change({ from: 'processing', to: 'completed' });
    const inbox = notifier.listen(stale.traderId);
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const env = {
      ...makeEnvelope(withdrawalEvents.statusChanged, stale, { correlationId: stale.withdrawalId, traceId: newId() }),
      occurredAt: hourAgo,
    };
    await notifier.publishChange(stale, env);
    await eventually('the notification', async () => (await notifier.deliveries(stale.withdrawalId)).length === 2);
    await notifier.app.dispatchers.in_app!.flush();
    await notifier.app.dispatchers.email!.flush();
    await notifier.quiet();
    expect((await notifier.deliveries(stale.withdrawalId)).map((d) => [d.channel, d.status, d.attempts, d.event_id])).toEqual([
      ['in_app', 'skipped', 0, env.id],
      ['email', 'skipped', 0, env.id],
    ]);
    expect(inbox).toHaveLength(0);
    expect(mailsTo(sink, stale.withdrawalId)).toHaveLength(0);
  });
});
