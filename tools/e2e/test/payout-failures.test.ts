import { describe, expect, it } from 'vitest';
import type { SmtpSink } from '@offramp/notifier/testing';
import { eventually } from '@offramp/kit/testing';
import { failureAction, failureMessage, messageLanguages, type PayoutFailureClass } from '@offramp/contracts';
import { tokenFor, type System } from './system.ts';
import {
  addAccount,
  adminWithdrawal,
  balance,
  clabe,
  countries,
  minusUsdt,
  newTrader,
  onboard,
  openSession,
  settledBalance,
  waitForStatus,
  withdraw,
  openEventStream,
  useNotifiedSystem,
  processingWithdrawal,
} from './flows.ts';

const operatorToken = tokenFor('operator-payout-failures', { role: 'admin' });

/** One reason per class, as Alfred (the sandbox) sends it; the unknown one is none the table knows. */
const reasons: [PayoutFailureClass, string][] = [
  ['account_closed', 'ACCOUNT_CLOSED'],
  ['invalid_account', 'INVALID_ACCOUNT'],
  ['holder_name_mismatch', 'HOLDER_NAME_MISMATCH'],
  ['compliance_rejected', 'COMPLIANCE_REJECTED'],
  ['limit_exceeded', 'LIMIT_EXCEEDED'],
  ['bank_unavailable', 'Bank Unresponsive'],
  ['deposit_not_received', 'DEPOSIT_NOT_RECEIVED'],
  ['unknown', 'SOMETHING_ALFRED_NEVER_DOCUMENTED'],
];

interface FailureAnswer {
  status: string;
  failure: { class: string; message: string } | null;
}

