import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { callRpc, newId, queryRows, type Database, type Messaging } from '@offramp/kit';
import { eventually, readStream, spawnServer, testInfra, testMessaging, uniqueName } from '@offramp/kit/testing';
import { ledgerEvents, ledgerRpc } from '@offramp/contracts';
import { z } from 'zod';
import { openLedgerDatabase } from '../src/app.ts';
import { readLedgerConfig } from '../src/config.ts';

/**
 * The real ledger process under rpc load, stopped with SIGTERM: it must stop taking work, answer
 * what it took, publish what it wrote and exit 0, with readiness going 503 first.
 */

const serverPath = fileURLToPath(new URL('../src/server.ts', import.meta.url));
const trader = `trader:${newId()}`;
const usdt = 'USDT';

type Outcome = 'ok' | 'refused' | 'no_answer';

/** Polls /readyz until the process is gone, recording what it saw in order. */
function watchReadiness(url: string, gone: () => boolean) {
  const seen: (number | 'down')[] = [];
  const done = (async () => {
    while (!gone()) {
      const status = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) }).then(
        (r) => r.status,
        () => 'down' as const,
      );
      if (seen.at(-1) !== status) seen.push(status);
      // The sampling pace of this watcher (it records, it does not wait for anything).
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  return { seen, done };
}

describe('ledger process: SIGTERM under load', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('when SIGTERM arrives with hundreds of holds in flight, then it exits 0, every answered hold is stored once, nothing unanswered is stored, the outbox is empty and readiness went 503 first', async () => {
    const { databaseUrl, natsUrl } = testInfra();
    const messaging: Messaging & { cleanup(): Promise<void> } = await testMessaging('ledger-sigterm');
    cleanups.push(() => messaging.cleanup());
    const schema = uniqueName('ledger_sigterm');
    const env = {
      DATABASE_URL: databaseUrl,
      NATS_URL: natsUrl,
      NATS_NAMESPACE: messaging.namespace,
      DB_SCHEMA: schema,
    };
    const db: Database = await openLedgerDatabase(readLedgerConfig({ ...env, DB_POOL_MAX: '2' }));
    cleanups.push(async () => {
      await db.em.fork().execute(`drop schema if exists "${schema}" cascade`);
      await db.close();
    });

    const ledger = await spawnServer(serverPath, { ...env, MIGRATE_ON_START: 'true', LOG_LEVEL: 'warn', DB_POOL_MAX: '10' });
    cleanups.push(() => ledger.kill());
    await ledger.ready();

    const call = <D extends Parameters<typeof callRpc>[1]>(def: D, req: Parameters<typeof callRpc<D>>[2]) =>
      callRpc(messaging, def, req, { timeoutMs: 15_000 });
    await call(ledgerRpc.openAccount, { owner: 'external:deposits', currency: usdt, allowNegative: true });
    await call(ledgerRpc.openAccount, { owner: 'psp:alfred:clearing', currency: usdt, allowNegative: true });
    await call(ledgerRpc.openAccount, { owner: trader, currency: usdt, allowNegative: false });
    const funded = await call(ledgerRpc.transfer, {
      id: newId(),
      debit: { owner: 'external:deposits', currency: usdt },
      credit: { owner: trader, currency: usdt },
      amountMinor: 1_000_000_000n,
      metadata: {},
    });
    expect(funded.outcome).toBe('ok');

    const outcomes = new Map<string, Outcome>();
    const hold = async (id: string) => {
      try {
        const r = await call(ledgerRpc.placeHold, {
          id,
          debit: { owner: trader, currency: usdt },
          credit: { owner: 'psp:alfred:clearing', currency: usdt },
          amountMinor: 1n,
          metadata: {},
        });
        outcomes.set(id, r.outcome === 'ok' ? 'ok' : 'refused');
      } catch {
        outcomes.set(id, 'no_answer');
      }
    };
    const ids = Array.from({ length: 600 }, () => newId());
    // Under load the ready check waits for a pooled connection: polls can be slow, never refused.
    const readiness = watchReadiness(ledger.url, () => !ledger.running());
    await eventually('the first readiness answer', () => readiness.seen.length > 0, { intervalMs: 1 });

    // Wave one is in flight when the signal lands; wave two keeps arriving while the process drains.
    const first = ids.slice(0, 400).map(hold);
    await eventually('20 holds answered', () => outcomes.size >= 20, { intervalMs: 1 });
    ledger.child.kill('SIGTERM');
    const second: Promise<void>[] = [];
    for (const id of ids.slice(400)) {
      second.push(hold(id));
      // Load pacing, not synchronisation: spreads wave two over the drain instead of one burst.
      if (second.length % 20 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    expect(await ledger.exited, ledger.output()).toBe(0);
    await Promise.all([...first, ...second]);
    await readiness.done;

    const answeredOk = ids.filter((id) => outcomes.get(id) === 'ok');
    expect(answeredOk.length).toBeGreaterThan(20);
    expect(ids.filter((id) => outcomes.get(id) === 'refused')).toEqual([]);
    const stored = await queryRows(
      db.em.fork(),
      z.object({ id: z.string(), n: z.number() }),
      `select id, count(*)::int as n from "${schema}".transfers where kind = 'hold' group by id`,
    );
    expect(stored.every((r) => r.n === 1)).toBe(true);
    // Answered ok <=> stored: the drain answers everything it took and takes nothing it cannot answer.
    expect(stored.map((r) => r.id).sort()).toEqual([...answeredOk].sort());
    const [unsent] = await queryRows(
      db.em.fork(),
      z.object({ n: z.number() }),
      `select count(*)::int as n from "${schema}".outbox where sent_at is null`,
    );
    expect(unsent!.n).toBe(0);
    const published = (await readStream(messaging, 'EVENTS', ledgerEvents.holdPlaced.subject)).map(
      (m) => (m.data as { payload: { id: string } }).payload.id,
    );
    expect([...published].sort()).toEqual([...answeredOk].sort());

    expect(readiness.seen[0], JSON.stringify(readiness.seen)).toBe(200);
    expect(readiness.seen, JSON.stringify(readiness.seen)).toContain(503);
    const down = readiness.seen.indexOf('down');
    expect(down === -1 || readiness.seen.indexOf(503) < down).toBe(true);
  }, 90_000);
});
