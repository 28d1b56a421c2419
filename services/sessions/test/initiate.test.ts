import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@offramp/kit';
import { ledgerRpc, withdrawalEvents } from '@offramp/contracts';
import { z } from 'zod';
import { startTestStack, until, type TestStack } from './harness.ts';

const tenUsdt = 10_000_000n;

describe('initiating a withdrawal', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => stack?.cleanup());

  const holdOf = async (withdrawalId: string) => (await stack.call(ledgerRpc.getTransfer, { id: withdrawalId })).transfer;
  const withdrawalsOf = (traderId: string) =>
    stack.rows(z.object({ id: z.string(), status: z.string() }), 'select id, status from withdrawals where trader_id = ?', [traderId]);

  it('when the owner initiates, then the hold is placed, the withdrawal is pending with its audit row and debited is published', async () => {
    const traderId = await stack.trader(25_000_000n);
    stack.risk.decisions.set(traderId, 'hold');
    const session = await stack.session(traderId);
    const r = await stack.initiate(traderId, session.sessionId);
    expect(r).toMatchObject({ ok: true, data: { status: 'pending', debited: { amountMinor: tenUsdt, currency: 'USDT' } } });
    if (!r.ok) return;
    const { withdrawalId } = r.data;
    expect(await holdOf(withdrawalId)).toMatchObject({
      kind: 'hold',
      holdStatus: 'pending',
      amountMinor: tenUsdt,
      debit: { owner: `trader:${traderId}` },
      credit: { owner: 'psp:alfred:clearing' },
    });
    expect(await stack.balance(traderId)).toMatchObject({ availableMinor: 15_000_000n, pendingDebitsMinor: tenUsdt });
    expect(await stack.rows(z.object({ status: z.string() }), 'select status from sessions where id = ?', [session.sessionId])).toEqual([
      { status: 'consumed' },
    ]);
    const w = await stack.withdrawal(withdrawalId);
    expect(w).toMatchObject({
      traderId,
      status: 'pending',
      debitedMinor: tenUsdt,
      fiatAmount: '50.00',
      fiatCurrency: 'BRL',
      paymentRouteId: 'BR_PIX',
    });
    expect(w.timeline).toMatchObject([{ kind: 'transition', from: null, to: 'pending', actor: `trader:${traderId}`, refusedCode: null }]);
    await until('debited reaches risk', () => stack.risk.debited.some((d) => d.withdrawalId === withdrawalId));
    expect(stack.risk.debited.find((d) => d.withdrawalId === withdrawalId)).toMatchObject({
      traderId,
      country: 'BR',
      debitedMinor: tenUsdt,
      accountHolderName: 'Ana Souza',
      kycName: 'Ana Souza',
      destinationFingerprint: `fp-${traderId}`,
    });
    const changes = await stack.published<{ withdrawalId: string; from: null; to: string }>(withdrawalEvents.statusChanged.subject);
    expect(changes.filter((c) => c.withdrawalId === withdrawalId)).toMatchObject([
      { from: null, to: 'pending', actor: `trader:${traderId}` },
    ]);
  });

  it("when another trader initiates someone's session (Scenario D), then ALFRED_SESSION_NOT_OWNED, nothing held on either account and no call to anyone", async () => {
    const victim = await stack.trader(tenUsdt);
    const attacker = await stack.trader(tenUsdt);
    const session = await stack.session(victim);
    const calls = stack.risk.checkInitiateCalls.length;
    const offramps = stack.psp.createOfframps.length;
    const r = await stack.initiate(attacker, session.sessionId);
    expect(r).toMatchObject({ ok: false, error: { code: 'ALFRED_SESSION_NOT_OWNED' } });
    for (const t of [victim, attacker]) expect(await stack.balance(t)).toMatchObject({ availableMinor: tenUsdt, pendingDebitsMinor: 0n });
    const [row] = await stack.rows(
      z.object({ status: z.string(), withdrawal_id: z.string() }),
      'select status, withdrawal_id from sessions where id = ?',
      [session.sessionId],
    );
    expect(row!.status).toBe('open');
    expect(await holdOf(row!.withdrawal_id)).toBeNull();
    expect(await withdrawalsOf(attacker)).toEqual([]);
    expect(stack.risk.checkInitiateCalls.length).toBe(calls);
    await stack.app.relay.flush();
    expect(stack.psp.createOfframps.length).toBe(offramps);
  });

  it('when the session is unknown or expired, then SESSION_NOT_FOUND or SESSION_EXPIRED and nothing is held', async () => {
    const traderId = await stack.trader(tenUsdt);
    expect(await stack.initiate(traderId, newId())).toMatchObject({ ok: false, error: { code: 'SESSION_NOT_FOUND' } });
    const session = await stack.session(traderId);
    await stack.run("update sessions set expires_at = now() - interval '1 second' where id = ?", [session.sessionId]);
    expect(await stack.initiate(traderId, session.sessionId)).toMatchObject({ ok: false, error: { code: 'SESSION_EXPIRED' } });
    expect(await stack.balance(traderId)).toMatchObject({ availableMinor: tenUsdt, pendingDebitsMinor: 0n });
    expect(await withdrawalsOf(traderId)).toEqual([]);
  });

  it('when withdrawals are frozen, then ALFRED_WITHDRAWALS_FROZEN, nothing held, and the session works once unfrozen', async () => {
    const traderId = await stack.trader(tenUsdt);
    stack.risk.decisions.set(traderId, 'hold');
    const session = await stack.session(traderId);
    stack.risk.frozen = true;
    try {
      expect(await stack.initiate(traderId, session.sessionId)).toMatchObject({ ok: false, error: { code: 'ALFRED_WITHDRAWALS_FROZEN' } });
    } finally {
      stack.risk.frozen = false;
    }
    expect(await stack.balance(traderId)).toMatchObject({ availableMinor: tenUsdt, pendingDebitsMinor: 0n });
    expect(await withdrawalsOf(traderId)).toEqual([]);
    expect(await stack.initiate(traderId, session.sessionId)).toMatchObject({ ok: true, data: { status: 'pending' } });
  });

  it('when the trader cannot cover the quote or has no account, then INSUFFICIENT_FUNDS, nothing held, and the session stays usable', async () => {
    const traderId = await stack.trader(tenUsdt - 1n);
    stack.risk.decisions.set(traderId, 'hold');
    const session = await stack.session(traderId);
    expect(await stack.initiate(traderId, session.sessionId)).toMatchObject({ ok: false, error: { code: 'INSUFFICIENT_FUNDS' } });
    expect(await stack.balance(traderId)).toMatchObject({ availableMinor: tenUsdt - 1n, pendingDebitsMinor: 0n });
    expect(await withdrawalsOf(traderId)).toEqual([]);
    expect(await stack.rows(z.object({ status: z.string() }), 'select status from sessions where id = ?', [session.sessionId])).toEqual([
      { status: 'open' },
    ]);

    await stack.fund(traderId, 1n);
    expect(await stack.initiate(traderId, session.sessionId)).toMatchObject({ ok: true, data: { status: 'pending' } });
    expect(await stack.balance(traderId)).toMatchObject({ availableMinor: 0n, pendingDebitsMinor: tenUsdt });

    const unknown = `t-${newId()}`;
    stack.psp.countries.set(unknown, 'BR');
    const orphan = await stack.session(unknown);
    expect(await stack.initiate(unknown, orphan.sessionId)).toMatchObject({ ok: false, error: { code: 'INSUFFICIENT_FUNDS' } });
    expect(await withdrawalsOf(unknown)).toEqual([]);
  });

  it('when a session is initiated twice in a row and 20 times at once, then one withdrawal and one hold, and every answer names it', async () => {
    const traderId = await stack.trader(3n * tenUsdt);
    stack.risk.decisions.set(traderId, 'hold');
    const first = await stack.session(traderId);
    const a = await stack.initiate(traderId, first.sessionId);
    const b = await stack.initiate(traderId, first.sessionId);
    expect(a.ok && b.ok).toBe(true);
    expect(b).toEqual(a);

    const second = await stack.session(traderId);
    const answers = await Promise.all(Array.from({ length: 20 }, () => stack.initiate(traderId, second.sessionId)));
    const ids = new Set(answers.map((r) => (r.ok ? r.data.withdrawalId : r.error.code)));
    expect(ids.size).toBe(1);
    expect(answers.every((r) => r.ok && r.data.status === 'pending' && r.data.debited.amountMinor === tenUsdt)).toBe(true);

    expect(await withdrawalsOf(traderId)).toHaveLength(2);
    expect(await stack.balance(traderId)).toMatchObject({ availableMinor: tenUsdt, pendingDebitsMinor: 2n * tenUsdt });
    const [id] = [...ids];
    const timeline = await stack.rows(
      z.object({ to_status: z.string() }),
      'select to_status from withdrawal_timeline where withdrawal_id = ?',
      [id],
    );
    expect(timeline).toEqual([{ to_status: 'pending' }]);
    await stack.app.relay.flush();
    const debited = await stack.published<{ withdrawalId: string }>(withdrawalEvents.debited.subject);
    expect(debited.filter((d) => d.withdrawalId === id)).toHaveLength(1);
  });
});
