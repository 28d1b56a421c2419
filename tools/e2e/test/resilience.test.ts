import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backlogOf, eventually } from '@offramp/kit/testing';
import { startSystem, type System } from './system.ts';
import {
  addAccount,
  balance,
  countries,
  emitOfframp,
  minusUsdt,
  newTrader,
  onboard,
  openSession,
  waitForStatus,
  withdrawal,
  type CountryCase,
} from './flows.ts';

type Offramp = { transactionId: string; memo?: string | null; status: string };

const terminal = ['completed', 'rejected'];

async function offrampsFor(sys: System, withdrawalId: string): Promise<Offramp[]> {
  const all = (await sys.emu('GET', '/offramps'))!.offramps as Offramp[];
  return all.filter((o) => o.memo === withdrawalId);
}

function initiate(sys: System, trader: string, sessionId: string) {
  return sys.http('POST', '/psp/alfred/initiate-withdrawal', { trader, body: { session_id: sessionId } });
}

/** A session, then the faults armed (the session's own quote must get through), then the initiation. */
async function initiateUnderFaults(sys: System, trader: string, c: CountryCase, accountId: string, faults: object[]) {
  const session = await openSession(sys, trader, c, accountId);
  expect(session.status, JSON.stringify(session.body)).toBe(201);
  for (const fault of faults) expect((await sys.emu('POST', '/faults', fault))?.mode).toBeDefined();
  const r = await initiate(sys, trader, session.body!.data.session_id);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return {
    sessionId: session.body!.data.session_id as string,
    withdrawalId: r.body!.data.withdrawal_id as string,
    debited: r.body!.data.debited.amount as string,
  };
}

/** Polls a quote preview until psp-alfred refuses it because its Alfred breaker is open (no call reaches Alfred). */
async function breakerOpen(sys: System, trader: string, c: CountryCase) {
  return eventually('the Alfred breaker to be open', async () => {
    const r = await sys.http('POST', '/psp/alfred/quote-preview', {
      trader,
      body: { type: 'withdrawal', amount: c.amount, source_currency_id: c.currency },
    });
    return r.status === 503 && r.body?.error?.details?.reason === 'breaker_open' ? r : undefined;
  });
}

/** Deliveries psp-alfred's command consumer gave back to be redelivered (a failed create-offramp), from its /metrics. */
async function commandRetries(sys: System): Promise<number> {
  const res = await sys.apps().psp.http.app.inject({ method: 'GET', url: '/metrics' });
  const sample = res.body
    .split('\n')
    .find((l) => l.startsWith('messages_handled_total{') && l.includes('consumer="psp-alfred-commands"') && l.includes('result="retry"'));
  return sample ? Number(sample.slice(sample.lastIndexOf(' ') + 1)) : 0;
}

async function settled(sys: System, trader: string, expected: string) {
  // Posting or voiding the hold follows the terminal status through the ledger's command stream.
  const b = await eventually(`${trader}'s hold to settle`, async () => {
    const now = await balance(sys, trader);
    return now.held === '0.000000' ? now : undefined;
  });
  expect(b).toEqual({ available: expected, held: '0.000000' });
}

/** Accepted status changes into a terminal status (notes and refused triggers are not transitions). */
const terminalTransitions = (w: Awaited<ReturnType<typeof withdrawal>>) =>
  w.timeline.filter((t) => t.kind === 'transition' && terminal.includes(t.to));

/** One onboarded, funded trader per supported country, each with a bank account. */
async function fundedTraders(sys: System, funding: string) {
  return Promise.all(
    Object.values(countries).map(async (c) => {
      const id = newTrader();
      const accountId = await addAccount(sys, id, c, await onboard(sys, id, c.country, funding));
      const funded = (await balance(sys, id)).available;
      expect(funded).toBe(`${funding}.000000`);
      return { id, c, accountId, funded };
    }),
  );
}

async function openSessions(sys: System, traders: Awaited<ReturnType<typeof fundedTraders>>, perTrader: number) {
  const perTraderSessions = await Promise.all(
    traders.map(async (t) => {
      const out: { trader: string; sessionId: string }[] = [];
      for (let i = 0; i < perTrader; i++) {
        const s = await openSession(sys, t.id, t.c, t.accountId);
        expect(s.status, JSON.stringify(s.body)).toBe(201);
        out.push({ trader: t.id, sessionId: s.body!.data.session_id as string });
      }
      return out;
    }),
  );
  return perTraderSessions.flat();
}

