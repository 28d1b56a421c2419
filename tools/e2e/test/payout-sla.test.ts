import { describe, expect, it } from 'vitest';
import type { SmtpSink } from '@offramp/notifier/testing';
import { eventually } from '@offramp/kit/testing';
import { tokenFor, type System } from './system.ts';
import {
  addAccount,
  adminRequest,
  countries,
  emitOfframp,
  newTrader,
  onboard,
  settledBalance,
  minusUsdt,
  waitForStatus,
  withdraw,
  openEventStream,
  useNotifiedSystem,
  type NotifiedSystem,
} from './flows.ts';

const operatorToken = tokenFor('operator-payout-sla', { role: 'admin' });

describe('stuck-payout SLA per rail with notice (SPEI 1 ms, every other rail 1 h)', () => {
  let sys: System;
  let sink: SmtpSink;
  let notifier: NotifiedSystem['notifier'];
  let baseUrl: string;
  useNotifiedSystem({ env: { PAYOUT_SLA_MS_BY_RAIL: 'SPEI=1' } }, (started) => ({ sys, sink, notifier, baseUrl } = started));

  it("when a payout stays processing past its rail's SLA, then the trader is told once (stream and e-mail), an exception is opened, reconciliation asked and the timeline notes it; a rail within its SLA is left alone", async () => {
    const spei = countries.MX;
    const trader = newTrader();
    const holder = await onboard(sys, trader, spei.country);
    const accountId = await addAccount(sys, trader, spei, holder);
    const stream = openEventStream(baseUrl, trader);
    await stream.ready;
    const { sessionId, withdrawalId, debited } = await withdraw(sys, trader, spei, accountId);
    await waitForStatus(sys, trader, withdrawalId, 'processing');

    // A PIX payout processing at the same time, within its 1 h SLA.
    const pixTrader = newTrader();
    const pixHolder = await onboard(sys, pixTrader, countries.BR.country);
    const pixAccount = await addAccount(sys, pixTrader, countries.BR, pixHolder);
    const pix = await withdraw(sys, pixTrader, countries.BR, pixAccount);
    await waitForStatus(sys, pixTrader, pix.withdrawalId, 'processing');

    await eventually('the delay notice on the stream', () => stream.events.some((e) => e.event === 'withdrawal.delayed'));
    expect(stream.events.find((e) => e.event === 'withdrawal.delayed')!.data).toMatchObject({
      withdrawal_id: withdrawalId,
      status: 'processing',
      crypto_amount: debited,
      restored_amount: null,
      failure: null,
    });
    const exception = await eventually('the exception', async () => {
      const r = await adminRequest(sys, operatorToken, 'GET', '/exceptions?status=open&kind=payout_past_sla&limit=100');
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return (r.body!.data.exceptions as { withdrawal_id: string; exposure: string }[]).find((e) => e.withdrawal_id === withdrawalId);
    });
    expect(exception).toMatchObject({ exposure: 'none' });
    const flagged = await adminRequest(sys, operatorToken, 'GET', `/withdrawals/${withdrawalId}`);
    expect(flagged.body!.data.stuck_since, 'flagged for operators').toEqual(expect.any(String));
    const noted = await waitForStatus(sys, trader, withdrawalId, 'processing');
    expect(noted.timeline.filter((t) => t.kind === 'note' && t.reason?.startsWith('payout past its SLA'))).toHaveLength(1);
    // Reconciliation read the order at Alfred (nothing else reads it before the payout is emitted).
    await eventually('reconciliation to read the order', () =>
      sys.sandbox.state.requests.some((r) => r.method === 'GET' && r.path.includes(noted.psp_transaction_id!)),
    );

    // The payout goes through: completed, and the notice was sent once in all (stream and e-mail).
    await emitOfframp(sys, trader, sessionId, 'success');
    await waitForStatus(sys, trader, withdrawalId, 'completed');
    await eventually('completed on the stream', () => stream.events.some((e) => e.event === 'withdrawal.completed'));
    await notifier.quiet(sys);
    expect(stream.events.filter((e) => e.event === 'withdrawal.delayed')).toHaveLength(1);
    const mails = sink.messages.filter((m) => m.headers['x-offramp-withdrawal-id'] === withdrawalId);
    expect(mails.filter((m) => m.subject.includes('taking longer than usual'))).toHaveLength(1);
    expect(mails.find((m) => m.subject.includes('taking longer than usual'))!.text).toContain(`${debited} USDT stays held`);
    expect(await settledBalance(sys, trader)).toEqual({ available: minusUsdt('1000.000000', debited), held: '0.000000' });

    // The PIX payout, processing as long, is within its SLA: no notice, no exception.
    const pixView = await waitForStatus(sys, pixTrader, pix.withdrawalId, 'processing');
    expect(pixView.timeline.some((t) => t.reason?.startsWith('payout past its SLA'))).toBe(false);
    const all = await adminRequest(sys, operatorToken, 'GET', '/exceptions?status=open&kind=payout_past_sla&limit=100');
    expect((all.body!.data.exceptions as { withdrawal_id: string }[]).some((e) => e.withdrawal_id === pix.withdrawalId)).toBe(false);
    expect(sink.messages.some((m) => m.headers['x-offramp-withdrawal-id'] === pix.withdrawalId && m.subject.includes('longer'))).toBe(
      false,
    );
    stream.close();
  });
});
