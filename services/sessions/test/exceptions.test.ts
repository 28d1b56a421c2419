import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction, newId } from '@offramp/kit';
import { testLogger, testMessaging } from '@offramp/kit/testing';
import { exceptionsRpc, ledgerRpc, sessionsRpc, type ExceptionExposure, type ExceptionView } from '@offramp/contracts';
import { z } from 'zod';
import { createCall } from '../src/call.ts';
import { openException, type OpenException } from '../src/exceptions/exceptions.ts';
import { actionTransferId, resolveException, type ResolveDeps } from '../src/exceptions/resolve.ts';
import { startTestStack, type TestStack } from './harness.ts';

const clearing = { owner: 'psp:alfred:clearing', currency: 'USDT' } as const;
const loss = { owner: 'loss:partner-divergence', currency: 'USDT' } as const;
const cause = () => ({ correlationId: newId(), causationId: null, traceId: newId() });

describe('the exception queue', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => stack?.cleanup());

  const open = (input: OpenException) => inTransaction(stack.db, (em) => openException(em, input, cause()));
  const get = async (exceptionId: string) => {
    const r = await stack.call(exceptionsRpc.get, { exceptionId });
    if (!r.ok) throw new Error(`exception ${exceptionId}: ${r.error.code}`);
    return r.data;
  };
  const resolve = (
    exceptionId: string,
    resolution: ExceptionView['resolution'] & string,
    operatorId = 'op-1',
    note = `${resolution} by ${operatorId}`,
  ) => stack.call(exceptionsRpc.resolve, { exceptionId, operatorId, resolution, note });
  const posted = async (ref: { owner: string; currency: string }) => {
    const { balances } = await stack.call(ledgerRpc.getBalances, ref);
    return balances[0]?.postedMinor ?? 0n;
  };
  const available = async (traderId: string) => (await stack.balance(traderId))?.availableMinor ?? 0n;
  const ledgerClean = async () => expect(await stack.call(ledgerRpc.check, {})).toMatchObject({ ok: true, mismatches: [] });

  /**
   * A trader funded with `funded` and a withdrawal of 10 USDT held for review (its hold stays
   * pending), and an exception about them with `amountMinor` at stake.
   */
  async function exposed(exposure: ExceptionExposure, amountMinor: bigint, funded: bigint) {
    const { traderId, withdrawalId } = await stack.withdraw({ funded, decision: 'hold' });
    const { exceptionId } = await open({
      kind: 'partner_outcome_after_terminal',
      key: `test:${withdrawalId}`,
      withdrawalId,
      traderId,
      partnerReference: `tx-${withdrawalId}`,
      facts: { withdrawalStatus: 'rejected', partnerStatus: 'FIAT_TRANSFER_COMPLETED' },
      exposure,
      amountMinor,
    });
    return { traderId, withdrawalId, exceptionId };
  }

  it('when the same disagreement is opened twice, then one exception, one opened event and one timeline note; the withdrawal detail links it', async () => {
    const { withdrawalId, exceptionId } = await exposed('trader_received_twice', 10_000_000n, 25_000_000n);
    const again = await open({
      kind: 'partner_outcome_after_terminal',
      key: `test:${withdrawalId}`,
      withdrawalId,
      traderId: 'someone-else',
      partnerReference: null,
      facts: {},
      exposure: 'none',
      amountMinor: 0n,
    });
    expect(again).toEqual({ exceptionId, opened: false });
    expect(await get(exceptionId)).toMatchObject({
      status: 'open',
      kind: 'partner_outcome_after_terminal',
      withdrawalId,
      exposure: 'trader_received_twice',
      amountMinor: 10_000_000n,
      outstandingMinor: 10_000_000n,
      facts: { partnerStatus: 'FIAT_TRANSFER_COMPLETED' },
      resolution: null,
      resolvedAt: null,
      actions: [],
    });
    const events = await stack.rows(
      z.object({ envelope: z.object({ payload: z.object({ exceptionId: z.string() }) }) }),
      "select envelope from outbox where subject = 'evt.exceptions.opened.v1'",
    );
    expect(events.filter((e) => e.envelope.payload.exceptionId === exceptionId)).toHaveLength(1);
    const w = await stack.withdrawal(withdrawalId);
    expect(w.timeline.filter((t) => t.reason?.includes(exceptionId))).toMatchObject([{ kind: 'note', actor: 'system' }]);
    expect(w.exceptions).toEqual([{ exceptionId, kind: 'partner_outcome_after_terminal', status: 'open' }]);
    // A trader's own view does not show exceptions.
    const own = await stack.call(sessionsRpc.getWithdrawal, { withdrawalId, traderId: w.traderId });
    expect(own.ok && own.data.exceptions).toBeUndefined();
  });

  it('when an operator recovers from a trader who has enough, then exactly the outstanding amount moves trader -> clearing and the exception is resolved', async () => {
    const { traderId, withdrawalId, exceptionId } = await exposed('trader_received_twice', 7_000_000n, 25_000_000n);
    const before = { trader: await available(traderId), clearing: await posted(clearing) };
    const r = await resolve(exceptionId, 'recover_from_trader', 'op-7', 'Alfred paid after the reject');
    expect(r).toMatchObject({
      ok: true,
      data: {
        status: 'resolved',
        resolution: 'recover_from_trader',
        outstandingMinor: 0n,
        actions: [{ resolution: 'recover_from_trader', operatorId: 'op-7', movedMinor: 7_000_000n, note: 'Alfred paid after the reject' }],
      },
    });
    const action = r.ok ? r.data.actions[0]! : null;
    expect(action?.transferId).toBe(actionTransferId(exceptionId, 1));
    expect(await available(traderId)).toBe(before.trader - 7_000_000n);
    expect(await posted(clearing)).toBe(before.clearing + 7_000_000n);
    const { transfer } = await stack.call(ledgerRpc.getTransfer, { id: action!.transferId! });
    expect(transfer).toMatchObject({ kind: 'transfer', debit: { owner: `trader:${traderId}` }, credit: clearing, amountMinor: 7_000_000n });
    const w = await stack.withdrawal(withdrawalId);
    expect(w.timeline.at(-1)).toMatchObject({ kind: 'note', actor: 'operator:op-7' });
    expect(w.timeline.at(-1)!.reason).toContain('recover_from_trader: moved 7.000000 USDT');
    expect(w.exceptions).toEqual([{ exceptionId, kind: 'partner_outcome_after_terminal', status: 'resolved' }]);
    await ledgerClean();
  });

  it('when the trader has less than is owed, then recovery takes what is available and stays open with the rest; nothing available moves nothing; the rest once funded resolves it', async () => {
    // 12 funded, 10 held by the withdrawal: 2 available of the 5 owed.
    const { traderId, exceptionId } = await exposed('trader_received_twice', 5_000_000n, 12_000_000n);
    const first = await resolve(exceptionId, 'recover_from_trader');
    expect(first).toMatchObject({
      ok: true,
      data: { status: 'open', resolution: null, outstandingMinor: 3_000_000n, actions: [{ movedMinor: 2_000_000n }] },
    });
    expect(await available(traderId)).toBe(0n);

    const nothing = await resolve(exceptionId, 'recover_from_trader', 'op-2');
    expect(nothing).toMatchObject({ ok: true, data: { status: 'open', outstandingMinor: 3_000_000n } });
    expect(nothing.ok && nothing.data.actions[1]).toMatchObject({ operatorId: 'op-2', movedMinor: 0n, transferId: null });

    await stack.fund(traderId, 4_000_000n);
    const rest = await resolve(exceptionId, 'recover_from_trader', 'op-3');
    expect(rest).toMatchObject({ ok: true, data: { status: 'resolved', resolution: 'recover_from_trader', outstandingMinor: 0n } });
    expect(rest.ok && rest.data.actions.map((a) => a.movedMinor)).toEqual([2_000_000n, 0n, 3_000_000n]);
    expect(await available(traderId)).toBe(1_000_000n);
    await ledgerClean();
  });

  it('when the rest of a double payment is written off, then it is booked loss:partner-divergence -> clearing and the exception is resolved', async () => {
    const { traderId, exceptionId } = await exposed('trader_received_twice', 5_000_000n, 11_000_000n);
    expect(await resolve(exceptionId, 'recover_from_trader')).toMatchObject({
      ok: true,
      data: { status: 'open', outstandingMinor: 4_000_000n },
    });
    const before = { loss: await posted(loss), clearing: await posted(clearing) };
    const r = await resolve(exceptionId, 'write_off', 'op-4', 'trader unreachable');
    expect(r).toMatchObject({ ok: true, data: { status: 'resolved', resolution: 'write_off', outstandingMinor: 0n } });
    expect(r.ok && r.data.actions.at(-1)).toMatchObject({ resolution: 'write_off', movedMinor: 4_000_000n, operatorId: 'op-4' });
    expect(await posted(loss)).toBe(before.loss - 4_000_000n);
    expect(await posted(clearing)).toBe(before.clearing + 4_000_000n);
    expect(await available(traderId)).toBe(0n);
    await ledgerClean();
  });

  it('when a trader who received nothing is refunded, then clearing -> trader moves the outstanding amount and the exception is resolved', async () => {
    const { traderId, exceptionId } = await exposed('trader_received_nothing', 6_000_000n, 10_000_000n);
    const before = { trader: await available(traderId), clearing: await posted(clearing) };
    const r = await resolve(exceptionId, 'refund_trader');
    expect(r).toMatchObject({
      ok: true,
      data: { status: 'resolved', resolution: 'refund_trader', outstandingMinor: 0n, actions: [{ movedMinor: 6_000_000n }] },
    });
    expect(await available(traderId)).toBe(before.trader + 6_000_000n);
    expect(await posted(clearing)).toBe(before.clearing - 6_000_000n);
    await ledgerClean();
  });

  it('when dismissed, then no money moves and the exception is resolved with its amount kept', async () => {
    const { traderId, exceptionId } = await exposed('trader_received_twice', 3_000_000n, 20_000_000n);
    const before = await available(traderId);
    const r = await resolve(exceptionId, 'dismiss', 'op-5', 'Alfred reversed the payout');
    expect(r).toMatchObject({
      ok: true,
      data: { status: 'resolved', resolution: 'dismiss', outstandingMinor: 3_000_000n, actions: [{ movedMinor: 0n, transferId: null }] },
    });
    expect(await available(traderId)).toBe(before);
  });

  it('when a resolution does not fit, the exception is resolved or unknown, then 409/404 codes and nothing is recorded', async () => {
    const twice = await exposed('trader_received_twice', 1_000_000n, 20_000_000n);
    const nothing = await exposed('trader_received_nothing', 1_000_000n, 20_000_000n);
    const none = await exposed('none', 0n, 20_000_000n);
    const balance = await available(twice.traderId);
    for (const [id, resolution] of [
      [twice.exceptionId, 'refund_trader'],
      [nothing.exceptionId, 'recover_from_trader'],
      [nothing.exceptionId, 'write_off'],
      [none.exceptionId, 'write_off'],
      [none.exceptionId, 'recover_from_trader'],
    ] as const) {
      expect(await resolve(id, resolution)).toMatchObject({ ok: false, error: { code: 'EXCEPTION_RESOLUTION_INVALID' } });
    }
    for (const id of [twice.exceptionId, nothing.exceptionId, none.exceptionId])
      expect(await get(id)).toMatchObject({ status: 'open', actions: [] });
    expect(await available(twice.traderId)).toBe(balance);

    expect(await resolve(none.exceptionId, 'dismiss')).toMatchObject({ ok: true });
    expect(await resolve(none.exceptionId, 'dismiss')).toMatchObject({ ok: false, error: { code: 'EXCEPTION_ALREADY_RESOLVED' } });
    expect((await get(none.exceptionId)).actions).toHaveLength(1);
    expect(await resolve(newId(), 'dismiss')).toMatchObject({ ok: false, error: { code: 'EXCEPTION_NOT_FOUND' } });
    expect(await stack.call(exceptionsRpc.get, { exceptionId: newId() })).toMatchObject({
      ok: false,
      error: { code: 'EXCEPTION_NOT_FOUND' },
    });
  });

  it('when two operators recover the same exception at once, then the money moves once', async () => {
    const { traderId, exceptionId } = await exposed('trader_received_twice', 8_000_000n, 30_000_000n);
    const before = await available(traderId);
    const answers = await Promise.all([
      resolve(exceptionId, 'recover_from_trader', 'op-a'),
      resolve(exceptionId, 'recover_from_trader', 'op-b'),
    ]);
    expect(answers.filter((a) => a.ok)).toHaveLength(1);
    expect(answers.filter((a) => !a.ok)).toMatchObject([{ ok: false, error: { code: 'EXCEPTION_ALREADY_RESOLVED' } }]);
    expect(await available(traderId)).toBe(before - 8_000_000n);
    expect((await get(exceptionId)).actions).toHaveLength(1);
    await ledgerClean();
  });

  describe('when the resolve is interrupted', () => {
    const deps = (overrides: Partial<ResolveDeps> = {}): ResolveDeps => ({
      db: stack.db,
      call: createCall(stack.messaging, 10_000),
      relay: stack.app.relay,
      log: testLogger('resolve'),
      ...overrides,
    });

    it('after the ledger moved the money but before the commit, then the retry records that transfer and moves nothing again', async () => {
      const { traderId, exceptionId } = await exposed('trader_received_twice', 4_000_000n, 30_000_000n);
      const before = await available(traderId);
      const req = { exceptionId, operatorId: 'op-r', resolution: 'recover_from_trader' as const, note: 'first try' };
      const crash = new Error('crash after the ledger transfer');
      await expect(resolveException(deps({ afterTransfer: () => Promise.reject(crash) }), req, newId())).rejects.toBe(crash);
      expect(await available(traderId)).toBe(before - 4_000_000n);
      expect(await get(exceptionId)).toMatchObject({ status: 'open', actions: [] });

      const retry = await stack.call(exceptionsRpc.resolve, req);
      expect(retry).toMatchObject({
        ok: true,
        data: { status: 'resolved', outstandingMinor: 0n, actions: [{ operatorId: 'op-r', movedMinor: 4_000_000n, note: 'first try' }] },
      });
      expect(await available(traderId)).toBe(before - 4_000_000n);
      await ledgerClean();
    });

    it('and another resolution comes next, then the earlier transfer is recorded first and the new one applies to what is left', async () => {
      const { traderId, exceptionId } = await exposed('trader_received_twice', 6_000_000n, 14_000_000n);
      // 4 available of the 6 owed: the interrupted recovery took 4.
      const crash = new Error('crash after the ledger transfer');
      await expect(
        resolveException(
          deps({ afterTransfer: () => Promise.reject(crash) }),
          { exceptionId, operatorId: 'op-r', resolution: 'recover_from_trader', note: 'partial' },
          newId(),
        ),
      ).rejects.toBe(crash);
      const lossBefore = await posted(loss);
      const r = await resolve(exceptionId, 'write_off', 'op-w', 'absorb the rest');
      expect(r).toMatchObject({ ok: true, data: { status: 'resolved', resolution: 'write_off', outstandingMinor: 0n } });
      expect(r.ok && r.data.actions.map((a) => [a.resolution, a.operatorId, a.movedMinor])).toEqual([
        ['recover_from_trader', 'op-r', 4_000_000n],
        ['write_off', 'op-w', 2_000_000n],
      ]);
      expect(await available(traderId)).toBe(0n);
      expect(await posted(loss)).toBe(lossBefore - 2_000_000n);
      await ledgerClean();
    });

    it('because the ledger does not answer, then PSP_UNAVAILABLE and nothing is recorded', async () => {
      const { traderId, exceptionId } = await exposed('trader_received_twice', 2_000_000n, 20_000_000n);
      const before = await available(traderId);
      const elsewhere = await testMessaging('no-ledger');
      try {
        const r = await resolveException(
          deps({ call: createCall(elsewhere, 2_000) }),
          { exceptionId, operatorId: 'op-x', resolution: 'recover_from_trader', note: 'ledger down' },
          newId(),
        );
        expect(r).toMatchObject({ ok: false, error: { code: 'PSP_UNAVAILABLE' } });
      } finally {
        await elsewhere.cleanup();
      }
      expect(await get(exceptionId)).toMatchObject({ status: 'open', outstandingMinor: 2_000_000n, actions: [] });
      expect(await available(traderId)).toBe(before);
    });
  });

  it('when exceptions open and resolve, then exceptions_open{kind} follows the table', async () => {
    const gauge = async () => {
      const text = (await stack.app.http.app.inject({ url: '/metrics' })).body;
      const m = /^exceptions_open\{[^}]*kind="reconciliation_mismatch"[^}]*\} (\d+)$/m.exec(text);
      return m ? Number(m[1]) : null;
    };
    const before = await gauge();
    expect(before).not.toBeNull();
    const { exceptionId } = await open({
      kind: 'reconciliation_mismatch',
      key: `test:${newId()}`,
      withdrawalId: null,
      traderId: null,
      partnerReference: 'tx-x',
      facts: {},
      exposure: 'none',
      amountMinor: 0n,
    });
    expect(await gauge()).toBe(before! + 1);
    expect(await stack.call(exceptionsRpc.list, { status: 'open', kind: 'reconciliation_mismatch', page: 1, limit: 100 })).toMatchObject({
      total: before! + 1,
    });
    await resolve(exceptionId, 'dismiss');
    expect(await gauge()).toBe(before);
  });

  it('when listed, then filtered by status, kind and withdrawal, newest first, paged', async () => {
    const a = await exposed('none', 0n, 20_000_000n);
    const b = await exposed('none', 0n, 20_000_000n);
    const byWithdrawal = await stack.call(exceptionsRpc.list, { withdrawalId: a.withdrawalId, page: 1, limit: 10 });
    expect(byWithdrawal).toMatchObject({ total: 1, exceptions: [{ exceptionId: a.exceptionId }] });
    const page1 = await stack.call(exceptionsRpc.list, { status: 'open', kind: 'partner_outcome_after_terminal', page: 1, limit: 1 });
    expect(page1.exceptions.map((e) => e.exceptionId)).toEqual([b.exceptionId]);
    const page2 = await stack.call(exceptionsRpc.list, { status: 'open', kind: 'partner_outcome_after_terminal', page: 2, limit: 1 });
    expect(page2.exceptions.map((e) => e.exceptionId)).toEqual([a.exceptionId]);
    await resolve(a.exceptionId, 'dismiss');
    const resolved = await stack.call(exceptionsRpc.list, { status: 'resolved', withdrawalId: a.withdrawalId, page: 1, limit: 10 });
    expect(resolved).toMatchObject({ total: 1, exceptions: [{ exceptionId: a.exceptionId, status: 'resolved' }] });
  });
});
