import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerRpc, sessionsRpc, withdrawalOperatorRpc } from '@offramp/contracts';
import type { PartnerOrder } from '../src/withdrawals/decide.ts';
import { debit, funded, startTestStack, until, type TestStack } from './harness.ts';

describe('operator actions and queries', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // A short rpc timeout, so that psp-alfred not answering is seen quickly.
    stack = await startTestStack({ env: { RPC_TIMEOUT_MS: '2000' } });
  });
  afterAll(async () => stack?.cleanup());

  const orderOf = (transactionId: string, state: PartnerOrder['state'], status: PartnerOrder['status']): PartnerOrder => ({
    state,
    transactionId,
    status,
    failureReason: state === 'failed' ? 'BANK_REJECTED' : null,
  });
  const held = async (traderId: string, withdrawalId: string) => {
    expect((await stack.call(ledgerRpc.getTransfer, { id: withdrawalId })).transfer?.holdStatus).toBe('pending');
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded, pendingDebitsMinor: debit });
  };

  it('when Alfred does not report the order completed, then complete is 409 PARTNER_ORDER_LIVE without confirmed_out_of_band and nothing moves; with it, completed and posted; a later FAILED opens partner_outcome_after_terminal', async () => {
    const { traderId, withdrawalId, transactionId } = await stack.processing();
    stack.psp.orders.set(withdrawalId, orderOf(transactionId, 'live', 'FIAT_TRANSFER_INITIATED'));
    const refused = await stack.call(withdrawalOperatorRpc.complete, { withdrawalId, operatorId: 'op-1', reference: 'BANK-REF-77' });
    expect(refused).toMatchObject({
      ok: false,
      error: { code: 'PARTNER_ORDER_LIVE', message: expect.stringContaining('confirmed_out_of_band: true') },
    });
    expect((await stack.withdrawal(withdrawalId)).status).toBe('processing');
    expect((await stack.withdrawal(withdrawalId)).timeline.at(-1)).toMatchObject({
      kind: 'refused',
      from: 'processing',
      to: 'completed',
      actor: 'operator:op-1',
      refusedCode: 'PARTNER_ORDER_LIVE',
    });
    await held(traderId, withdrawalId);

    const r = await stack.call(withdrawalOperatorRpc.complete, {
      withdrawalId,
      operatorId: 'op-1',
      reference: 'BANK-REF-77',
      confirmedOutOfBand: true,
    });
    expect(r).toMatchObject({ ok: true, data: { status: 'completed', settlementReference: 'BANK-REF-77' } });
    // The answer is given once the ledger has posted: no waiting for it.
    expect((await stack.call(ledgerRpc.getTransfer, { id: withdrawalId })).transfer?.holdStatus).toBe('posted');
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded - debit, pendingDebitsMinor: 0n });
    expect((await stack.withdrawal(withdrawalId)).timeline.at(-1)).toMatchObject({
      kind: 'transition',
      from: 'processing',
      to: 'completed',
      actor: 'operator:op-1',
      reason: 'confirmed out of band: BANK-REF-77',
    });

    await stack.psp.emit(withdrawalId, 'FAILED', 'BANK_REJECTED');
    await until('the exception', async () => (await stack.exceptionsOf(withdrawalId)).length === 1);
    expect(await stack.exceptionsOf(withdrawalId)).toMatchObject([
      {
        kind: 'partner_outcome_after_terminal',
        status: 'open',
        exposure: 'trader_received_nothing',
        amountMinor: debit,
        partnerReference: transactionId,
      },
    ]);
    expect((await stack.withdrawal(withdrawalId)).status).toBe('completed');
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded - debit, pendingDebitsMinor: 0n });
  });

  it('when Alfred reports the order completed, then complete needs no flag; when Alfred reports it FAILED, complete is 409 ALFRED_INCORRECT_STATUS_CHANGE even with the flag', async () => {
    const done = await stack.processing();
    stack.psp.orders.set(done.withdrawalId, orderOf(done.transactionId, 'completed', 'FIAT_TRANSFER_COMPLETED'));
    expect(
      await stack.call(withdrawalOperatorRpc.complete, { withdrawalId: done.withdrawalId, operatorId: 'op-1', reference: 'REF-1' }),
    ).toMatchObject({ ok: true, data: { status: 'completed' } });
    expect((await stack.call(ledgerRpc.getTransfer, { id: done.withdrawalId })).transfer?.holdStatus).toBe('posted');

    const failed = await stack.processing();
    stack.psp.orders.set(failed.withdrawalId, orderOf(failed.transactionId, 'failed', 'FAILED'));
    const r = await stack.call(withdrawalOperatorRpc.overrideStatus, {
      withdrawalId: failed.withdrawalId,
      operatorId: 'op-1',
      status: 'completed',
      reason: 'bank says paid',
      confirmedOutOfBand: true,
    });
    expect(r).toMatchObject({ ok: false, error: { code: 'ALFRED_INCORRECT_STATUS_CHANGE', message: expect.stringContaining('FAILED') } });
    expect((await stack.withdrawal(failed.withdrawalId)).status).toBe('processing');
    await held(failed.traderId, failed.withdrawalId);
  });

  it('when an operator rejects, or overrides to rejected, a withdrawal whose order is live, then 409 PARTNER_ORDER_LIVE after a fenced ask and nothing moves; once Alfred reports FAILED the same reject is accepted and refunded', async () => {
    const { traderId, withdrawalId, transactionId } = await stack.processing();
    stack.psp.orders.set(withdrawalId, orderOf(transactionId, 'live', 'TRADE_COMPLETED'));
    const rejected = await stack.call(withdrawalOperatorRpc.reject, { withdrawalId, operatorId: 'op-2', reason: 'customer asked' });
    expect(rejected).toMatchObject({ ok: false, error: { code: 'PARTNER_ORDER_LIVE', details: { from: 'processing', to: 'rejected' } } });
    const overridden = await stack.call(withdrawalOperatorRpc.overrideStatus, {
      withdrawalId,
      operatorId: 'op-2',
      status: 'rejected',
      reason: 'customer asked',
    });
    expect(overridden).toMatchObject({ ok: false, error: { code: 'PARTNER_ORDER_LIVE' } });
    expect(stack.psp.orderStateCalls.filter((c) => c.withdrawalId === withdrawalId)).toEqual([
      { withdrawalId, fence: true },
      { withdrawalId, fence: true },
    ]);
    const w = await stack.withdrawal(withdrawalId);
    expect(w.status).toBe('processing');
    expect(w.timeline.filter((e) => e.kind === 'refused').map((e) => e.refusedCode)).toEqual(['PARTNER_ORDER_LIVE', 'PARTNER_ORDER_LIVE']);
    await held(traderId, withdrawalId);

    stack.psp.orders.set(withdrawalId, orderOf(transactionId, 'failed', 'FAILED'));
    const accepted = await stack.call(withdrawalOperatorRpc.reject, { withdrawalId, operatorId: 'op-2', reason: 'customer asked' });
    expect(accepted).toMatchObject({ ok: true, data: { status: 'rejected', failureReason: 'customer asked' } });
    expect((await stack.call(ledgerRpc.getTransfer, { id: withdrawalId })).transfer?.holdStatus).toBe('voided');
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded, availableMinor: funded, pendingDebitsMinor: 0n });
    // Alfred's own FAILED arriving afterwards is a harmless repeat.
    await stack.psp.emit(withdrawalId, 'FAILED', 'BANK_REJECTED');
    await stack.quiet();
    expect(await stack.exceptionsOf(withdrawalId)).toEqual([]);
  });

  it('when an approved withdrawal has no order at Alfred yet, then the reject fences it off and is accepted', async () => {
    const { traderId, withdrawalId } = await stack.withdraw({ scenario: 'manual' });
    await stack.reaches(withdrawalId, 'approved');
    const r = await stack.call(withdrawalOperatorRpc.reject, { withdrawalId, operatorId: 'op-2', reason: 'changed my mind' });
    expect(r).toMatchObject({ ok: true, data: { status: 'rejected' } });
    expect(stack.psp.orderStateCalls.filter((c) => c.withdrawalId === withdrawalId)).toEqual([{ withdrawalId, fence: true }]);
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded, availableMinor: funded, pendingDebitsMinor: 0n });
  });

  it('when Alfred or psp-alfred cannot be asked, then 503 PSP_UNAVAILABLE and nothing changes', async () => {
    const { traderId, withdrawalId } = await stack.processing();
    const before = await stack.withdrawal(withdrawalId);
    stack.psp.orderStateRefusal = 'PSP_UNAVAILABLE';
    try {
      expect(await stack.call(withdrawalOperatorRpc.reject, { withdrawalId, operatorId: 'op-3', reason: 'x' })).toMatchObject({
        ok: false,
        error: { code: 'PSP_UNAVAILABLE' },
      });
    } finally {
      stack.psp.orderStateRefusal = null;
    }
    let release = () => {};
    stack.psp.orderStateStall = new Promise<void>((r) => (release = r));
    try {
      const r = await stack.call(withdrawalOperatorRpc.complete, {
        withdrawalId,
        operatorId: 'op-3',
        reference: 'R',
        confirmedOutOfBand: true,
      });
      expect(r).toMatchObject({ ok: false, error: { code: 'PSP_UNAVAILABLE' } });
    } finally {
      stack.psp.orderStateStall = null;
      release();
    }
    expect(await stack.withdrawal(withdrawalId)).toEqual(before);
    await held(traderId, withdrawalId);
  });

  it('when an operator overrides along a legal edge, then it moves with the money effect; an illegal override is refused and audited', async () => {
    const { traderId, withdrawalId } = await stack.withdraw({ decision: 'hold' });
    const r = await stack.call(withdrawalOperatorRpc.overrideStatus, {
      withdrawalId,
      operatorId: 'op-2',
      status: 'rejected',
      reason: 'customer asked to cancel',
    });
    expect(r).toMatchObject({ ok: true, data: { status: 'rejected', failureReason: 'customer asked to cancel' } });
    expect((await stack.holdResolved(withdrawalId)).holdStatus).toBe('voided');
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded, availableMinor: funded, pendingDebitsMinor: 0n });

    const illegal = await stack.call(withdrawalOperatorRpc.overrideStatus, {
      withdrawalId,
      operatorId: 'op-2',
      status: 'completed',
      reason: 'oops',
    });
    expect(illegal).toMatchObject({
      ok: false,
      error: { code: 'ALFRED_INCORRECT_STATUS_CHANGE', details: { from: 'rejected', to: 'completed' } },
    });
    const w = await stack.withdrawal(withdrawalId);
    expect(w.status).toBe('rejected');
    expect(w.timeline.at(-1)).toMatchObject({
      kind: 'refused',
      from: 'rejected',
      to: 'completed',
      actor: 'operator:op-2',
      refusedCode: 'ALFRED_INCORRECT_STATUS_CHANGE',
    });
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded, pendingDebitsMinor: 0n });
  });

  it('when an operator re-dispatches an approved withdrawal, then createOfframp is sent again; a pending one is refused', async () => {
    const approved = await stack.withdraw({ scenario: 'manual' });
    await until('createOfframp', () => stack.psp.createOfframps.some((c) => c.withdrawalId === approved.withdrawalId));
    const r = await stack.call(withdrawalOperatorRpc.process, { withdrawalId: approved.withdrawalId, operatorId: 'op-3' });
    expect(r).toMatchObject({ ok: true, data: { status: 'approved' } });
    await until('the re-sent command', () => stack.psp.createOfframps.filter((c) => c.withdrawalId === approved.withdrawalId).length === 2);
    expect((await stack.withdrawal(approved.withdrawalId)).timeline.at(-1)).toMatchObject({
      kind: 'note',
      actor: 'operator:op-3',
      reason: 'PSP request re-dispatched',
    });

    const pending = await stack.withdraw({ decision: 'hold' });
    expect(await stack.call(withdrawalOperatorRpc.process, { withdrawalId: pending.withdrawalId, operatorId: 'op-3' })).toMatchObject({
      ok: false,
      error: { code: 'ALFRED_INCORRECT_STATUS_CHANGE' },
    });
    expect(stack.psp.createOfframps.some((c) => c.withdrawalId === pending.withdrawalId)).toBe(false);
  });

  it("when a trader lists or reads withdrawals, then only their own, newest first, paged; another trader's is WITHDRAWAL_NOT_FOUND", async () => {
    const traderId = await stack.trader(3n * funded);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await stack.withdraw({ traderId, decision: 'hold' })).withdrawalId);
    const other = await stack.withdraw({ decision: 'hold' });

    const page1 = await stack.call(sessionsRpc.listWithdrawals, { traderId, page: 1, limit: 2 });
    const page2 = await stack.call(sessionsRpc.listWithdrawals, { traderId, page: 2, limit: 2 });
    expect(page1.total).toBe(3);
    expect([...page1.withdrawals, ...page2.withdrawals].map((w) => w.withdrawalId)).toEqual([...ids].reverse());
    expect(page1.withdrawals[0]!.timeline).toMatchObject([{ from: null, to: 'pending' }]);
    expect((await stack.call(sessionsRpc.listWithdrawals, { traderId, status: 'completed', page: 1, limit: 10 })).withdrawals).toEqual([]);

    expect(await stack.call(sessionsRpc.getWithdrawal, { traderId, withdrawalId: ids[0]! })).toMatchObject({
      ok: true,
      data: { withdrawalId: ids[0], traderId },
    });
    expect(await stack.call(sessionsRpc.getWithdrawal, { traderId, withdrawalId: other.withdrawalId })).toMatchObject({
      ok: false,
      error: { code: 'WITHDRAWAL_NOT_FOUND' },
    });
  });

  it('when probed, then /healthz and /readyz answer 200 with database and nats ready', async () => {
    expect((await stack.app.http.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    const ready = await stack.app.http.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().data.checks).toEqual({ database: 'ok', nats: 'ok' });
  });
});