describe('resilience end to end (Alfred failing, sessions restarted)', () => {
  let sys: System;
  beforeEach(async () => {
    sys = await startSystem();
  });
  afterEach(async () => sys?.cleanup());

  it('when Alfred answers 5xx while the offramp is requested, then the breaker opens, the withdrawal waits in approved, and after recovery it completes with exactly one offramp at Alfred', async () => {
    const c = countries.MX;
    const trader = newTrader();
    const accountId = await addAccount(sys, trader, c, await onboard(sys, trader, c.country));
    const before = await balance(sys, trader);
    const faults = ['/quotes', '/offramp'].map((pathPrefix) => ({ mode: 'error', count: 1000, pathPrefix }));
    const { sessionId, withdrawalId, debited } = await initiateUnderFaults(sys, trader, c, accountId, faults);

    await waitForStatus(sys, trader, withdrawalId, 'approved');
    const refused = await breakerOpen(sys, trader, c);
    expect(refused.body!.error.code).toBe('PSP_UNAVAILABLE');
    // The create-offramp keeps failing and is redelivered: two more failed deliveries after the
    // breaker opened, and the withdrawal is still waiting in approved, with nothing at Alfred.
    const retries = await commandRetries(sys);
    await eventually('two more failed deliveries of create-offramp', async () => (await commandRetries(sys)) >= retries + 2);
    const waiting = await withdrawal(sys, trader, withdrawalId);
    expect(waiting.status).toBe('approved');
    expect(waiting.psp_transaction_id).toBeNull();
    const failed = (await sys.emu('GET', '/requests?pathPrefix=/quotes'))!.requests as { fault: unknown; statusCode: number }[];
    expect(failed.filter((r) => r.fault && r.statusCode === 500).length).toBeGreaterThanOrEqual(3);
    expect(await offrampsFor(sys, withdrawalId)).toHaveLength(0);
    expect((await balance(sys, trader)).held).toBe(debited);

    await sys.emu('DELETE', '/faults');
    const processing = await waitForStatus(sys, trader, withdrawalId, 'processing', 60_000);
    await emitOfframp(sys, trader, sessionId, 'success');
    const done = await waitForStatus(sys, trader, withdrawalId, 'completed');
    expect(terminalTransitions(done)).toHaveLength(1);
    await settled(sys, trader, minusUsdt(before.available, debited));
    const orders = await offrampsFor(sys, withdrawalId);
    expect(orders).toHaveLength(1);
    expect(orders[0]!.transactionId).toBe(processing.psp_transaction_id);
    expect((await sys.ledgerCheck()).ok).toBe(true);
  }, 120_000);

  it('when Alfred creates the order but its answer is lost (timeout after effect), then the withdrawal waits in approved, and after recovery the same order is used: exactly one offramp', async () => {
    const c = countries.BR;
    const trader = newTrader();
    const accountId = await addAccount(sys, trader, c, await onboard(sys, trader, c.country));
    const before = await balance(sys, trader);
    const faults = [{ mode: 'timeout', count: 1000, delayMs: 2_000, pathPrefix: '/offramp', afterEffect: true }];
    const { sessionId, withdrawalId, debited } = await initiateUnderFaults(sys, trader, c, accountId, faults);

    // The order exists at Alfred while psp-alfred never heard of it.
    const [order] = await eventually('the order at Alfred', async () =>
      (await offrampsFor(sys, withdrawalId)).length > 0 ? offrampsFor(sys, withdrawalId) : undefined,
    );
    // The rest of Alfred fails too, so that quotes (healthy calls) do not keep the breaker closed.
    await sys.emu('POST', '/faults', { mode: 'error', count: 1000, pathPrefix: '/quotes' });
    await breakerOpen(sys, trader, c);
    const waiting = await withdrawal(sys, trader, withdrawalId);
    expect(waiting.status).toBe('approved');
    expect(waiting.psp_transaction_id).toBeNull();
    await eventually('a replay of the lost POST /offramp', async () => {
      const posts = (await sys.emu('GET', '/requests?method=POST&pathPrefix=/offramp'))!.requests as unknown[];
      return posts.length >= 2 ? posts : undefined;
    });
    expect(await offrampsFor(sys, withdrawalId)).toHaveLength(1);

    await sys.emu('DELETE', '/faults');
    const processing = await waitForStatus(sys, trader, withdrawalId, 'processing', 60_000);
    expect(processing.psp_transaction_id).toBe(order!.transactionId);
    await emitOfframp(sys, trader, sessionId, 'success');
    const done = await waitForStatus(sys, trader, withdrawalId, 'completed');
    expect(terminalTransitions(done)).toHaveLength(1);
    await settled(sys, trader, minusUsdt(before.available, debited));
    expect(await offrampsFor(sys, withdrawalId)).toEqual([expect.objectContaining({ transactionId: order!.transactionId })]);
    expect((await sys.ledgerCheck()).ok).toBe(true);
  }, 120_000);

  it('when the sessions service is stopped with 50 withdrawals in flight and started again, then all 50 reach a terminal state once, balances are exact and the ledger is clean', async () => {
    const traders = await fundedTraders(sys, '5000');
    const sessions = await openSessions(sys, traders, 10);

    // All 50 initiations at once; sessions stops once a third of them have answered.
    let answered = 0;
    const first = sessions.map((s) => initiate(sys, s.trader, s.sessionId).finally(() => answered++));
    await eventually('a third of the initiations', () => answered >= 16);
    await sys.stopSessions();
    const firstAnswers = await Promise.all(first);
    // Without sessions nobody asks for an order: once psp-alfred has handled every command it was
    // sent, the orders at Alfred are all there will be until sessions is back.
    await eventually('psp-alfred to have handled every command it was sent', async () => {
      const commands = (await backlogOf({ databases: [], messaging: sys.messaging })).consumers['COMMANDS/psp-alfred-commands'];
      return commands !== undefined && commands.pending === 0 && commands.ackPending === 0;
    });
    // In flight: approvals waited for sessions, so Alfred has not seen every order yet.
    const ordersWhileStopped = ((await sys.emu('GET', '/offramps'))!.offramps as Offramp[]).length;
    expect(ordersWhileStopped).toBeLessThan(50);
    await sys.startSessions();
    const unanswered = firstAnswers.filter((r) => r.status !== 200);
    for (const r of unanswered) expect(r.body!.error.code).toBe('PSP_UNAVAILABLE');

    // The trader retries what got no answer, with the same session: one withdrawal per session.
    const withdrawals = await Promise.all(
      sessions.map(async (s, i) => {
        const r = firstAnswers[i]!.status === 200 ? firstAnswers[i]! : await initiate(sys, s.trader, s.sessionId);
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        return {
          ...s,
          withdrawalId: r.body!.data.withdrawal_id as string,
          debited: r.body!.data.debited.amount as string,
          outcome: i % 3 === 0 ? 'failure' : 'success',
        } as const;
      }),
    );
    expect(new Set(withdrawals.map((w) => w.withdrawalId)).size).toBe(50);

    await Promise.all(withdrawals.map((w) => waitForStatus(sys, w.trader, w.withdrawalId, 'processing', 90_000)));
    await Promise.all(withdrawals.map((w) => emitOfframp(sys, w.trader, w.sessionId, w.outcome)));
    const expected = (w: (typeof withdrawals)[number]) => (w.outcome === 'success' ? 'completed' : 'rejected');
    for (const w of withdrawals) await waitForStatus(sys, w.trader, w.withdrawalId, expected(w), 60_000);
    for (const t of traders) {
      const completed = withdrawals.filter((w) => w.trader === t.id && w.outcome === 'success');
      await settled(
        sys,
        t.id,
        completed.reduce((left, w) => minusUsdt(left, w.debited), t.funded),
      );
    }
    // Read once everything has settled, so that a late duplicate would show too.
    for (const w of withdrawals) {
      const final = await withdrawal(sys, w.trader, w.withdrawalId);
      expect(final.status, w.withdrawalId).toBe(expected(w));
      expect(terminalTransitions(final), w.withdrawalId).toHaveLength(1);
    }
    const offramps = (await sys.emu('GET', '/offramps'))!.offramps as Offramp[];
    expect(offramps).toHaveLength(50);
    expect(new Set(offramps.map((o) => o.memo))).toEqual(new Set(withdrawals.map((w) => w.withdrawalId)));
    expect((await sys.ledgerCheck()).ok).toBe(true);
  }, 300_000);
});
