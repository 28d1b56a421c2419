import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streams } from '@offramp/contracts';
import { eventually } from '@offramp/kit/testing';
import { startOwnPostgres, type OwnPostgres } from '@offramp/kit/testing-postgres';
import { startSystem, type System } from './system.ts';
import { addAccount, balance, countries, minusUsdt, newTrader, onboard, openSession, waitForStatus, withdrawal } from './flows.ts';

/**
 * The database heals itself, end to end: the whole system on a Postgres this file owns. Its
 * backends are terminated every 300 ms for 10 s while 30 withdrawals are initiated and processed,
 * then it is restarted under load. Nobody restarts a service or reconnects anything by hand.
 */

/** startSystem's gateway RPC_TIMEOUT_MS: no widget call may take longer, plus a margin for a loaded machine. */
const requestBoundMs = 10_000 + 10_000;
/** readinessOf's check deadline (2 s), plus the same margin. */
const readinessBoundMs = 2_000 + 10_000;

type Answer = { what: string; status: number; code: string | undefined; ms: number };
type Offramp = { transactionId: string; memo?: string | null; status: string };

/** The storm's cadence, the readers' load pacing and the bound of the cleanup, never a synchronisation. */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const terminal = ['completed', 'rejected'];

describe('database storm end to end', () => {
  let pg: OwnPostgres;
  let sys: System;
  const answers: Answer[] = [];
  /** Set when the test is over (passed or not): the client loops stop calling a system being closed. */
  let over = false;

  beforeAll(async () => {
    pg = await startOwnPostgres({ database: 'offramp_storm' });
    sys = await startSystem({ databaseUrl: pg.url });
  });
  afterAll(async () => {
    over = true;
    try {
      if (pg && !pg.running()) await pg.start();
      // Bounded: if a pool kept a dead connection its close would wait forever, and the Postgres
      // below must be removed all the same.
      await Promise.race([sys?.cleanup(), pause(30_000)]);
    } finally {
      await pg?.destroy();
    }
  });

  /** A widget call through the gateway, with how long it took and what it answered. */
  async function call(what: string, method: 'GET' | 'POST', url: string, opts: { trader: string; body?: unknown; dev?: boolean }) {
    const started = Date.now();
    const r = await sys.http(method, url, opts);
    answers.push({ what, status: r.status, code: r.body?.error?.code, ms: Date.now() - started });
    return r;
  }

  /** Initiates until answered, every 250 ms; a 503 means "outcome unknown", so the trader retries with the same session. */
  async function initiate(s: { trader: string; sessionId: string }) {
    let attempts = 0;
    let last: unknown;
    return eventually(
      () => `initiate of ${s.sessionId} answered; last: ${JSON.stringify(last)}`,
      async () => {
        attempts++;
        const r = await call('initiate', 'POST', '/psp/alfred/initiate-withdrawal', {
          trader: s.trader,
          body: { session_id: s.sessionId },
        });
        last = { status: r.status, body: r.body };
        if (r.status === 200)
          return { withdrawalId: r.body!.data.withdrawal_id as string, debited: r.body!.data.debited.amount as string, attempts };
        if (r.status !== 503 || over) throw new Error(`initiate of ${s.sessionId}: ${r.status} ${JSON.stringify(r.body)}`);
        return undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
  }

  /** The Alfred outcome of a processing withdrawal; retried every 250 ms on 503 like any widget call. */
  async function emit(w: { trader: string; sessionId: string }, scenario: 'success' | 'failure') {
    let last: unknown;
    await eventually(
      () => `emit-offramp of ${w.sessionId} answered; last: ${JSON.stringify(last)}`,
      async () => {
        const r = await call('emit-offramp', 'POST', '/psp/alfred/__dev/emit-offramp', {
          trader: w.trader,
          dev: true,
          body: { session_id: w.sessionId, scenario },
        });
        const unknownBefore = (last as { status?: number } | undefined)?.status === 503;
        last = { status: r.status, body: r.body };
        if (r.status === 200) return true;
        // A 503 means the outcome is unknown: the order may have reached its end at Alfred, and the
        // retry is then told so (409). The withdrawal's end is asserted below either way.
        if (r.status === 409 && unknownBefore) return true;
        if (r.status !== 503 || over) throw new Error(`emit-offramp of ${w.sessionId}: ${r.status} ${JSON.stringify(r.body)}`);
        return undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  }

  /** `/readyz` of every service that has a database, each probe timed. */
  async function readiness(): Promise<Record<string, number>> {
    const { ledger, risk, sessions, psp } = sys.apps();
    const out: Record<string, number> = {};
    await Promise.all(
      Object.entries({ ledger, risk, sessions, psp }).map(async ([name, app]) => {
        const started = Date.now();
        const r = await app.http.app.inject({ method: 'GET', url: '/readyz' });
        answers.push({
          what: `readyz ${name}`,
          status: r.statusCode,
          code: r.statusCode === 200 ? undefined : r.json().error?.code,
          ms: Date.now() - started,
        });
        out[name] = r.statusCode;
      }),
    );
    return out;
  }

  it('when backends are terminated every 300 ms for 10 s during 30 withdrawals and Postgres restarts under load, then every service is ready again within 30 s unaided, every withdrawal ends exactly once, balances are exact and no request hung', async () => {
    // Five traders (one per country), six sessions each: 30 withdrawals.
    const traders = await Promise.all(
      Object.values(countries).map(async (c) => {
        const id = newTrader();
        const accountId = await addAccount(sys, id, c, await onboard(sys, id, c.country, '5000'));
        return { id, c, accountId, funded: (await balance(sys, id)).available };
      }),
    );
    const sessions = (
      await Promise.all(
        traders.map(async (t) => {
          const out: { trader: string; sessionId: string }[] = [];
          for (let i = 0; i < 6; i++) {
            const s = await openSession(sys, t.id, t.c, t.accountId);
            expect(s.status, JSON.stringify(s.body)).toBe(201);
            out.push({ trader: t.id, sessionId: s.body!.data.session_id as string });
          }
          return out;
        }),
      )
    ).flat();
    expect(await readiness()).toEqual({ ledger: 200, risk: 200, sessions: 200, psp: 200 });

    // The storm: every session of the database terminated every 300 ms for 10 s, while all 30
    // withdrawals are initiated at once and the saga (ledger, risk, psp-alfred, Alfred) runs.
    let terminated = 0;
    const storm = (async () => {
      const end = Date.now() + 10_000;
      while (Date.now() < end) {
        terminated += await pg.terminateBackends();
        await pause(300);
      }
    })();
    const initiations = sessions.map((s, i) =>
      initiate(s).then((r) => ({ ...s, ...r, outcome: i % 3 === 0 ? ('failure' as const) : ('success' as const) })),
    );
    // Awaited below; until then a failure must not surface as an unhandled rejection.
    for (const p of initiations) p.catch(() => undefined);
    await storm;
    expect(terminated).toBeGreaterThan(0);

    // Then one restart of Postgres under load: traders keep reading their withdrawals and balances.
    let loading = true;
    const load = (async () => {
      while (loading && !over) {
        await Promise.all(
          traders.map(async (t) => {
            await call('list', 'GET', '/psp/alfred/withdrawals', { trader: t.id });
            await call('balances', 'GET', '/psp/alfred/balances', { trader: t.id });
          }),
        );
        await pause(100);
      }
    })();
    let readyAfterMs: number;
    try {
      await pg.stop();
      // Readiness says so, quickly; and a retried initiate is "outcome unknown", never a 500.
      await eventually('every service not ready while Postgres is down', async () =>
        Object.values(await readiness()).every((s) => s === 503),
      );
      const retriedWhileDown = await call('initiate', 'POST', '/psp/alfred/initiate-withdrawal', {
        trader: sessions[0]!.trader,
        body: { session_id: sessions[0]!.sessionId },
      });
      expect(retriedWhileDown.status).toBe(503);
      expect(retriedWhileDown.body!.error.code).toBe('PSP_UNAVAILABLE');
      await pg.start();
      const restarted = Date.now();
      await eventually('every service ready again', async () => Object.values(await readiness()).every((s) => s === 200), {
        timeoutMs: 30_000,
      });
      readyAfterMs = Date.now() - restarted;
      expect(readyAfterMs).toBeLessThanOrEqual(30_000);
    } finally {
      loading = false;
      await load;
    }

    // Every initiation answered in the end; a retry with the same session answers the same withdrawal.
    const withdrawals = await Promise.all(initiations);
    expect(new Set(withdrawals.map((w) => w.withdrawalId)).size).toBe(30);
    const again = await call('initiate', 'POST', '/psp/alfred/initiate-withdrawal', {
      trader: sessions[0]!.trader,
      body: { session_id: sessions[0]!.sessionId },
    });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body!.data.withdrawal_id).toBe(withdrawals[0]!.withdrawalId);

    // Alfred's outcome for each, once it is processing: a third fail, the rest complete.
    await Promise.all(
      withdrawals.map(async (w) => {
        await waitForStatus(sys, w.trader, w.withdrawalId, 'processing', 120_000);
        await emit(w, w.outcome);
        await waitForStatus(sys, w.trader, w.withdrawalId, w.outcome === 'success' ? 'completed' : 'rejected', 60_000);
      }),
    );

    // Balances exact: each trader is down by exactly what completed, nothing held.
    for (const t of traders) {
      const expected = withdrawals
        .filter((w) => w.trader === t.id && w.outcome === 'success')
        .reduce((left, w) => minusUsdt(left, w.debited), t.funded);
      const settled = await eventually(`${t.id}'s holds settled`, async () => {
        const b = await balance(sys, t.id);
        return b.held === '0.000000' ? b : undefined;
      });
      expect(settled).toEqual({ available: expected, held: '0.000000' });
    }

    // Exactly once: one terminal transition, one hold and one post or void, one order at Alfred.
    const [ledgerSchema] = await pg.query<{ name: string }>("select nspname as name from pg_namespace where nspname like 'e2e_ledger_%'");
    const transfers = await pg.query<{ kind: string; withdrawal: string }>(
      `select kind, coalesce(hold_id, id)::text as withdrawal from "${ledgerSchema!.name}".transfers where kind <> 'transfer'`,
    );
    const offramps = (await sys.emu('GET', '/offramps'))!.offramps as Offramp[];
    for (const w of withdrawals) {
      const final = await withdrawal(sys, w.trader, w.withdrawalId);
      expect(final.status, w.withdrawalId).toBe(w.outcome === 'success' ? 'completed' : 'rejected');
      expect(
        final.timeline.filter((t) => t.kind === 'transition' && terminal.includes(t.to)),
        w.withdrawalId,
      ).toHaveLength(1);
      const kinds = transfers
        .filter((t) => t.withdrawal === w.withdrawalId)
        .map((t) => t.kind)
        .sort();
      expect(kinds, w.withdrawalId).toEqual(w.outcome === 'success' ? ['hold', 'post'] : ['hold', 'void']);
      expect(
        offramps.filter((o) => o.memo === w.withdrawalId),
        w.withdrawalId,
      ).toHaveLength(1);
    }
    expect(offramps).toHaveLength(30);
    expect((await sys.ledgerCheck()).ok).toBe(true);
    // The outage made consumers retry, never dead-letter a good message.
    const dead = await sys.messaging.jsm.streams.info(sys.messaging.streamName(streams.deadLetters.name));
    expect(dead.state.messages).toBe(0);

    // No request hung and none was a 500: each answered 2xx, or 503 PSP_UNAVAILABLE, within its bound.
    const widget = answers.filter((a) => !a.what.startsWith('readyz'));
    const probes = answers.filter((a) => a.what.startsWith('readyz'));
    const summary = () =>
      JSON.stringify({
        terminated,
        readyAfterMs,
        initiateAttempts: withdrawals.map((w) => w.attempts),
        slowest: [...answers].sort((a, b) => b.ms - a.ms).slice(0, 5),
      });
    for (const a of widget) {
      expect(a.status === 503 ? a.code : a.status < 300, `${a.what} ${a.status} ${a.code} ${summary()}`).toBe(
        a.status === 503 ? 'PSP_UNAVAILABLE' : true,
      );
      expect(a.ms, `${a.what} took ${a.ms} ms ${summary()}`).toBeLessThanOrEqual(requestBoundMs);
    }
    for (const a of probes) {
      expect([200, 503], `${a.what} ${summary()}`).toContain(a.status);
      expect(a.ms, `${a.what} took ${a.ms} ms ${summary()}`).toBeLessThanOrEqual(readinessBoundMs);
    }
    expect(widget.filter((a) => a.status === 503).length, summary()).toBeGreaterThan(0);
  }, 600_000);
});
