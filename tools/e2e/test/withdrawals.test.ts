import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@offramp/kit/testing';
import { startSystem, type System } from './system.ts';
import {
  addAccount,
  balance,
  countries,
  settledBalance,
  emitOfframp,
  minusUsdt,
  newTrader,
  onboard,
  waitForStatus,
  withdraw,
  withdrawal,
} from './flows.ts';

describe('withdrawals end to end (gateway -> sessions -> ledger -> risk -> psp-alfred -> sandbox -> webhook)', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => sys?.cleanup());

  const cases = [
    ['TC-W1', countries.MX],
    ['TC-W2', countries.BR],
    ['TC-W3', countries.AR],
    ['TC-W4', countries.CO],
    ['TC-W5', countries.DO],
  ] as const;

  for (const [tc, c] of cases) {
    it(`${tc}: when a ${c.country} trader withdraws over ${c.type} and Alfred completes, then completed, balance down by exactly the debit, nothing held`, async () => {
      const trader = newTrader();
      const holder = await onboard(sys, trader, c.country);
      const accountId = await addAccount(sys, trader, c, holder);
      const before = await balance(sys, trader);
      const { sessionId, withdrawalId, debited } = await withdraw(sys, trader, c, accountId);
      const processing = await waitForStatus(sys, trader, withdrawalId, 'processing');
      expect(processing.psp_transaction_id).toBeTruthy();
      await emitOfframp(sys, trader, sessionId, 'success');
      const done = await waitForStatus(sys, trader, withdrawalId, 'completed');
      expect(done.timeline.map((t) => t.to)).toEqual(expect.arrayContaining(['pending', 'approved', 'processing', 'completed']));
      const after = await settledBalance(sys, trader);
      expect(after.available).toBe(minusUsdt(before.available, debited));
      expect(after.held).toBe('0.000000');
      const offramps = (await sys.emu('GET', '/offramps'))!.offramps as { memo?: string; status: string }[];
      expect(offramps.filter((o) => o.memo === withdrawalId)).toHaveLength(1);
      expect((await sys.ledgerCheck()).ok).toBe(true);
    });
  }

  it('TC-W7 / Scenario B: when Alfred fails the offramp, then rejected, the balance is restored to the unit and the timeline shows it', async () => {
    const c = countries.BR;
    const trader = newTrader();
    const holder = await onboard(sys, trader, c.country);
    const accountId = await addAccount(sys, trader, c, holder);
    const before = await balance(sys, trader);
    const { sessionId, withdrawalId } = await withdraw(sys, trader, c, accountId);
    await waitForStatus(sys, trader, withdrawalId, 'processing');
    const during = await balance(sys, trader);
    expect(during.held).not.toBe('0.000000');
    await emitOfframp(sys, trader, sessionId, 'failure');
    const rejected = await waitForStatus(sys, trader, withdrawalId, 'rejected');
    const last = rejected.timeline.at(-1)!;
    expect(last).toMatchObject({ from: 'processing', to: 'rejected' });
    expect(JSON.stringify(rejected.timeline)).toContain('QA_SIMULATED_FAILURE');
    const after = await settledBalance(sys, trader);
    expect(after).toEqual({ available: before.available, held: '0.000000' });
    expect((await sys.ledgerCheck()).ok).toBe(true);
  });

  it('TC-W9: when FAILED arrives after FIAT_TRANSFER_COMPLETED, then it stays completed, no money moves, and the timeline shows ALFRED_INCORRECT_STATUS_CHANGE', async () => {
    const c = countries.MX;
    const trader = newTrader();
    const holder = await onboard(sys, trader, c.country);
    const accountId = await addAccount(sys, trader, c, holder);
    const { sessionId, withdrawalId } = await withdraw(sys, trader, c, accountId);
    const processing = await waitForStatus(sys, trader, withdrawalId, 'processing');
    await emitOfframp(sys, trader, sessionId, 'success');
    await waitForStatus(sys, trader, withdrawalId, 'completed');
    const settled = await settledBalance(sys, trader);

    // Alfred's real sandbox driver refuses FAILED after a terminal state, so the late webhook is
    // sent as Alfred would sign it, straight to psp-alfred.
    const late = await sys.sendWebhook({
      referenceId: processing.psp_transaction_id!,
      eventType: 'OFFRAMP',
      status: 'FAILED',
      metadata: { failureReason: 'LATE' },
    });
    expect(late).toBe(200);
    const after = await eventually('the refused FAILED on the timeline', async () => {
      const w = await withdrawal(sys, trader, withdrawalId);
      return w.timeline.some((t) => t.refused_code === 'ALFRED_INCORRECT_STATUS_CHANGE') ? w : undefined;
    });
    expect(after.status).toBe('completed');
    expect(await balance(sys, trader)).toEqual(settled);
    expect((await sys.ledgerCheck()).ok).toBe(true);
  });

  it('TC-W8: when withdrawals are frozen, then initiate answers 423 ALFRED_WITHDRAWALS_FROZEN and nothing is held', async () => {
    const c = countries.CO;
    const trader = newTrader();
    const holder = await onboard(sys, trader, c.country);
    const accountId = await addAccount(sys, trader, c, holder);
    const session = await sys.http('POST', '/psp/alfred/session', {
      trader,
      body: {
        data: {
          type: 'withdrawal',
          amount: c.amount,
          source_currency_id: c.currency,
          payment_route_id: c.route,
          wallet_id: 'MAIN',
          fiat_account_id: accountId,
        },
      },
    });
    expect(session.status).toBe(201);
    await sys.freeze(true, 'CO');
    try {
      const before = await balance(sys, trader);
      const r = await sys.http('POST', '/psp/alfred/initiate-withdrawal', { trader, body: { session_id: session.body!.data.session_id } });
      expect(r.status).toBe(423);
      expect(r.body!.error.code).toBe('ALFRED_WITHDRAWALS_FROZEN');
      expect(await balance(sys, trader)).toEqual(before);
      expect(before.held).toBe('0.000000');
    } finally {
      await sys.freeze(false, 'CO');
    }
  });
});
