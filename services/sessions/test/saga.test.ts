import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEnvelope, newId } from '@offramp/kit';
import { ledgerRpc, pspAlfredEvents, withdrawalEvents, withdrawalOperatorRpc } from '@offramp/contracts';
import { z } from 'zod';
import { derivedId } from '../src/app.ts';
import { debit, funded, startTestStack, until, type TestStack } from './harness.ts';
import { publishEnvelope, publishEvent } from './players.ts';

describe('the withdrawal saga', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => stack?.cleanup());

  const transitions = async (withdrawalId: string) =>
    (await stack.withdrawal(withdrawalId)).timeline
      .filter((e) => e.kind === 'transition')
      .map((e) => `${e.from ?? 'null'}->${e.to} ${e.actor.split(':')[0]}`);
  const resolutionsOf = async (withdrawalId: string) => ({
    post: (await stack.call(ledgerRpc.getTransfer, { id: derivedId(withdrawalId, 'post-hold') })).transfer,
    void: (await stack.call(ledgerRpc.getTransfer, { id: derivedId(withdrawalId, 'void-hold') })).transfer,
  });
  const expectRestored = async (traderId: string, withdrawalId: string) => {
    expect((await stack.holdResolved(withdrawalId)).holdStatus).toBe('voided');
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded, availableMinor: funded, pendingDebitsMinor: 0n });
  };

  it('when risk approves and Alfred completes (TC-W1), then completed, the balance is down by exactly the debit and nothing is held', async () => {
    const { traderId, withdrawalId } = await stack.withdraw();
    await stack.reaches(withdrawalId, 'completed');
    expect((await stack.holdResolved(withdrawalId)).holdStatus).toBe('posted');
    expect(await stack.balance(traderId)).toMatchObject({
      postedMinor: funded - debit,
      availableMinor: funded - debit,
      pendingDebitsMinor: 0n,
    });
    const w = await stack.withdrawal(withdrawalId);
    expect(w.pspTransactionId).toBe(stack.psp.transactionOf(withdrawalId));
    expect(await transitions(withdrawalId)).toEqual([
      'null->pending trader',
      'pending->approved risk',
      'approved->processing alfred',
      'processing->completed alfred',
    ]);
    expect(w.timeline.filter((e) => e.kind === 'note').map((e) => e.reason)).toEqual([
      'Alfred status ON_CHAIN_DEPOSIT_RECEIVED (webhook)',
      'Alfred status TRADE_COMPLETED (webhook)',
      'Alfred status FIAT_TRANSFER_INITIATED (webhook)',
    ]);
    expect(stack.psp.createOfframps.filter((c) => c.withdrawalId === withdrawalId)).toEqual([
      {
        withdrawalId,
        traderId,
        fiatAccountId: `fa-${traderId}`,
        cryptoAmountMinor: debit,
        fiatCurrency: 'BRL',
        fiatAmount: '50.00',
        dispatch: 1,
      },
    ]);
    await stack.app.relay.flush();
    const changes = await stack.published<{ withdrawalId: string; to: string; restoredMinor: string | null }>(
      withdrawalEvents.statusChanged.subject,
    );
    expect(changes.filter((c) => c.withdrawalId === withdrawalId).map((c) => c.to)).toEqual([
      'pending',
      'approved',
      'processing',
      'completed',
    ]);
    expect((await stack.call(ledgerRpc.check, {})).ok).toBe(true);
  });

  it('when Alfred reports FAILED (Scenario B, TC-W7), then rejected with the reason and the balance restored to the unit', async () => {
    const { traderId, withdrawalId } = await stack.withdraw({ scenario: 'failure' });
    await stack.reaches(withdrawalId, 'rejected');
    await expectRestored(traderId, withdrawalId);
    const w = await stack.withdrawal(withdrawalId);
    expect(w.failureReason).toBe('QA_SIMULATED_FAILURE');
    expect(await transitions(withdrawalId)).toEqual([
      'null->pending trader',
      'pending->approved risk',
      'approved->processing alfred',
      'processing->rejected alfred',
    ]);
    await stack.app.relay.flush();
    const changes = await stack.published<{ withdrawalId: string; to: string; restoredMinor: string | null; reason: string | null }>(
      withdrawalEvents.statusChanged.subject,
    );
    expect(changes.filter((c) => c.withdrawalId === withdrawalId).at(-1)).toMatchObject({
      to: 'rejected',
      restoredMinor: String(debit),
      reason: 'QA_SIMULATED_FAILURE',
    });
  });

  it('when risk rejects or Alfred refuses the order, then rejected and restored, and a risk rejection never reaches Alfred', async () => {
    const rejected = await stack.withdraw({ decision: 'reject' });
    const refused = await stack.withdraw({ scenario: 'refuse' });
    await stack.reaches(rejected.withdrawalId, 'rejected');
    await stack.reaches(refused.withdrawalId, 'rejected');
    await expectRestored(rejected.traderId, rejected.withdrawalId);
    await expectRestored(refused.traderId, refused.withdrawalId);
    expect(await transitions(rejected.withdrawalId)).toEqual(['null->pending trader', 'pending->rejected risk']);
    expect((await stack.withdrawal(rejected.withdrawalId)).riskDecision).toMatchObject({
      decision: 'reject',
      reasons: [{ code: 'kyt_blocked' }],
    });
    expect(stack.psp.createOfframps.filter((c) => c.withdrawalId === rejected.withdrawalId)).toEqual([]);
    expect(await transitions(refused.withdrawalId)).toEqual([
      'null->pending trader',
      'pending->approved risk',
      'approved->rejected alfred',
    ]);
  });

  it('when risk asks for review, then an operator approval completes it, an operator rejection restores it, and approving a finished one is refused', async () => {
    const approved = await stack.withdraw({ decision: 'review' });
    const rejected = await stack.withdraw({ decision: 'review' });
    await stack.reaches(approved.withdrawalId, 'in_review');
    await stack.reaches(rejected.withdrawalId, 'in_review');
    expect(stack.psp.createOfframps.filter((c) => c.withdrawalId === approved.withdrawalId)).toEqual([]);

    const ok = await stack.call(withdrawalOperatorRpc.approve, { withdrawalId: approved.withdrawalId, operatorId: 'op-1' });
    expect(ok).toMatchObject({ ok: true, data: { status: 'approved' } });
    await stack.reaches(approved.withdrawalId, 'completed');
    expect(await transitions(approved.withdrawalId)).toEqual([
      'null->pending trader',
      'pending->in_review risk',
      'in_review->approved operator',
      'approved->processing alfred',
      'processing->completed alfred',
    ]);
    expect((await stack.withdrawal(approved.withdrawalId)).timeline.find((e) => e.to === 'approved')?.actor).toBe('operator:op-1');

    const no = await stack.call(withdrawalOperatorRpc.reject, {
      withdrawalId: rejected.withdrawalId,
      operatorId: 'op-2',
      reason: 'documents do not match',
    });
    expect(no).toMatchObject({ ok: true, data: { status: 'rejected', failureReason: 'documents do not match' } });
    await expectRestored(rejected.traderId, rejected.withdrawalId);

    const again = await stack.call(withdrawalOperatorRpc.approve, { withdrawalId: approved.withdrawalId, operatorId: 'op-1' });
    expect(again).toMatchObject({
      ok: false,
      error: { code: 'ALFRED_INCORRECT_STATUS_CHANGE', details: { from: 'completed', to: 'approved' } },
    });
    const w = await stack.withdrawal(approved.withdrawalId);
    expect(w.status).toBe('completed');
    expect(w.timeline.at(-1)).toMatchObject({
      kind: 'refused',
      from: 'completed',
      to: 'approved',
      actor: 'operator:op-1',
      refusedCode: 'ALFRED_INCORRECT_STATUS_CHANGE',
    });
    expect(await stack.call(withdrawalOperatorRpc.approve, { withdrawalId: newId(), operatorId: 'op-1' })).toMatchObject({
      ok: false,
      error: { code: 'WITHDRAWAL_NOT_FOUND' },
    });
  });

  it('when FAILED arrives after FIAT_TRANSFER_COMPLETED (TC-W9), then it stays completed, no money moves, the timeline shows the refusal and an exception is opened', async () => {
    const { traderId, withdrawalId } = await stack.withdraw();
    await stack.reaches(withdrawalId, 'completed');
    await stack.holdResolved(withdrawalId);
    await stack.psp.emit(withdrawalId, 'FAILED', 'LATE_FAILURE');
    await until('the refused entry', async () => (await stack.withdrawal(withdrawalId)).timeline.some((e) => e.kind === 'refused'));
    const w = await stack.withdrawal(withdrawalId);
    expect(w.status).toBe('completed');
    expect(w.timeline.filter((e) => e.kind === 'refused')).toMatchObject([
      { from: 'completed', to: 'rejected', actor: 'alfred', reason: 'LATE_FAILURE', refusedCode: 'ALFRED_INCORRECT_STATUS_CHANGE' },
    ]);
    expect(await stack.exceptionsOf(withdrawalId)).toMatchObject([
      {
        kind: 'partner_outcome_after_terminal',
        status: 'open',
        exposure: 'trader_received_nothing',
        amountMinor: debit,
        partnerReference: stack.psp.transactionOf(withdrawalId),
        facts: { withdrawalStatus: 'completed', partnerStatus: 'FAILED' },
      },
    ]);
    await stack.app.relay.flush();
    expect(await resolutionsOf(withdrawalId)).toMatchObject({ post: { kind: 'post' }, void: null });
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded - debit, pendingDebitsMinor: 0n });
  });

  it('when FIAT_TRANSFER_COMPLETED arrives after rejected, then it stays rejected and refunded, no money moves, and one trader_received_twice exception is opened however often it repeats', async () => {
    const { traderId, withdrawalId } = await stack.withdraw({ scenario: 'failure' });
    await stack.reaches(withdrawalId, 'rejected');
    await expectRestored(traderId, withdrawalId);
    await stack.psp.emit(withdrawalId, 'FIAT_TRANSFER_COMPLETED');
    await stack.psp.emit(withdrawalId, 'FIAT_TRANSFER_COMPLETED');
    await until(
      'both refused entries',
      async () => (await stack.withdrawal(withdrawalId)).timeline.filter((e) => e.kind === 'refused').length === 2,
    );
    const w = await stack.withdrawal(withdrawalId);
    expect(w.status).toBe('rejected');
    expect(w.timeline.find((e) => e.kind === 'refused')).toMatchObject({
      from: 'rejected',
      to: 'completed',
      actor: 'alfred',
      refusedCode: 'ALFRED_INCORRECT_STATUS_CHANGE',
    });
    const exceptions = await stack.exceptionsOf(withdrawalId);
    expect(exceptions).toMatchObject([
      {
        kind: 'partner_outcome_after_terminal',
        status: 'open',
        exposure: 'trader_received_twice',
        amountMinor: debit,
        traderId,
        partnerReference: stack.psp.transactionOf(withdrawalId),
        facts: {
          withdrawalStatus: 'rejected',
          partnerStatus: 'FIAT_TRANSFER_COMPLETED',
          debitedMinor: String(debit),
          fiatAmount: '50.00',
          fiatCurrency: 'BRL',
        },
      },
    ]);
    expect(w.timeline.some((e) => e.kind === 'note' && e.reason?.includes(exceptions[0]!.exceptionId))).toBe(true);
    expect(await resolutionsOf(withdrawalId)).toMatchObject({ post: null, void: { kind: 'void' } });
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded, availableMinor: funded, pendingDebitsMinor: 0n });
  });

  it('when an order is created for a withdrawal risk rejected, then it stays rejected, an exception without exposure is opened and psp-alfred is asked to reconcile the order', async () => {
    const { traderId, withdrawalId } = await stack.withdraw({ decision: 'reject' });
    await stack.reaches(withdrawalId, 'rejected');
    await stack.offrampCreated(withdrawalId, 'tx-orphan');
    await until('the exception', async () => (await stack.exceptionsOf(withdrawalId)).length === 1);
    expect(await stack.exceptionsOf(withdrawalId)).toMatchObject([
      { kind: 'partner_outcome_after_terminal', exposure: 'none', amountMinor: 0n, partnerReference: 'tx-orphan' },
    ]);
    await until('the reconcile command', () => stack.psp.reconciles.includes(withdrawalId));
    expect((await stack.withdrawal(withdrawalId)).status).toBe('rejected');
    await expectRestored(traderId, withdrawalId);
  });

  it('when psp-alfred reports a discrepancy, then the exception of that kind is opened once per key, with its facts', async () => {
    const { withdrawalId } = await stack.withdraw({ scenario: 'manual' });
    const key = `partner_amount_mismatch:${withdrawalId}`;
    const payload = {
      key,
      kind: 'partner_amount_mismatch' as const,
      withdrawalId,
      transactionId: 'tx-amount',
      facts: { quotedFiat: '50.00', partnerFiat: '49.00' },
    };
    await publishEvent(stack.messaging, pspAlfredEvents.discrepancyFound, payload);
    await publishEvent(stack.messaging, pspAlfredEvents.discrepancyFound, payload);
    await until('the exception', async () => (await stack.exceptionsOf(withdrawalId)).length > 0);
    await stack.quiet();
    expect(await stack.exceptionsOf(withdrawalId)).toMatchObject([
      {
        kind: 'partner_amount_mismatch',
        status: 'open',
        partnerReference: 'tx-amount',
        facts: { quotedFiat: '50.00', partnerFiat: '49.00' },
      },
    ]);
  });

  it('when the same webhook event arrives 5 times, then one settlement and one completed transition', async () => {
    const { traderId, withdrawalId } = await stack.withdraw({ scenario: 'manual' });
    await until('createOfframp', () => stack.psp.createOfframps.some((c) => c.withdrawalId === withdrawalId));
    const transactionId = await stack.offrampCreated(withdrawalId);
    const completed = makeEnvelope(
      pspAlfredEvents.offrampStatusChanged,
      { withdrawalId, transactionId, status: 'FIAT_TRANSFER_COMPLETED', failureReason: null, source: 'webhook' },
      { correlationId: withdrawalId, traceId: newId() },
    );
    // Other Nats-Msg-Ids put five copies in the stream, as redeliveries would: the inbox must absorb them.
    for (let i = 0; i < 5; i++)
      await publishEnvelope(stack.messaging, pspAlfredEvents.offrampStatusChanged.subject, completed, `${completed.id}-${i}`);
    await stack.reaches(withdrawalId, 'completed');
    await stack.holdResolved(withdrawalId);
    await stack.quiet();
    expect(
      await stack.rows(z.object({ n: z.number() }), 'select count(*)::int as n from inbox where message_id = ?', [completed.id]),
    ).toEqual([{ n: 1 }]);
    const w = await stack.withdrawal(withdrawalId);
    expect(w.timeline.filter((e) => e.to === 'completed')).toHaveLength(1);
    expect(w.timeline.filter((e) => e.kind === 'refused')).toEqual([]);
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded - debit, pendingDebitsMinor: 0n });
  });

  it('when the chain comes out of order, then COMPLETED before offramp-created still ends completed exactly once', async () => {
    const { traderId, withdrawalId } = await stack.withdraw({ scenario: 'manual' });
    await until('createOfframp', () => stack.psp.createOfframps.some((c) => c.withdrawalId === withdrawalId));
    await stack.reaches(withdrawalId, 'approved');
    await stack.psp.emit(withdrawalId, 'FIAT_TRANSFER_COMPLETED');
    await stack.psp.emit(withdrawalId, 'FIAT_TRANSFER_INITIATED');
    await stack.offrampCreated(withdrawalId);
    await stack.psp.emit(withdrawalId, 'TRADE_COMPLETED');
    await until('the last note', async () =>
      (await stack.withdrawal(withdrawalId)).timeline.some((e) => e.reason?.includes('TRADE_COMPLETED')),
    );
    expect(await transitions(withdrawalId)).toEqual([
      'null->pending trader',
      'pending->approved risk',
      'approved->processing alfred',
      'processing->completed alfred',
    ]);
    expect((await stack.holdResolved(withdrawalId)).holdStatus).toBe('posted');
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded - debit, pendingDebitsMinor: 0n });
    expect((await stack.withdrawal(withdrawalId)).timeline.filter((e) => e.kind === 'refused')).toEqual([]);
  });

  it('when FAILED overtakes offramp-created, then rejected once and restored, and the late created event changes nothing', async () => {
    const { traderId, withdrawalId } = await stack.withdraw({ scenario: 'manual' });
    await stack.reaches(withdrawalId, 'approved');
    await stack.psp.emit(withdrawalId, 'FAILED', 'BANK_REJECTED');
    await stack.offrampCreated(withdrawalId);
    await stack.reaches(withdrawalId, 'rejected');
    await expectRestored(traderId, withdrawalId);
    await stack.quiet();
    expect(await transitions(withdrawalId)).toEqual([
      'null->pending trader',
      'pending->approved risk',
      'approved->processing alfred',
      'processing->rejected alfred',
    ]);
    expect((await stack.withdrawal(withdrawalId)).failureReason).toBe('BANK_REJECTED');
  });
});
