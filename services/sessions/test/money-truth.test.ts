import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEnvelope, newId } from '@offramp/kit';
import { ledgerCommands, ledgerRpc, sessionsRpc, withdrawalOperatorRpc, type WithdrawalStatus } from '@offramp/contracts';
import { debit, funded, startTestStack, until, type TestStack } from './harness.ts';
import { publishEnvelope } from './players.ts';

describe('answers tell the truth about money', () => {
  let stack: TestStack;
  /** Messages the saga's consumers gave back for redelivery (the ledger did not answer). */
  let retries = 0;
  beforeAll(async () => {
    stack = await startTestStack({ hooks: { consumer: { onSettled: (result) => void (result === 'retry' && retries++) } } });
  });
  afterAll(async () => stack?.cleanup());

  const holdStatus = async (withdrawalId: string) => (await stack.call(ledgerRpc.getTransfer, { id: withdrawalId })).transfer?.holdStatus;
  /** Runs `work` with the ledger stopped, and always starts it again. */
  async function withoutLedger<T>(work: () => Promise<T>): Promise<T> {
    await stack.stopLedger();
    try {
      return await work();
    } finally {
      await stack.startLedger();
    }
  }

  it('when withdrawals complete and fail, then each time one reads completed or rejected the ledger has already posted or voided its hold', async () => {
    const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => stack.withdraw({ scenario: i % 2 === 0 ? 'success' : 'failure' })));
    const seen = await Promise.all(
      runs.map(async ({ traderId, withdrawalId }) => {
        let status: WithdrawalStatus = 'pending';
        let reads = 0;
        await until(`${withdrawalId} terminal`, async () => {
          // The status first, the money after: if the status was committed before the money, this catches it.
          const r = await stack.call(sessionsRpc.getWithdrawal, { withdrawalId });
          if (!r.ok) throw new Error(r.error.code);
          status = r.data.status;
          reads++;
          if (status !== 'completed' && status !== 'rejected') return false;
          expect(await holdStatus(withdrawalId)).toBe(status === 'completed' ? 'posted' : 'voided');
          expect(await stack.balance(traderId)).toMatchObject({
            pendingDebitsMinor: 0n,
            availableMinor: status === 'completed' ? funded - debit : funded,
          });
          return true;
        });
        return { status, reads };
      }),
    );
    expect(seen.map((s) => s.status)).toEqual(runs.map((_, i) => (i % 2 === 0 ? 'completed' : 'rejected')));
    expect((await stack.call(ledgerRpc.check, {})).ok).toBe(true);
  });

  it('when the ledger is unreachable as Alfred reports the outcome, then the withdrawal stays where it was and the event is redelivered until the ledger posts', async () => {
    const { traderId, withdrawalId } = await stack.processing();
    const before = retries;
    await withoutLedger(async () => {
      await stack.psp.emit(withdrawalId, 'FIAT_TRANSFER_COMPLETED');
      await until('a redelivery', () => retries > before);
      const w = await stack.withdrawal(withdrawalId);
      expect(w.status).toBe('processing');
      expect(w.timeline.some((e) => e.to === 'completed')).toBe(false);
    });
    await stack.reaches(withdrawalId, 'completed');
    expect(await holdStatus(withdrawalId)).toBe('posted');
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded - debit, pendingDebitsMinor: 0n });
    expect((await stack.withdrawal(withdrawalId)).timeline.filter((e) => e.to === 'completed')).toHaveLength(1);
  });

  it('when an operator acts while the ledger is unreachable, then 503 PSP_UNAVAILABLE and nothing changes; the same action succeeds once it answers', async () => {
    const { traderId, withdrawalId } = await stack.withdraw({ decision: 'review' });
    await stack.reaches(withdrawalId, 'in_review');
    const before = await stack.withdrawal(withdrawalId);
    await withoutLedger(async () => {
      const r = await stack.call(withdrawalOperatorRpc.reject, { withdrawalId, operatorId: 'op-1', reason: 'documents' });
      expect(r).toMatchObject({ ok: false, error: { code: 'PSP_UNAVAILABLE' } });
    });
    expect(await stack.withdrawal(withdrawalId)).toEqual(before);
    expect(await holdStatus(withdrawalId)).toBe('pending');
    expect(await stack.call(withdrawalOperatorRpc.reject, { withdrawalId, operatorId: 'op-1', reason: 'documents' })).toMatchObject({
      ok: true,
      data: { status: 'rejected' },
    });
    expect(await holdStatus(withdrawalId)).toBe('voided');
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded, availableMinor: funded, pendingDebitsMinor: 0n });
  });

  it('when the ledger refuses to post (the hold was voided behind the withdrawal), then it stays processing, the refusal is on the timeline and ledger_command_refused is opened', async () => {
    const { withdrawalId } = await stack.processing();
    expect(await stack.call(ledgerRpc.voidHold, { id: newId(), holdId: withdrawalId })).toMatchObject({ outcome: 'ok' });
    await stack.psp.emit(withdrawalId, 'FIAT_TRANSFER_COMPLETED');
    await until('the exception', async () => (await stack.exceptionsOf(withdrawalId)).length === 1);
    const w = await stack.withdrawal(withdrawalId);
    expect(w.status).toBe('processing');
    expect(w.timeline.find((e) => e.kind === 'refused')).toMatchObject({
      from: 'processing',
      to: 'completed',
      actor: 'alfred',
      reason: 'The ledger refused to post the hold: hold_already_voided',
    });
    expect(await stack.exceptionsOf(withdrawalId)).toMatchObject([
      {
        kind: 'ledger_command_refused',
        status: 'open',
        exposure: 'trader_received_twice',
        amountMinor: debit,
        facts: { command: 'post-hold', ledgerOutcome: 'hold_already_voided', attemptedStatus: 'completed' },
      },
    ]);
  });

  it('when the ledger refuses a command about a withdrawal (command-refused), then ledger_command_refused is opened for that withdrawal', async () => {
    const { withdrawalId } = await stack.withdraw();
    await stack.reaches(withdrawalId, 'completed');
    const commandId = newId();
    const command = makeEnvelope(
      ledgerCommands.voidHold,
      { id: commandId, holdId: withdrawalId },
      { correlationId: withdrawalId, traceId: newId() },
    );
    await publishEnvelope(stack.messaging, ledgerCommands.voidHold.subject, command);
    await until('the exception', async () => (await stack.exceptionsOf(withdrawalId)).length === 1);
    expect(await stack.exceptionsOf(withdrawalId)).toMatchObject([
      {
        kind: 'ledger_command_refused',
        withdrawalId,
        exposure: 'none',
        facts: { command: 'void-hold', ledgerOutcome: 'hold_already_posted', transferId: commandId, withdrawalStatus: 'completed' },
      },
    ]);
    expect((await stack.withdrawal(withdrawalId)).status).toBe('completed');
    expect(await holdStatus(withdrawalId)).toBe('posted');
  });

  describe('initiate during a ledger outage', () => {
    const listed = async (traderId: string) =>
      (await stack.call(sessionsRpc.listWithdrawals, { traderId, page: 1, limit: 10 })).withdrawals.map((w) => w.withdrawalId);

    it('when initiate cannot reach the ledger, then PSP_UNAVAILABLE says to retry with the same session_id; the retry returns the withdrawal, it is listed, and the funds are held once', async () => {
      const traderId = await stack.trader(funded);
      stack.risk.decisions.set(traderId, 'hold');
      const session = await stack.session(traderId);
      await withoutLedger(async () => {
        const r = await stack.initiate(traderId, session.sessionId);
        expect(r).toMatchObject({
          ok: false,
          error: { code: 'PSP_UNAVAILABLE', message: expect.stringContaining('Retry with the same session_id') },
        });
        expect(await listed(traderId)).toEqual([]);
      });
      const retry = await stack.initiate(traderId, session.sessionId);
      expect(retry).toMatchObject({ ok: true, data: { status: 'pending', debited: { amountMinor: debit } } });
      if (!retry.ok) return;
      expect(await listed(traderId)).toEqual([retry.data.withdrawalId]);
      expect(await stack.balance(traderId)).toMatchObject({ availableMinor: funded - debit, pendingDebitsMinor: debit });
      expect(await stack.initiate(traderId, session.sessionId)).toEqual(retry);
    });

    it('when the trader does not retry, then the sweeper finishes the initiation once the ledger answers: it is listed, held once, and a later retry returns it', async () => {
      const traderId = await stack.trader(funded);
      stack.risk.decisions.set(traderId, 'hold');
      const session = await stack.session(traderId);
      await withoutLedger(async () => {
        expect(await stack.initiate(traderId, session.sessionId)).toMatchObject({ ok: false, error: { code: 'PSP_UNAVAILABLE' } });
      });
      await until('the sweeper to finish it', async () => (await listed(traderId)).length === 1);
      const [withdrawalId] = await listed(traderId);
      expect((await stack.withdrawal(withdrawalId!)).timeline[0]).toMatchObject({ from: null, to: 'pending', actor: 'system' });
      expect(await stack.balance(traderId)).toMatchObject({ availableMinor: funded - debit, pendingDebitsMinor: debit });
      expect(await stack.initiate(traderId, session.sessionId)).toMatchObject({ ok: true, data: { withdrawalId, status: 'pending' } });
      expect(await stack.balance(traderId)).toMatchObject({ pendingDebitsMinor: debit });
    });
  });
});
