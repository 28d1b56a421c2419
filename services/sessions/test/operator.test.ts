import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pspAlfredEvents, sessionsRpc, withdrawalOperatorRpc, type RiskDecision } from '@offramp/contracts';
import { startTestStack, until, type TestStack } from './harness.ts';
import { publishEvent, type OfframpScenario } from './players.ts';

const funded = 25_000_000n;
const debit = 10_000_000n;

describe('operator actions and queries', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => stack?.cleanup());

  async function withdraw(opts: { scenario?: OfframpScenario; decision?: RiskDecision | 'hold'; traderId?: string } = {}) {
    const traderId = opts.traderId ?? (await stack.trader(funded));
    if (opts.scenario) stack.psp.scenarios.set(traderId, opts.scenario);
    if (opts.decision) stack.risk.decisions.set(traderId, opts.decision);
    const session = await stack.session(traderId);
    const r = await stack.initiate(traderId, session.sessionId);
    if (!r.ok) throw new Error(`initiate refused: ${r.error.code}`);
    return { traderId, withdrawalId: r.data.withdrawalId };
  }

  it('when an operator completes a processing withdrawal confirmed out of band, then completed with the reference and the hold posted', async () => {
    const { traderId, withdrawalId } = await withdraw({ scenario: 'manual' });
    await stack.reaches(withdrawalId, 'approved');
    const transactionId = stack.psp.transactionOf(withdrawalId);
    await publishEvent(stack.messaging, pspAlfredEvents.offrampCreated, { withdrawalId, transactionId, depositAddress: '0xd', chain: 'TRON', cryptoAmountMinor: debit });
    await stack.reaches(withdrawalId, 'processing');
    const r = await stack.call(withdrawalOperatorRpc.complete, { withdrawalId, operatorId: 'op-1', reference: 'BANK-REF-77' });
    expect(r).toMatchObject({ ok: true, data: { status: 'completed', settlementReference: 'BANK-REF-77' } });
    expect((await stack.holdResolved(withdrawalId)).holdStatus).toBe('posted');
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded - debit, pendingDebitsMinor: 0n });
    expect((await stack.withdrawal(withdrawalId)).timeline.at(-1)).toMatchObject({ kind: 'transition', from: 'processing', to: 'completed', actor: 'operator:op-1' });
  });

  it('when an operator overrides along a legal edge, then it moves with the money effect; an illegal override is refused and audited', async () => {
    const { traderId, withdrawalId } = await withdraw({ decision: 'hold' });
    const r = await stack.call(withdrawalOperatorRpc.overrideStatus, { withdrawalId, operatorId: 'op-2', status: 'rejected', reason: 'customer asked to cancel' });
    expect(r).toMatchObject({ ok: true, data: { status: 'rejected', failureReason: 'customer asked to cancel' } });
    expect((await stack.holdResolved(withdrawalId)).holdStatus).toBe('voided');
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded, availableMinor: funded, pendingDebitsMinor: 0n });

    const illegal = await stack.call(withdrawalOperatorRpc.overrideStatus, { withdrawalId, operatorId: 'op-2', status: 'completed', reason: 'oops' });
    expect(illegal).toMatchObject({ ok: false, error: { code: 'ALFRED_INCORRECT_STATUS_CHANGE', details: { from: 'rejected', to: 'completed' } } });
    const w = await stack.withdrawal(withdrawalId);
    expect(w.status).toBe('rejected');
    expect(w.timeline.at(-1)).toMatchObject({ kind: 'refused', from: 'rejected', to: 'completed', actor: 'operator:op-2', refusedCode: 'ALFRED_INCORRECT_STATUS_CHANGE' });
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded, pendingDebitsMinor: 0n });
  });

  it('when an operator re-dispatches an approved withdrawal, then createOfframp is sent again; a pending one is refused', async () => {
    const approved = await withdraw({ scenario: 'manual' });
    await until('createOfframp', () => stack.psp.createOfframps.some((c) => c.withdrawalId === approved.withdrawalId));
    const r = await stack.call(withdrawalOperatorRpc.process, { withdrawalId: approved.withdrawalId, operatorId: 'op-3' });
    expect(r).toMatchObject({ ok: true, data: { status: 'approved' } });
    await until('the re-sent command', () => stack.psp.createOfframps.filter((c) => c.withdrawalId === approved.withdrawalId).length === 2);
    expect((await stack.withdrawal(approved.withdrawalId)).timeline.at(-1)).toMatchObject({ kind: 'note', actor: 'operator:op-3', reason: 'PSP request re-dispatched' });

    const pending = await withdraw({ decision: 'hold' });
    expect(await stack.call(withdrawalOperatorRpc.process, { withdrawalId: pending.withdrawalId, operatorId: 'op-3' })).toMatchObject({
      ok: false,
      error: { code: 'ALFRED_INCORRECT_STATUS_CHANGE' },
    });
    expect(stack.psp.createOfframps.some((c) => c.withdrawalId === pending.withdrawalId)).toBe(false);
  });

  it("when a trader lists or reads withdrawals, then only their own, newest first, paged; another trader's is WITHDRAWAL_NOT_FOUND", async () => {
    const traderId = await stack.trader(3n * funded);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await withdraw({ traderId, decision: 'hold' })).withdrawalId);
    const other = await withdraw({ decision: 'hold' });

    const page1 = await stack.call(sessionsRpc.listWithdrawals, { traderId, page: 1, limit: 2 });
    const page2 = await stack.call(sessionsRpc.listWithdrawals, { traderId, page: 2, limit: 2 });
    expect(page1.total).toBe(3);
    expect([...page1.withdrawals, ...page2.withdrawals].map((w) => w.withdrawalId)).toEqual([...ids].reverse());
    expect(page1.withdrawals[0]!.timeline).toMatchObject([{ from: null, to: 'pending' }]);
    expect((await stack.call(sessionsRpc.listWithdrawals, { traderId, status: 'completed', page: 1, limit: 10 })).withdrawals).toEqual([]);

    expect(await stack.call(sessionsRpc.getWithdrawal, { traderId, withdrawalId: ids[0]! })).toMatchObject({ ok: true, data: { withdrawalId: ids[0], traderId } });
    expect(await stack.call(sessionsRpc.getWithdrawal, { traderId, withdrawalId: other.withdrawalId })).toMatchObject({ ok: false, error: { code: 'WITHDRAWAL_NOT_FOUND' } });
  });

  it('when probed, then /healthz and /readyz answer 200 with database and nats ready', async () => {
    expect((await stack.app.http.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    const ready = await stack.app.http.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().data.checks).toEqual({ database: 'ok', nats: 'ok' });
  });
});
