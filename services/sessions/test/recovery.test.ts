import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcError } from '@offramp/kit';
import { ledgerRpc, pspAlfredCommands, sessionsRpc, withdrawalOperatorRpc } from '@offramp/contracts';
import { z } from 'zod';
import { debit, funded, startTestStack, until, type TestStack } from './harness.ts';

describe('recovery by the sweeper', () => {
  let stack: TestStack;
  /** Sessions whose initiation crashes between the hold and the commit. */
  const crashAfterHold = new Set<string>();
  beforeAll(async () => {
    stack = await startTestStack({
      env: { SWEEPER_OFFRAMP_RESEND_MS: '1500', SWEEPER_RISK_REPUBLISH_MS: '1500' },
      hooks: {
        afterHold: (session) => {
          if (crashAfterHold.delete(session.id)) throw new Error('simulated crash between the hold and the commit');
        },
      },
    });
  });
  afterAll(async () => stack?.cleanup());

  async function crashedInitiation(traderId: string) {
    const session = await stack.session(traderId);
    crashAfterHold.add(session.sessionId);
    await expect(stack.initiate(traderId, session.sessionId)).rejects.toThrow(RpcError);
    const [row] = await stack.rows(
      z.object({ status: z.string(), withdrawal_id: z.string() }),
      'select status, withdrawal_id from sessions where id = ?',
      [session.sessionId],
    );
    expect(row!.status).toBe('initiating');
    expect((await stack.call(ledgerRpc.getTransfer, { id: row!.withdrawal_id })).transfer).toMatchObject({
      holdStatus: 'pending',
      amountMinor: debit,
    });
    expect(await stack.rows(z.object({ id: z.string() }), 'select id from withdrawals where id = ?', [row!.withdrawal_id])).toEqual([]);
    return { sessionId: session.sessionId, withdrawalId: row!.withdrawal_id };
  }

  it('when the service crashed between the hold and the commit, then the sweeper finishes the withdrawal, which then completes once', async () => {
    const traderId = await stack.trader(funded);
    const { sessionId, withdrawalId } = await crashedInitiation(traderId);
    await stack.reaches(withdrawalId, 'completed');
    expect((await stack.holdResolved(withdrawalId)).holdStatus).toBe('posted');
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded - debit, pendingDebitsMinor: 0n });
    expect((await stack.withdrawal(withdrawalId)).timeline[0]).toMatchObject({
      from: null,
      to: 'pending',
      actor: 'system',
      reason: 'initiation finished by the sweeper',
    });
    expect(await stack.initiate(traderId, sessionId)).toMatchObject({ ok: true, data: { withdrawalId, status: 'completed' } });
  });

  it('when a crashed initiation has expired, then the sweeper gives it up, voids the hold and the session answers SESSION_EXPIRED', async () => {
    const traderId = await stack.trader(funded);
    const { sessionId, withdrawalId } = await crashedInitiation(traderId);
    await stack.run("update sessions set expires_at = now() - interval '1 second' where id = ?", [sessionId]);
    expect((await stack.holdResolved(withdrawalId)).holdStatus).toBe('voided');
    expect(await stack.rows(z.object({ status: z.string() }), 'select status from sessions where id = ?', [sessionId])).toEqual([
      { status: 'abandoned' },
    ]);
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded, availableMinor: funded, pendingDebitsMinor: 0n });
    expect(await stack.initiate(traderId, sessionId)).toMatchObject({ ok: false, error: { code: 'SESSION_EXPIRED' } });
    expect(await stack.rows(z.object({ id: z.string() }), 'select id from withdrawals where id = ?', [withdrawalId])).toEqual([]);
  });

  it('when an approved withdrawal gets no offramp, then createOfframp is re-sent and the withdrawal completes once', async () => {
    const { traderId, withdrawalId } = await stack.withdraw({ scenario: 'manual' });
    await until('a re-sent createOfframp', () => stack.psp.createOfframps.filter((c) => c.withdrawalId === withdrawalId).length >= 2);
    expect((await stack.withdrawal(withdrawalId)).timeline.some((e) => e.kind === 'note' && e.reason?.includes('re-sent'))).toBe(true);
    await stack.offrampCreated(withdrawalId);
    await stack.psp.emit(withdrawalId, 'FIAT_TRANSFER_COMPLETED');
    await stack.reaches(withdrawalId, 'completed');
    expect((await stack.holdResolved(withdrawalId)).holdStatus).toBe('posted');
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded - debit, pendingDebitsMinor: 0n });
  });

  it('when risk has not decided for long, then debited is published again and a late decision moves the withdrawal on', async () => {
    const { traderId, withdrawalId } = await stack.withdraw({ decision: 'hold' });
    await until('debited re-published', () => stack.risk.debited.filter((d) => d.withdrawalId === withdrawalId).length >= 2);
    expect((await stack.withdrawal(withdrawalId)).status).toBe('pending');
    stack.risk.decisions.set(traderId, 'approve');
    await stack.reaches(withdrawalId, 'completed');
    expect((await stack.holdResolved(withdrawalId)).holdStatus).toBe('posted');
    expect(await stack.balance(traderId)).toMatchObject({ postedMinor: funded - debit, pendingDebitsMinor: 0n });
  });

  it('when an approved or processing withdrawal has not moved past RECONCILE_AFTER_MS, then psp-alfred is asked to reconcile it through the outbox, once per period, and not after it ends', async () => {
    const { withdrawalId } = await stack.processing();
    const sent = async () =>
      (
        await stack.rows(
          z.object({ n: z.number() }),
          "select count(*)::int as n from outbox where subject = ? and envelope->'payload'->>'withdrawalId' = ?",
          [pspAlfredCommands.reconcileOfframp.subject, withdrawalId],
        )
      )[0]!.n;
    await stack.app.sweeper.runOnce();
    expect(await sent()).toBe(0);

    // Its status has not moved for longer than the threshold (60 s by default).
    await stack.run("update withdrawals set status_changed_at = now() - interval '2 minutes' where id = ?", [withdrawalId]);
    await until('the reconcile command', () => stack.psp.reconciles.includes(withdrawalId));
    await stack.app.sweeper.runOnce();
    await stack.app.sweeper.runOnce();
    expect(await sent()).toBe(1);

    // A period later it is asked again; once terminal, never.
    await stack.run("update withdrawals set reconcile_requested_at = now() - interval '2 minutes' where id = ?", [withdrawalId]);
    await until('the second reconcile command', () => stack.psp.reconciles.filter((id) => id === withdrawalId).length === 2);
    await stack.psp.emit(withdrawalId, 'FIAT_TRANSFER_COMPLETED');
    await stack.reaches(withdrawalId, 'completed');
    await stack.run(
      "update withdrawals set status_changed_at = now() - interval '2 minutes', reconcile_requested_at = now() - interval '2 minutes' where id = ?",
      [withdrawalId],
    );
    await stack.app.sweeper.runOnce();
    await stack.app.sweeper.runOnce();
    expect(await sent()).toBe(2);
  });

  it('when a withdrawal stays in its status past the SLA, then it is flagged, counted in /metrics and listed for operators until it moves', async () => {
    const { withdrawalId } = await stack.withdraw({ decision: 'review' });
    await stack.reaches(withdrawalId, 'in_review');
    await stack.run("update withdrawals set status_changed_at = now() - interval '25 hours' where id = ?", [withdrawalId]);
    await until('the flag', async () => (await stack.withdrawal(withdrawalId)).stuckSince !== null);
    const metrics = await stack.app.http.app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/withdrawals_stuck\{[^}]*status="in_review"[^}]*\} 1/);
    const stuck = await stack.call(sessionsRpc.listWithdrawals, { stuck: true, page: 1, limit: 100 });
    expect(stuck.withdrawals.map((w) => w.withdrawalId)).toEqual([withdrawalId]);
    expect(stuck.total).toBe(1);

    const moved = await stack.call(withdrawalOperatorRpc.reject, { withdrawalId, operatorId: 'op-9', reason: 'stale review' });
    expect(moved).toMatchObject({ ok: true, data: { status: 'rejected', stuckSince: null } });
    expect((await stack.call(sessionsRpc.listWithdrawals, { stuck: true, page: 1, limit: 100 })).withdrawals).toEqual([]);
    await stack.app.sweeper.runOnce();
    expect((await stack.app.http.app.inject({ url: '/metrics' })).body).not.toMatch(/withdrawals_stuck\{[^}]*status="in_review"[^}]*\} 1/);
  });
});
