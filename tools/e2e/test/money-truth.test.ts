import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from './system.ts';
import { addAccount, balance, countries, emitOfframp, minusUsdt, newTrader, onboard, waitForStatus, withdraw } from './flows.ts';

/** How many readers poll at once; each reads the withdrawal, then the balances it must agree with. */
const readers = 4;

describe('answers tell the truth about money (over HTTP)', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => sys?.cleanup());

  /**
   * Readers poll `GET /withdrawals/:id` and, right after each answer, `GET /balances`, back to back
   * and side by side, while `drive` moves the withdrawal to its end. The status is read first: if it
   * could commit before the ledger resolved the hold, some reader would find the balance behind it.
   */
  async function watch(trader: string, withdrawalId: string, drive: () => Promise<unknown>) {
    let done = false;
    const seen: { status: string; available: string; held: string }[] = [];
    const reader = async () => {
      while (!done) {
        const w = await sys.http('GET', `/psp/alfred/withdrawals/${withdrawalId}`, { trader });
        expect(w.status).toBe(200);
        const status = w.body!.data.status as string;
        const b = await balance(sys, trader);
        seen.push({ status, ...b });
        if (status === 'completed' || status === 'rejected') done = true;
      }
    };
    const polling = Promise.all(Array.from({ length: readers }, reader));
    await drive();
    const deadline = setTimeout(() => (done = true), 30_000);
    await polling;
    clearTimeout(deadline);
    return seen;
  }

  it('when a withdrawal completes and another fails, then every read that says completed or rejected comes with /balances already settled to the unit', async () => {
    const c = countries.BR;
    const trader = newTrader();
    const holder = await onboard(sys, trader, c.country);
    const accountId = await addAccount(sys, trader, c, holder);
    const start = await balance(sys, trader);

    const success = await withdraw(sys, trader, c, accountId);
    await waitForStatus(sys, trader, success.withdrawalId, 'processing');
    const afterSuccess = minusUsdt(start.available, success.debited);
    const seenSuccess = await watch(trader, success.withdrawalId, () => emitOfframp(sys, trader, success.sessionId, 'success'));
    expect(
      seenSuccess.some((r) => r.status === 'processing'),
      'the readers saw it before its end',
    ).toBe(true);
    const completedReads = seenSuccess.filter((r) => r.status === 'completed');
    expect(completedReads.length).toBeGreaterThan(0);
    expect(completedReads.filter((r) => r.available !== afterSuccess || r.held !== '0.000000')).toEqual([]);

    const failure = await withdraw(sys, trader, c, accountId);
    await waitForStatus(sys, trader, failure.withdrawalId, 'processing');
    const seenFailure = await watch(trader, failure.withdrawalId, () => emitOfframp(sys, trader, failure.sessionId, 'failure'));
    expect(
      seenFailure.some((r) => r.status === 'processing'),
      'the readers saw it before its end',
    ).toBe(true);
    const rejectedReads = seenFailure.filter((r) => r.status === 'rejected');
    expect(rejectedReads.length).toBeGreaterThan(0);
    expect(rejectedReads.filter((r) => r.available !== afterSuccess || r.held !== '0.000000')).toEqual([]);
    // Every read shows the debit held or released, never anything else (a processing read may come
    // with the released balance: the ledger resolves the hold just before the status commits).
    const held = { available: minusUsdt(afterSuccess, failure.debited), held: failure.debited };
    const released = { available: afterSuccess, held: '0.000000' };
    expect(
      seenFailure.filter(
        (r) =>
          !(r.available === held.available && r.held === held.held) && !(r.available === released.available && r.held === released.held),
      ),
    ).toEqual([]);
    expect((await sys.ledgerCheck()).ok).toBe(true);
  });
});
