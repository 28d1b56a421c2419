import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { SmtpSink } from '@offramp/notifier/testing';
import { queryRows } from '@offramp/kit';
import { eventually } from '@offramp/kit/testing';
import { z } from 'zod';
import { tokenFor, type System } from './system.ts';
import { assertConforms } from './conformance.ts';
import {
  addAccount,
  countries,
  emitOfframp,
  newTrader,
  onboard,
  useNotifiedSystem,
  waitForStatus,
  withdraw,
  type NotifiedSystem,
} from './flows.ts';

interface SseEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

/** A trader's live SSE stream over real HTTP: the events as they arrive (the answer's status and headers checked against the OpenAPI document). */
async function openStream(sys: System, baseUrl: string, trader: string) {
  const events: SseEvent[] = [];
  let raw = '';
  let buffer = '';
  const req = httpRequest(`${baseUrl}/psp/alfred/events`, { headers: { authorization: `Bearer ${tokenFor(trader)}` } });
  const status = await new Promise<number>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      try {
        assertConforms(
          sys.conformance,
          'GET',
          '/psp/alfred/events',
          { statusCode: res.statusCode ?? 0, headers: res.headers, body: '' },
          {},
        );
      } catch (err) {
        reject(err);
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        buffer += chunk;
        for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
          const fields = Object.fromEntries(
            buffer
              .slice(0, i)
              .split('\n')
              .filter((l) => !l.startsWith(':'))
              .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
          );
          buffer = buffer.slice(i + 2);
          if (fields.event && fields.id && fields.data) events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) });
        }
      });
      resolve(res.statusCode ?? 0);
    });
    req.end();
  });
  return { status, events, raw: () => raw, close: () => void req.destroy() };
}

describe('notifications end to end (sessions -> notifier -> NATS -> gateway SSE, and SMTP)', () => {
  let sys: System;
  let sink: SmtpSink;
  let notifier: NotifiedSystem['notifier'];
  let baseUrl: string;
  useNotifiedSystem({}, (started) => ({ sys, sink, notifier, baseUrl } = started));

  const mailsOf = (withdrawalId: string) => sink.messages.filter((m) => m.headers['x-offramp-withdrawal-id'] === withdrawalId);

  it("when a trader's withdrawal completes, then their stream gets processing then completed, another trader's stream gets nothing, and one e-mail per event", async () => {
    const c = countries.BR;
    const trader = newTrader();
    const other = newTrader();
    const holder = await onboard(sys, trader, c.country);
    const accountId = await addAccount(sys, trader, c, holder);
    const mine = await openStream(sys, baseUrl, trader);
    const theirs = await openStream(sys, baseUrl, other);
    expect([mine.status, theirs.status]).toEqual([200, 200]);

    const { sessionId, withdrawalId, debited } = await withdraw(sys, trader, c, accountId);
    await waitForStatus(sys, trader, withdrawalId, 'processing');
    await emitOfframp(sys, trader, sessionId, 'success');
    await waitForStatus(sys, trader, withdrawalId, 'completed');

    await eventually('both notifications on the stream', () => mine.events.length >= 2);
    expect(mine.events.map((e) => e.event)).toEqual(['withdrawal.processing', 'withdrawal.completed']);
    for (const e of mine.events) {
      expect(e.data).toMatchObject({
        notification_id: e.id,
        withdrawal_id: withdrawalId,
        crypto_amount: debited,
        crypto_currency: 'USDT',
        fiat_amount: c.amount,
        fiat_currency: c.currency,
        restored_amount: null,
      });
    }
    expect(mine.events.map((e) => e.data.status)).toEqual(['processing', 'completed']);
    expect(mine.events[0]!.data.message).toContain('being sent to your bank');

    await eventually('one e-mail per event', () => mailsOf(withdrawalId).length >= 2);
    // Nothing more can be sent: every event handled, every delivery final, one more sender pass.
    // The sweeper and the reconciler leave a completed withdrawal alone, so no timer adds an event.
    await notifier.quiet(sys);
    const mails = mailsOf(withdrawalId);
    expect(mails.map((m) => m.subject)).toEqual([
      `Your withdrawal of ${c.amount} ${c.currency} is on its way to your bank`,
      `Your withdrawal of ${c.amount} ${c.currency} is complete`,
    ]);
    expect(mails.every((m) => m.to.length === 1 && m.to[0] === `trader+${trader}@example.test`)).toBe(true);
    expect(mails[1]!.text).toContain(`${debited} USDT`);
    expect(mine.events).toHaveLength(2);
    expect(theirs.events).toEqual([]);
    expect(theirs.raw()).not.toContain(withdrawalId);
    expect(sink.messages.filter((m) => m.to.includes(`trader+${other}@example.test`))).toEqual([]);
    mine.close();
    theirs.close();
  });

  it('when Alfred fails the offramp, then the stream gets withdrawal.rejected with the restored amount and exactly one e-mail says so', async () => {
    const c = countries.MX;
    const trader = newTrader();
    const holder = await onboard(sys, trader, c.country);
    const accountId = await addAccount(sys, trader, c, holder);
    const stream = await openStream(sys, baseUrl, trader);
    const { sessionId, withdrawalId, debited } = await withdraw(sys, trader, c, accountId);
    await waitForStatus(sys, trader, withdrawalId, 'processing');
    await emitOfframp(sys, trader, sessionId, 'failure');
    await waitForStatus(sys, trader, withdrawalId, 'rejected');

    await eventually('the rejection on the stream', () => stream.events.some((e) => e.event === 'withdrawal.rejected'));
    const rejected = stream.events.find((e) => e.event === 'withdrawal.rejected')!;
    expect(rejected.data).toMatchObject({
      withdrawal_id: withdrawalId,
      status: 'rejected',
      restored_amount: debited,
      crypto_amount: debited,
    });
    expect(rejected.data.message).toBe(
      `Your withdrawal of ${c.amount} ${c.currency} could not be completed. ${debited} USDT was returned to your available balance.`,
    );
    await eventually('the rejection e-mail', () => mailsOf(withdrawalId).some((m) => m.subject.includes('could not be completed')));
    // As above: nothing more can be sent, and no timer touches a rejected withdrawal.
    await notifier.quiet(sys);
    const rejections = mailsOf(withdrawalId).filter((m) => m.subject.includes('could not be completed'));
    expect(rejections).toHaveLength(1);
    expect(rejections[0]!.text).toMatch(new RegExp(`Returned to your balance:\\s+${debited.replace('.', '\\.')} USDT`));
    expect(mailsOf(withdrawalId)).toHaveLength(2);
    const log = await queryRows(
      notifier.db.em.fork(),
      z.object({ kind: z.string(), channel: z.string(), status: z.string(), attempts: z.number() }),
      'select n.kind, d.channel, d.status, d.attempts from deliveries d join notifications n on n.id = d.notification_id where n.withdrawal_id = ? order by d.id',
      [withdrawalId],
    );
    expect(log).toEqual([
      { kind: 'withdrawal.processing', channel: 'in_app', status: 'sent', attempts: 1 },
      { kind: 'withdrawal.processing', channel: 'email', status: 'sent', attempts: 1 },
      { kind: 'withdrawal.rejected', channel: 'in_app', status: 'sent', attempts: 1 },
      { kind: 'withdrawal.rejected', channel: 'email', status: 'sent', attempts: 1 },
    ]);
    stream.close();
  });
});
