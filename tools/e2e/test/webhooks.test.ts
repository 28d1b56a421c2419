import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@offramp/kit/testing';
import { startSystem, type System } from './system.ts';
import {
  addAccount,
  balance,
  countries,
  settledBalance,
  minusUsdt,
  newTrader,
  onboard,
  waitForStatus,
  withdraw,
  withdrawal,
} from './flows.ts';

describe('Alfred webhooks end to end', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => sys?.cleanup());

  async function processingWithdrawal() {
    const trader = newTrader();
    const holder = await onboard(sys, trader, 'MX');
    const accountId = await addAccount(sys, trader, countries.MX, holder);
    const before = await balance(sys, trader);
    const w = await withdraw(sys, trader, countries.MX, accountId);
    const processing = await waitForStatus(sys, trader, w.withdrawalId, 'processing');
    return { trader, before, ...w, transactionId: processing.psp_transaction_id! };
  }

  it('when a webhook has a bad signature or a stale timestamp, then 401 and nothing changes', async () => {
    const w = await processingWithdrawal();
    const body = { referenceId: w.transactionId, eventType: 'OFFRAMP', status: 'FIAT_TRANSFER_COMPLETED', metadata: {} };
    expect(await sys.sendWebhook(body, { secret: 'not-the-secret' })).toBe(401);
    expect(await sys.sendWebhook(body, { at: Math.floor(Date.now() / 1000) - 301 })).toBe(401);
    expect(await sys.sendWebhook(body, { at: Math.floor(Date.now() / 1000) + 301 })).toBe(401);
    // The 401s stored nothing; had one slipped through, its effect would have happened once the
    // system is quiet. psp-alfred's reconciler (or sessions' sweeper, through it) may read the order
    // meanwhile or later, but Alfred still says CREATED (nothing walked it), which moves nothing.
    await sys.quiet();
    expect((await withdrawal(sys, w.trader, w.withdrawalId)).status).toBe('processing');
    expect((await balance(sys, w.trader)).held).toBe(w.debited);
  });

  it('when the same completion webhook arrives 5 times and the chain arrives out of order, then one settlement', async () => {
    const w = await processingWithdrawal();
    const send = (status: string) => sys.sendWebhook({ referenceId: w.transactionId, eventType: 'OFFRAMP', status, metadata: {} });
    // Completed first, then the intermediate steps late, then completed again and again.
    expect(await send('FIAT_TRANSFER_COMPLETED')).toBe(200);
    expect(await send('TRADE_COMPLETED')).toBe(200);
    expect(await send('ON_CHAIN_DEPOSIT_RECEIVED')).toBe(200);
    for (let i = 0; i < 4; i++) expect(await send('FIAT_TRANSFER_COMPLETED')).toBe(200);
    const done = await waitForStatus(sys, w.trader, w.withdrawalId, 'completed');
    // Every late duplicate handled by now. No timer adds one later: the reconciler skips an order
    // whose final status was published, and the sweeper a completed withdrawal.
    await sys.quiet();
    const after = await withdrawal(sys, w.trader, w.withdrawalId);
    expect(after.status).toBe('completed');
    expect(after.timeline.filter((t) => t.kind === 'transition' && t.to === 'completed')).toHaveLength(1);
    expect(after.timeline.filter((t) => t.kind === 'refused')).toEqual([]);
    expect(done.status).toBe('completed');
    const b = await settledBalance(sys, w.trader);
    expect(b).toEqual({ available: minusUsdt(w.before.available, w.debited), held: '0.000000' });
    expect((await sys.ledgerCheck()).ok).toBe(true);
  });

  it('when a webhook body is malformed, then 400 and nothing is stored', async () => {
    expect(await sys.sendWebhook({ hello: 'world' })).toBe(400);
  });

  it("when Alfred's own sandbox delivers the chain with retries, then the withdrawal completes once", async () => {
    const w = await processingWithdrawal();
    const walked = await sys.emu('POST', `/offramps/${w.transactionId}/walk`, { outcome: 'success' });
    expect(walked!.offramp.status).toBe('FIAT_TRANSFER_COMPLETED');
    await waitForStatus(sys, w.trader, w.withdrawalId, 'completed');
    const deliveries = await eventually('all deliveries', async () => {
      const d = (await sys.emu('GET', `/webhooks?referenceId=${w.transactionId}`))!.deliveries as { delivered: boolean }[];
      return d.length >= 4 && d.every((x) => x.delivered) ? d : undefined;
    });
    expect(deliveries.length).toBeGreaterThanOrEqual(4);
    expect((await settledBalance(sys, w.trader)).available).toBe(minusUsdt(w.before.available, w.debited));
  });
});