/** Alfred fails the order with `reason` through the QA endpoint (its failure_reason reaches the sandbox's FAILED webhook). */
async function failWith(sys: System, trader: string, sessionId: string, reason: string) {
  const r = await sys.http('POST', '/psp/alfred/__dev/emit-offramp', {
    trader,
    dev: true,
    body: { session_id: sessionId, scenario: 'failure', failure_reason: reason },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

/**
 * Alfred fails every order of the withdrawal with `reason` until the withdrawal is rejected: once
 * for most reasons; for bank_unavailable also each re-dispatched order (PAYOUT_REDISPATCH_MAX, 2).
 */
async function failUntilRejected(sys: System, trader: string, sessionId: string, withdrawalId: string, reason: string) {
  const failed: string[] = [];
  for (;;) {
    const current = (await sys.http('GET', `/psp/alfred/withdrawals/${withdrawalId}`, { trader })).body!.data as {
      psp_transaction_id: string;
    };
    failed.push(current.psp_transaction_id);
    await failWith(sys, trader, sessionId, reason);
    const next = await eventually(`${withdrawalId} rejected or re-dispatched`, async () => {
      const w = (await sys.http('GET', `/psp/alfred/withdrawals/${withdrawalId}`, { trader })).body!.data as {
        status: string;
        psp_transaction_id: string | null;
      };
      if (w.status === 'rejected') return 'rejected';
      return w.psp_transaction_id && !failed.includes(w.psp_transaction_id) ? 'new order' : undefined;
    });
    if (next === 'rejected') return failed;
  }
}

/** The trader's withdrawal as the gateway answers it with this Accept-Language (none: the country decides). */
async function traderView(sys: System, trader: string, withdrawalId: string, acceptLanguage?: string): Promise<FailureAnswer> {
  const r = await sys.http('GET', `/psp/alfred/withdrawals/${withdrawalId}`, {
    trader,
    ...(acceptLanguage ? { headers: { 'accept-language': acceptLanguage } } : {}),
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body!.data as FailureAnswer;
}

describe('payout failure taxonomy over the real system (sandbox -> psp-alfred -> sessions -> gateway, notifier)', () => {
  let sys: System;
  let sink: SmtpSink;
  let baseUrl: string;
  useNotifiedSystem({}, (started) => ({ sys, sink, baseUrl } = started));

  it('when Alfred fails a payout with each reason, then the withdrawal answers its class and the message in en, es and pt, the operator sees the raw reason, and the USDT is back to the cent', async () => {
    const c = countries.MX;
    await Promise.all(
      reasons.map(async ([failureClass, reason]) => {
        const { trader, sessionId, withdrawalId } = await processingWithdrawal(sys, c);
        const orders = await failUntilRejected(sys, trader, sessionId, withdrawalId, reason);
        expect(orders, reason).toHaveLength(failureClass === 'bank_unavailable' ? 3 : 1);
        const rejected = await waitForStatus(sys, trader, withdrawalId, 'rejected');
        expect(rejected.timeline.at(-1)).toMatchObject({ to: 'rejected', actor: 'alfred', reason });
        // No Accept-Language: the trader's country (MX) speaks Spanish.
        expect((await traderView(sys, trader, withdrawalId)).failure).toEqual({
          class: failureClass,
          message: failureMessage(failureClass, 'es'),
        });
        for (const lang of messageLanguages) {
          const header = { en: 'en-US,en;q=0.9', es: 'es-419', pt: 'fr;q=0.9, pt-BR;q=0.8' }[lang];
          expect((await traderView(sys, trader, withdrawalId, header)).failure, `${reason} in ${lang}`).toEqual({
            class: failureClass,
            message: failureMessage(failureClass, lang),
          });
        }
        const operator = await adminWithdrawal<{ failure_reason: string; failure: unknown }>(sys, operatorToken, withdrawalId);
        expect(operator.failure).toEqual({ class: failureClass, message: failureMessage(failureClass, 'es'), raw_reason: reason });
        expect(operator.failure_reason).toBe(reason);
        // The hold was voided in full: the trader's balance is what it was funded with.
        expect(await settledBalance(sys, trader)).toEqual({ available: '1000.000000', held: '0.000000' });
      }),
    );
  });

  it('when Alfred fails a payout for a reason about the account, then the account is errored and a new session with it is FIAT_ACCOUNT_ERRORED until the trader registers another; other reasons leave it usable', async () => {
    const c = countries.MX;
    await Promise.all(
      reasons.map(async ([failureClass, reason], i) => {
        const { trader, sessionId, withdrawalId, accountId } = await processingWithdrawal(sys, c);
        await failUntilRejected(sys, trader, sessionId, withdrawalId, reason);
        if (failureAction(failureClass) !== 'fiat_account_errored') {
          const again = await openSession(sys, trader, c, accountId);
          expect(again.status, `${reason}: ${JSON.stringify(again.body)}`).toBe(201);
          return;
        }
        const refused = await eventually(`${reason}: the account errored`, async () => {
          const r = await openSession(sys, trader, c, accountId);
          return r.status === 201 ? undefined : r;
        });
        expect(refused.status, JSON.stringify(refused.body)).toBe(422);
        expect(refused.body).toMatchObject({ error: { code: 'FIAT_ACCOUNT_ERRORED', details: { failureClass } } });
        // Still refused: the marking stays.
        expect((await openSession(sys, trader, c, accountId)).status).toBe(422);
        // Another account of the trader's (another CLABE) is registered and works.
        const replacement = {
          ...c,
          fields: (h: string) => ({ accountNumber: clabe(`0020100712345${String(6000 + i)}`), accountHolderName: h }),
        };
        const holder = (await adminWithdrawal<{ fiat_account: { account_holder_name: string } }>(sys, operatorToken, withdrawalId))
          .fiat_account.account_holder_name;
        const newAccountId = await addAccount(sys, trader, replacement, holder);
        const listed = await sys.http('GET', '/psp/alfred/fiat-accounts', { trader });
        expect(
          (listed.body!.data as { fiat_account_id: string; status: string }[]).map((a) => [a.fiat_account_id, a.status]).sort(),
        ).toEqual(
          [
            [accountId, 'errored'],
            [newAccountId, 'active'],
          ].sort(),
        );
        const fresh = await withdraw(sys, trader, replacement, newAccountId);
        await waitForStatus(sys, trader, fresh.withdrawalId, 'processing');
        expect(await balance(sys, trader)).toEqual({ available: minusUsdt('1000.000000', fresh.debited), held: fresh.debited });
      }),
    );
  });

  /** The withdrawal's orders at the sandbox (its memo is the withdrawal id), oldest first, with their histories. */
  const ordersOf = (withdrawalId: string) =>
    [...sys.sandbox.state.offramps.values()]
      .filter((o) => o.memo === withdrawalId)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.history[0]!.at.localeCompare(b.history[0]!.at));

  /** Each order was made only after the previous one FAILED: never two live at once. */
  function expectOneLiveAtATime(withdrawalId: string, count: number) {
    const orders = ordersOf(withdrawalId);
    expect(orders).toHaveLength(count);
    for (let i = 1; i < orders.length; i++) {
      const failedAt = orders[i - 1]!.history.find((h) => h.status === 'FAILED')?.at;
      expect(failedAt, `order ${i} FAILED before order ${i + 1}`).toBeDefined();
      expect(orders[i]!.createdAt >= failedAt!, `order ${i + 1} created after order ${i} FAILED`).toBe(true);
    }
    return orders;
  }

  /** Waits for the withdrawal's next order (a reference not seen yet) while it stays processing. */
  async function nextOrder(trader: string, withdrawalId: string, seen: string[]) {
    return eventually(`a new order for ${withdrawalId}`, async () => {
      const w = await traderView(sys, trader, withdrawalId);
      const tx = (w as unknown as { psp_transaction_id: string | null }).psp_transaction_id;
      expect(w.status).toBe('processing');
      return tx && !seen.includes(tx) ? tx : undefined;
    });
  }

  it('when the bank is unavailable, then the payout is re-dispatched as a new order once the first FAILED, keeping the hold, and completes when the next one pays', async () => {
    const c = countries.MX;
    const { trader, sessionId, withdrawalId, debited } = await processingWithdrawal(sys, c);
    const first = (await traderView(sys, trader, withdrawalId)) as unknown as { psp_transaction_id: string };
    await failWith(sys, trader, sessionId, 'BANK_UNAVAILABLE');
    const second = await nextOrder(trader, withdrawalId, [first.psp_transaction_id]);
    // Still held, nothing refunded, no failure shown: the payout is on its way again.
    expect(await balance(sys, trader)).toEqual({ available: minusUsdt('1000.000000', debited), held: debited });
    expect((await traderView(sys, trader, withdrawalId)).failure).toBeNull();
    const r = await sys.http('POST', '/psp/alfred/__dev/emit-offramp', {
      trader,
      dev: true,
      body: { session_id: sessionId, scenario: 'success' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const done = await waitForStatus(sys, trader, withdrawalId, 'completed');
    expect(done.psp_transaction_id).toBe(second);
    expect(done.timeline.filter((t) => t.kind === 'note' && t.reason?.includes('re-dispatch'))).toHaveLength(1);
    expect(done.timeline.filter((t) => t.to === 'rejected')).toEqual([]);
    const orders = expectOneLiveAtATime(withdrawalId, 2);
    expect(orders.map((o) => o.status)).toEqual(['FAILED', 'FIAT_TRANSFER_COMPLETED']);
    expect(orders.map((o) => o.transactionId)).toEqual([first.psp_transaction_id, second]);
    // The USDT was taken once: what was held, no more.
    expect(await settledBalance(sys, trader)).toEqual({ available: minusUsdt('1000.000000', debited), held: '0.000000' });
  });

  it('when the bank stays unavailable, then the re-dispatches stop at PAYOUT_REDISPATCH_MAX (2): three orders one after another, then rejected as bank_unavailable with the USDT back', async () => {
    const c = countries.MX;
    const { trader, sessionId, withdrawalId } = await processingWithdrawal(sys, c);
    const seen = [((await traderView(sys, trader, withdrawalId)) as unknown as { psp_transaction_id: string }).psp_transaction_id];
    for (let attempt = 1; attempt <= 2; attempt++) {
      await failWith(sys, trader, sessionId, 'BANK_UNAVAILABLE');
      seen.push(await nextOrder(trader, withdrawalId, seen));
    }
    await failWith(sys, trader, sessionId, 'BANK_UNAVAILABLE');
    const rejected = await waitForStatus(sys, trader, withdrawalId, 'rejected');
    expect(rejected.psp_transaction_id).toBe(seen[2]);
    expect((await traderView(sys, trader, withdrawalId, 'pt')).failure).toEqual({
      class: 'bank_unavailable',
      message: failureMessage('bank_unavailable', 'pt'),
    });
    const orders = expectOneLiveAtATime(withdrawalId, 3);
    expect(orders.every((o) => o.status === 'FAILED')).toBe(true);
    expect(orders.map((o) => o.transactionId)).toEqual(seen);
    expect(await settledBalance(sys, trader)).toEqual({ available: '1000.000000', held: '0.000000' });
  });

  it('when a payout fails, then the stream event and the e-mail carry the class and the message in the country language; the processing event carries none', async () => {
    const c = countries.BR;
    const trader = newTrader();
    const holder = await onboard(sys, trader, c.country, '1000');
    const accountId = await addAccount(sys, trader, c, holder);
    const stream = openEventStream(baseUrl, trader);
    await stream.ready;
    const { sessionId, withdrawalId, debited } = await withdraw(sys, trader, c, accountId);
    await waitForStatus(sys, trader, withdrawalId, 'processing');
    await failWith(sys, trader, sessionId, 'LIMIT_EXCEEDED');
    await waitForStatus(sys, trader, withdrawalId, 'rejected');

    await eventually('the rejection on the stream', () => stream.events.some((e) => e.event === 'withdrawal.rejected'));
    const expected = { class: 'limit_exceeded', message: failureMessage('limit_exceeded', 'pt') };
    expect(stream.events.find((e) => e.event === 'withdrawal.rejected')!.data).toMatchObject({
      withdrawal_id: withdrawalId,
      restored_amount: debited,
      failure: expected,
    });
    expect(stream.events.find((e) => e.event === 'withdrawal.processing')!.data.failure).toBeNull();
    const mailOf = () =>
      sink.messages.find((m) => m.headers['x-offramp-withdrawal-id'] === withdrawalId && m.subject.includes('could not be completed'));
    await eventually('the rejection e-mail', () => mailOf() !== undefined);
    expect(mailOf()!.text).toContain(expected.message);
    stream.close();
  });
});
