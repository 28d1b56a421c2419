import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from './system.ts';
import { addAccount, balance, countries, newTrader, onboard, openSession, waitForStatus } from './flows.ts';

describe('sessions: ownership and exactly-once initiation', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => sys?.cleanup());

  const offrampsFor = async (withdrawalId: string) =>
    ((await sys.emu('GET', '/offramps'))!.offramps as { memo?: string }[]).filter((o) => o.memo === withdrawalId).length;

  it("Scenario D: when trader B initiates with trader A's session, then 403 ALFRED_SESSION_NOT_OWNED, no debit on either account, no offramp at Alfred", async () => {
    const a = newTrader();
    const b = newTrader();
    const holder = await onboard(sys, a, 'BR');
    await onboard(sys, b, 'BR');
    const accountId = await addAccount(sys, a, countries.BR, holder);
    const session = await openSession(sys, a, countries.BR, accountId);
    expect(session.status).toBe(201);
    const [beforeA, beforeB] = [await balance(sys, a), await balance(sys, b)];
    const offrampsBefore = ((await sys.emu('GET', '/offramps'))!.offramps as unknown[]).length;

    const r = await sys.http('POST', '/psp/alfred/initiate-withdrawal', { trader: b, body: { session_id: session.body!.data.session_id } });
    expect(r.status).toBe(403);
    expect(r.body!.error.code).toBe('ALFRED_SESSION_NOT_OWNED');

    // Whatever the refused call could have set off has happened once the system is quiet. No timer
    // can act later either: the refusal came before any write (the session is still `open`, no
    // withdrawal exists), and the sweeper and the reconciler only move initiations, withdrawals and orders.
    await sys.quiet();
    expect(await balance(sys, a)).toEqual(beforeA);
    expect(await balance(sys, b)).toEqual(beforeB);
    expect(((await sys.emu('GET', '/offramps'))!.offramps as unknown[]).length).toBe(offrampsBefore);
    const listB = await sys.http('GET', '/psp/alfred/withdrawals', { trader: b });
    expect(listB.body!.data.withdrawals).toEqual([]);
  });

  it('when one session is initiated twice in a row, then the same withdrawal and one hold', async () => {
    const trader = newTrader();
    const holder = await onboard(sys, trader, 'MX');
    const accountId = await addAccount(sys, trader, countries.MX, holder);
    const session = await openSession(sys, trader, countries.MX, accountId);
    const first = await sys.http('POST', '/psp/alfred/initiate-withdrawal', {
      trader,
      body: { session_id: session.body!.data.session_id },
    });
    const second = await sys.http('POST', '/psp/alfred/initiate-withdrawal', {
      trader,
      body: { session_id: session.body!.data.session_id },
    });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body!.data.withdrawal_id).toBe(first.body!.data.withdrawal_id);
    expect(second.body!.data.debited).toEqual(first.body!.data.debited);
    expect((await balance(sys, trader)).held).toBe(first.body!.data.debited.amount);
    await waitForStatus(sys, trader, first.body!.data.withdrawal_id, 'processing');
    expect(await offrampsFor(first.body!.data.withdrawal_id)).toBe(1);
  });

  it('when one session is initiated 20 times concurrently, then one withdrawal, one hold, everyone gets the same answer', async () => {
    const trader = newTrader();
    const holder = await onboard(sys, trader, 'DO');
    const accountId = await addAccount(sys, trader, countries.DO, holder);
    const session = await openSession(sys, trader, countries.DO, accountId);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        sys.http('POST', '/psp/alfred/initiate-withdrawal', { trader, body: { session_id: session.body!.data.session_id } }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    const ids = new Set(answers.map((a) => a.body!.data.withdrawal_id));
    expect(ids.size).toBe(1);
    const [withdrawalId] = [...ids] as string[];
    expect((await balance(sys, trader)).held).toBe(answers[0]!.body!.data.debited.amount);
    const list = await sys.http('GET', '/psp/alfred/withdrawals', { trader });
    expect(list.body!.data.total).toBe(1);
    await waitForStatus(sys, trader, withdrawalId!, 'processing');
    expect(await offrampsFor(withdrawalId!)).toBe(1);
    expect((await sys.ledgerCheck()).ok).toBe(true);
  });

  it('when another trader reads a withdrawal by id, then 404 WITHDRAWAL_NOT_FOUND', async () => {
    const trader = newTrader();
    const holder = await onboard(sys, trader, 'MX');
    const accountId = await addAccount(sys, trader, countries.MX, holder);
    const session = await openSession(sys, trader, countries.MX, accountId);
    const initiated = await sys.http('POST', '/psp/alfred/initiate-withdrawal', {
      trader,
      body: { session_id: session.body!.data.session_id },
    });
    const r = await sys.http('GET', `/psp/alfred/withdrawals/${initiated.body!.data.withdrawal_id}`, { trader: newTrader() });
    expect(r.status).toBe(404);
    expect(r.body!.error.code).toBe('WITHDRAWAL_NOT_FOUND');
  });
});
