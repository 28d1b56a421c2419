import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decimalToMinor, ledgerRpc } from '@offramp/contracts';
import { eventually } from '@offramp/kit/testing';
import { startSystem, tokenFor, type System } from './system.ts';
import {
  addAccount,
  adminRequest,
  balance,
  countries,
  emitOfframp,
  minusUsdt,
  newTrader,
  onboard,
  settledBalance,
  waitForStatus,
  withdraw,
} from './flows.ts';

const adminToken = tokenFor('op-exceptions', { role: 'admin' });
const clearing = { owner: 'psp:alfred:clearing', currency: 'USDT' };
const loss = { owner: 'loss:partner-divergence', currency: 'USDT' };

type ExceptionWire = {
  exception_id: string;
  kind: string;
  status: string;
  withdrawal_id: string | null;
  user_id: string | null;
  partner_reference: string | null;
  exposure: string;
  amount: string;
  outstanding_amount: string;
  resolution: string | null;
  resolutions: string[];
  facts: Record<string, unknown>;
  actions: { resolution: string; operator_id: string; moved_amount: string; transfer_id: string | null; note: string }[];
};

/**
 * The exception queue over the whole system: Alfred fails an order (the withdrawal is rejected and
 * the USDT restored), then Alfred's signed FIAT_TRANSFER_COMPLETED arrives for the same order: the
 * trader was paid twice. The saga opens an exception; an operator resolves it through the API and
 * the money moves only through the ledger.
 */
