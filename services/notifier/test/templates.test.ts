import { describe, expect, it } from 'vitest';
import { failureMessage, inAppSubject, type InAppNotification } from '@offramp/contracts';
import { emailOf } from '../src/notifications/templates.ts';
import { delayedNotificationOf, notificationOf } from '../src/notifications/compose.ts';
import { messageIdOf, recipientOf } from '../src/notifications/recipient.ts';
import { retryAt } from '../src/deliveries/dispatcher.ts';
import { change } from './harness.ts';

const at = { notificationId: '0190a5d2-0000-7000-8000-000000000001', occurredAt: '2030-01-01T12:00:00.000Z' };

function notified(overrides: Parameters<typeof change>[0]): InAppNotification {
  const n = notificationOf(change(overrides), at);
  if (!n) throw new Error('expected a notification');
  return n;
}

describe('notification content', () => {
  it('when a withdrawal enters processing, then the trader is told it is being sent to the bank, with both amounts', () => {
    const n = notified({ to: 'processing', debitedMinor: 20_049_116n, fiatAmount: '100.00', fiatCurrency: 'BRL' });
    expect(n).toMatchObject({ kind: 'withdrawal.processing', status: 'processing', restoredMinor: null, occurredAt: at.occurredAt });
    expect(n.message).toBe('Your withdrawal of 100.00 BRL (20.049116 USDT) is being sent to your bank.');
    const mail = emailOf(n);
    expect(mail.subject).toBe('Your withdrawal of 100.00 BRL is on its way to your bank');
    expect(mail.text).toBe(
      [
        'Your withdrawal is on its way to your bank',
        '',
        'Your withdrawal of 100.00 BRL (20.049116 USDT) is being sent to your bank.',
        '',
        'Status:              Sending to bank',
        'Amount to your bank: 100.00 BRL',
        'USDT debited:        20.049116 USDT',
        `Withdrawal:          ${n.withdrawalId}`,
        '',
        'This is an automatic message about a withdrawal from your Offramp account. If you did not ask for it, contact support.',
        '',
      ].join('\n'),
    );
    expect(mail.html).toContain('<h1 style="font-size:20px">Your withdrawal is on its way to your bank</h1>');
    expect(mail.html).toContain('<strong>20.049116 USDT</strong>');
    expect(mail.html).toContain('<strong>100.00 BRL</strong>');
  });

  it('when a withdrawal completes, then the e-mail says so with the fiat amount and the USDT debited', () => {
    const n = notified({ from: 'processing', to: 'completed', debitedMinor: 1_000_000n, fiatAmount: '1000.00', fiatCurrency: 'MXN' });
    expect(n.message).toBe('Your withdrawal of 1000.00 MXN is complete: the money was sent to your bank account (1.000000 USDT debited).');
    const mail = emailOf(n);
    expect(mail.subject).toBe('Your withdrawal of 1000.00 MXN is complete');
    expect(mail.text).toContain('Status:              Completed');
    expect(mail.text).not.toContain('Returned');
    expect(mail.html).toContain('<strong>Completed</strong>');
  });

  it('when a withdrawal is rejected, then the restored USDT is in the message, the subject, the text and the HTML', () => {
    const n = notified({
      from: 'processing',
      to: 'rejected',
      debitedMinor: 5n,
      restoredMinor: 5n,
      reason: 'kyt_blocked',
      fiatAmount: '20000.00',
      fiatCurrency: 'ARS',
    });
    expect(n).toMatchObject({ kind: 'withdrawal.rejected', restoredMinor: 5n });
    expect(n.message).toBe('Your withdrawal of 20000.00 ARS could not be completed. 0.000005 USDT was returned to your available balance.');
    const mail = emailOf(n);
    expect(mail.subject).toBe('Your withdrawal of 20000.00 ARS could not be completed: 0.000005 USDT returned');
    expect(mail.text).toContain('Returned to your balance: 0.000005 USDT');
    expect(mail.html).toContain(
      '<th align="left" style="padding:4px 12px 4px 0;font-weight:normal;color:#555">Returned to your balance</th><td style="padding:4px 0"><strong>0.000005 USDT</strong></td>',
    );
    expect(`${n.message}${mail.subject}${mail.text}${mail.html}`).not.toContain('kyt_blocked');
  });

  it('when a rejection carries no restored amount, then the whole debit is reported as restored (a rejection voids the hold in full)', () => {
    const n = notified({ from: 'pending', to: 'rejected', debitedMinor: 12_345_678n, restoredMinor: null });
    expect(n.restoredMinor).toBe(12_345_678n);
    expect(n.message).toContain('12.345678 USDT was returned');
  });

  it('when the status is pending, in_review or approved, then there is no notification', () => {
    for (const to of ['pending', 'in_review', 'approved'] as const) expect(notificationOf(change({ to }), at)).toBeNull();
  });

  it('when a value holds HTML, then the HTML part escapes it', () => {
    const n = { ...notified({ to: 'completed' }), fiatAmount: '<script>alert(1)</script>', message: 'a & b' };
    const mail = emailOf(n);
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(mail.html).toContain('<p>a &amp; b</p>');
  });
});

