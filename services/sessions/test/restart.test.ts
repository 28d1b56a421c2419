import { afterEach, describe, expect, it } from 'vitest';
import { ledgerRpc, sessionsRpc } from '@offramp/contracts';
import { z } from 'zod';
import { debit, funded, startTestStack, until, type TestStack } from './harness.ts';

describe('a restart with withdrawals in flight', () => {
  let stack: TestStack | undefined;
  afterEach(async () => {
    await stack?.cleanup();
    stack = undefined;
  });

  it('when the service is closed with 50 withdrawals in flight and started again, then all 50 end once, with the right money and a clean ledger', async () => {
    const crashAfterHold = new Set<string>();
    const s = await startTestStack({
      hooks: {
        afterHold: (session) => {
          if (crashAfterHold.delete(session.id)) throw new Error('simulated crash between the hold and the commit');
        },
      },
    });
    stack = s;
    const traders = await Promise.all(Array.from({ length: 50 }, () => s.trader(funded)));
    const failing = new Set(traders.filter((_, i) => i % 2 === 1));
    for (const t of failing) s.psp.scenarios.set(t, 'failure');
    const sessions = await Promise.all(traders.map((t) => s.session(t)));
    // Five initiations die between the hold and the commit: only the sweeper of the next process can finish them.
    for (const session of sessions.slice(0, 5)) crashAfterHold.add(session.sessionId);
    const answers = await Promise.allSettled(traders.map((t, i) => s.initiate(t, sessions[i]!.sessionId)));
    expect(answers.filter((a) => a.status === 'rejected')).toHaveLength(5);

    await s.restart();
    const byTrader = new Map(
      (await s.rows(z.object({ trader_id: z.string(), withdrawal_id: z.string() }), 'select trader_id, withdrawal_id from sessions')).map(
        (r) => [r.trader_id, r.withdrawal_id],
      ),
    );
    const terminal = async () => {
      const { withdrawals } = await s.call(sessionsRpc.listWithdrawals, { page: 1, limit: 100 });
      return withdrawals.filter((w) => w.status === 'completed' || w.status === 'rejected').length;
    };
    await until('50 terminal withdrawals', async () => (await terminal()) === 50, 60_000);

    const { withdrawals, total } = await s.call(sessionsRpc.listWithdrawals, { page: 1, limit: 100 });
    expect(total).toBe(50);
    for (const traderId of traders) {
      const withdrawalId = byTrader.get(traderId)!;
      const w = withdrawals.find((x) => x.withdrawalId === withdrawalId)!;
      const expected = failing.has(traderId) ? 'rejected' : 'completed';
      expect(w.status).toBe(expected);
      expect(w.timeline.filter((e) => e.kind === 'transition' && e.to === expected)).toHaveLength(1);
      expect(w.timeline.filter((e) => e.kind === 'transition' && e.from === null)).toHaveLength(1);
      expect((await s.holdResolved(withdrawalId)).holdStatus).toBe(failing.has(traderId) ? 'voided' : 'posted');
      expect(await s.balance(traderId)).toMatchObject({
        postedMinor: failing.has(traderId) ? funded : funded - debit,
        pendingDebitsMinor: 0n,
      });
    }
    expect(new Set(s.psp.createOfframps.map((c) => c.withdrawalId)).size).toBe(50);
    expect(await s.rows(z.object({ n: z.number() }), "select count(*)::int as n from sessions where status = 'consumed'")).toEqual([
      { n: 50 },
    ]);
    expect(await s.call(ledgerRpc.check, {})).toMatchObject({ ok: true, mismatches: [] });
  });
});