describe('exception queue end to end (double payment after a rejection)', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => sys?.cleanup());

  const admin = (method: 'GET' | 'POST', path: string, body?: unknown) => adminRequest(sys, adminToken, method, path, body);
  const posted = async (ref: { owner: string; currency: string }) =>
    (await sys.call(ledgerRpc.getBalances, ref)).balances[0]?.postedMinor ?? 0n;
  const usdtMinor = (amount: string) => decimalToMinor(amount, 6)!;

  /** A rejected withdrawal (Alfred FAILED), then Alfred's late FIAT_TRANSFER_COMPLETED: the open exception as the queue lists it. */
  async function paidTwice() {
    const c = countries.BR;
    const trader = newTrader();
    const holder = await onboard(sys, trader, c.country);
    const accountId = await addAccount(sys, trader, c, holder);
    const w = await withdraw(sys, trader, c, accountId);
    const processing = await waitForStatus(sys, trader, w.withdrawalId, 'processing');
    const transactionId = processing.psp_transaction_id!;
    await emitOfframp(sys, trader, w.sessionId, 'failure');
    await waitForStatus(sys, trader, w.withdrawalId, 'rejected');
    const restored = await settledBalance(sys, trader);

    expect(
      await sys.sendWebhook({ referenceId: transactionId, eventType: 'OFFRAMP', status: 'FIAT_TRANSFER_COMPLETED', metadata: {} }),
    ).toBe(200);
    const exception = await eventually(`an open exception for withdrawal ${w.withdrawalId}`, async () => {
      const r = await admin('GET', '/exceptions?status=open&kind=partner_outcome_after_terminal&limit=100');
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return (r.body!.data.exceptions as ExceptionWire[]).find((e) => e.withdrawal_id === w.withdrawalId);
    });
    return { trader, transactionId, restored, exception, ...w };
  }

  it('when Alfred completes an order after the withdrawal was rejected, then an exception is opened, listed open and linked from the withdrawal; nothing moves by itself', async () => {
    const { trader, withdrawalId, transactionId, debited, restored, exception } = await paidTwice();
    expect(exception).toMatchObject({
      kind: 'partner_outcome_after_terminal',
      status: 'open',
      user_id: trader,
      partner_reference: transactionId,
      exposure: 'trader_received_twice',
      amount: debited,
      outstanding_amount: debited,
      resolution: null,
      resolutions: ['recover_from_trader', 'write_off', 'dismiss'],
      actions: [],
    });
    const detail = await admin('GET', `/withdrawals/${withdrawalId}`);
    expect(detail.body!.data).toMatchObject({
      status: 'rejected',
      exceptions: [{ exception_id: exception.exception_id, kind: 'partner_outcome_after_terminal', status: 'open' }],
    });
    const one = await admin('GET', `/exceptions/${exception.exception_id}`);
    expect(one.body!.data).toMatchObject({ exception_id: exception.exception_id, status: 'open' });
    // The withdrawal stays rejected and the trader keeps the restored USDT until an operator decides.
    expect(await balance(sys, trader)).toEqual(restored);
    expect(await sys.ledgerCheck()).toMatchObject({ ok: true, mismatches: [] });
  });

  it('when the operator recovers from the trader, then exactly the double-paid amount moves trader -> clearing and the exception is resolved; the ledger check is clean', async () => {
    const { trader, withdrawalId, debited, restored, exception } = await paidTwice();
    const clearingBefore = await posted(clearing);
    const r = await admin('POST', `/exceptions/${exception.exception_id}/resolve`, {
      resolution: 'recover_from_trader',
      note: 'Alfred paid the fiat after the failure',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body!.data).toMatchObject({
      status: 'resolved',
      resolution: 'recover_from_trader',
      outstanding_amount: '0.000000',
      resolutions: [],
      actions: [
        {
          resolution: 'recover_from_trader',
          operator_id: 'op-exceptions',
          moved_amount: debited,
          note: 'Alfred paid the fiat after the failure',
        },
      ],
    });
    expect(await balance(sys, trader)).toEqual({ available: minusUsdt(restored.available, debited), held: '0.000000' });
    expect(await posted(clearing)).toBe(clearingBefore + usdtMinor(debited));
    expect(await sys.ledgerCheck()).toMatchObject({ ok: true, mismatches: [] });

    // Resolved: out of the open list, a second resolve is 409, and the withdrawal's timeline says who did what.
    const open = await admin('GET', '/exceptions?status=open&limit=100');
    expect((open.body!.data.exceptions as ExceptionWire[]).map((e) => e.exception_id)).not.toContain(exception.exception_id);
    const again = await admin('POST', `/exceptions/${exception.exception_id}/resolve`, {
      resolution: 'recover_from_trader',
      note: 'twice',
    });
    expect(again.status).toBe(409);
    expect(again.body!.error.code).toBe('EXCEPTION_ALREADY_RESOLVED');
    const detail = await admin('GET', `/withdrawals/${withdrawalId}`);
    expect(detail.body!.data.exceptions).toEqual([
      { exception_id: exception.exception_id, kind: 'partner_outcome_after_terminal', status: 'resolved' },
    ]);
    expect(detail.body!.data.timeline.at(-1)).toMatchObject({ kind: 'note', actor: 'operator:op-exceptions' });
    expect(await balance(sys, trader)).toEqual({ available: minusUsdt(restored.available, debited), held: '0.000000' });
  });

  it('when the operator writes it off, then the amount is booked loss:partner-divergence -> clearing, the trader keeps the USDT and the ledger check is clean', async () => {
    const { trader, debited, restored, exception } = await paidTwice();
    const before = { loss: await posted(loss), clearing: await posted(clearing) };
    const refund = await admin('POST', `/exceptions/${exception.exception_id}/resolve`, {
      resolution: 'refund_trader',
      note: 'wrong button',
    });
    expect(refund.status).toBe(409);
    expect(refund.body!.error.code).toBe('EXCEPTION_RESOLUTION_INVALID');

    const r = await admin('POST', `/exceptions/${exception.exception_id}/resolve`, {
      resolution: 'write_off',
      note: 'trader unreachable; absorbed',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body!.data).toMatchObject({
      status: 'resolved',
      resolution: 'write_off',
      outstanding_amount: '0.000000',
      actions: [{ resolution: 'write_off', moved_amount: debited }],
    });
    const transferId = r.body!.data.actions[0].transfer_id as string;
    expect((await sys.call(ledgerRpc.getTransfer, { id: transferId })).transfer).toMatchObject({
      debit: loss,
      credit: clearing,
      amountMinor: usdtMinor(debited),
    });
    expect(await posted(loss)).toBe(before.loss - usdtMinor(debited));
    expect(await posted(clearing)).toBe(before.clearing + usdtMinor(debited));
    expect(await balance(sys, trader)).toEqual(restored);
    expect(await sys.ledgerCheck()).toMatchObject({ ok: true, mismatches: [] });
  });
});