describe('addresses and subjects', () => {
  it('when a trader id has characters unsafe in an address or a subject, then they are encoded and ids never collide', () => {
    expect(recipientOf('trader+{traderId}@example.test', 'trader-42')).toBe('trader+trader-42@example.test');
    expect(recipientOf('{traderId}@mail.example.test', 'a.b@c:d')).toBe('a=2Eb=40c=3Ad@mail.example.test');
    expect(recipientOf('{traderId}@x.test', 'a.b')).not.toBe(recipientOf('{traderId}@x.test', 'a=2Eb'));
    expect(inAppSubject('trader-42')).toBe('notify.v1.user.trader-42');
    expect(inAppSubject('a.b')).toBe('notify.v1.user.a%2Eb');
    expect(inAppSubject('a.*>')).toBe('notify.v1.user.a%2E%2A%3E');
    expect(inAppSubject('a%2Eb')).not.toBe(inAppSubject('a.b'));
  });

  it('when a Message-ID is made, then it is stable per notification and uses the sender domain', () => {
    expect(messageIdOf(at.notificationId, 'Offramp <notifications@mail.example.test>')).toBe(
      `<${at.notificationId}.email@mail.example.test>`,
    );
    expect(messageIdOf(at.notificationId, 'no-reply@example.test')).toBe(`<${at.notificationId}.email@example.test>`);
  });

  it('when attempts fail, then retries back off exponentially up to five minutes and stop at the maximum', () => {
    const now = new Date('2030-01-01T00:00:00.000Z');
    const opts = { maxAttempts: 12, retryBaseMs: 1_000 };
    expect(retryAt(now, 1, opts)?.getTime()).toBe(now.getTime() + 1_000);
    expect(retryAt(now, 3, opts)?.getTime()).toBe(now.getTime() + 4_000);
    expect(retryAt(now, 11, opts)?.getTime()).toBe(now.getTime() + 300_000);
    expect(retryAt(now, 12, opts)).toBeNull();
  });
});

describe('payout failure in the notification', () => {
  it('when the partner failed the payout, then the notification and its e-mail carry the class and the message in the country language', () => {
    const br = notified({ to: 'rejected', failureClass: 'account_closed', country: 'BR' });
    expect(br.failure).toEqual({ class: 'account_closed', message: failureMessage('account_closed', 'pt') });
    const mail = emailOf(br);
    expect(mail.text).toContain(failureMessage('account_closed', 'pt'));
    expect(mail.html).toContain('Sua conta bancária está encerrada.');
    const mx = notified({ to: 'rejected', failureClass: 'bank_unavailable', country: 'MX' });
    expect(mx.failure).toEqual({ class: 'bank_unavailable', message: failureMessage('bank_unavailable', 'es') });
    const us = notified({ to: 'rejected', failureClass: 'unknown', country: 'US' });
    expect(us.failure?.message).toBe(failureMessage('unknown', 'en'));
  });

  it('when a withdrawal is rejected without a partner failure, or is not rejected, then there is no failure', () => {
    expect(notified({ to: 'rejected' }).failure).toBeNull();
    expect(notified({ to: 'rejected', failureClass: null, country: 'BR' }).failure).toBeNull();
    expect(notified({ to: 'completed', failureClass: 'account_closed', country: 'BR' }).failure).toBeNull();
    expect(emailOf(notified({ to: 'rejected' })).html).not.toContain('encerrada');
  });
});

describe('payout delayed notice', () => {
  it('when a payout is past its SLA, then the notice says it is delayed with the funds held, and its e-mail says so in the subject', () => {
    const n = delayedNotificationOf(
      {
        withdrawalId: '0190a5d2-0000-7000-8000-000000000002',
        traderId: 'trader-1',
        country: 'MX',
        paymentRouteId: 'MX_SPEI',
        slaMs: 1_800_000,
        processingSince: '2030-01-01T11:00:00.000Z',
        debitedMinor: 60_071_733n,
        fiatAmount: '1000.00',
        fiatCurrency: 'MXN',
      },
      at,
    );
    expect(n).toMatchObject({ kind: 'withdrawal.delayed', status: 'processing', restoredMinor: null, failure: null });
    expect(n.message).toBe(
      'Your withdrawal of 1000.00 MXN is taking longer than usual at the bank. Your 60.071733 USDT stays held for it and we are checking with our payment partner.',
    );
    const mail = emailOf(n);
    expect(mail.subject).toBe('Your withdrawal of 1000.00 MXN is taking longer than usual');
    expect(mail.text.split('\n')[0]).toBe('Your withdrawal is taking longer than usual');
    expect(mail.text).toContain('Delayed at the bank, funds held');
  });
});
