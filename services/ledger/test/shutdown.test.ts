import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@offramp/kit';
import { eventually, readStream } from '@offramp/kit/testing';
import { ledgerEvents, ledgerRpc, type TransferResult } from '@offramp/contracts';
import { z } from 'zod';
import { startTestLedger, usdt, type TestLedger } from './harness.ts';

describe('ledger graceful shutdown', () => {
  let ledger: TestLedger;
  beforeAll(async () => {
    ledger = await startTestLedger({ dbTimeouts: { acquireMs: 60_000 } });
  });
  afterAll(async () => ledger?.cleanup());

  it('when the ledger closes under load, then every request it took is answered, each answered hold is stored once and its event is published', async () => {
    const trader = await ledger.trader(1_000_000n);
    const ids = Array.from({ length: 300 }, () => newId());
    let answers = 0;
    const calls = ids.map((id) =>
      ledger.messaging.nc
        .request(
          ledger.messaging.wire(ledgerRpc.placeHold.subject),
          JSON.stringify({ id, debit: usdt(trader), credit: usdt('psp:alfred:clearing'), amountMinor: '10', metadata: {} }),
          // A generous deadline: on a loaded machine a hold taken before the close may take seconds to be answered.
          { timeout: 30_000 },
        )
        .then((m) => {
          answers++;
          return { id, answer: m.json<{ ok: boolean; result: TransferResult }>() };
        })
        .catch((err: unknown) => ({ id, error: err })),
    );
    // Close as soon as the ledger is working through the load: the rest is still in flight.
    await eventually('the first answer under load', () => answers > 0, { intervalMs: 1 });
    await ledger.app.close();
    const settled = await Promise.all(calls);

    const answered = settled.filter((s): s is { id: string; answer: { ok: boolean; result: TransferResult } } => 'answer' in s);
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.every((a) => a.answer.ok && a.answer.result.outcome === 'ok')).toBe(true);
    const stored = await ledger.rows(z.object({ id: z.string() }), "select id from transfers where kind = 'hold'");
    // Nothing was half done: what is stored was answered, and what was answered is stored.
    expect(stored.map((r) => r.id).sort()).toEqual(answered.map((a) => a.id).sort());
    const unsent = await ledger.db.em.fork().execute('select 1 from outbox where sent_at is null');
    expect(unsent).toHaveLength(0);
    const events = await readStream(ledger.messaging, 'EVENTS', ledgerEvents.holdPlaced.subject);
    expect(events).toHaveLength(stored.length);

    await ledger.restart();
    const after = await ledger.call(ledgerRpc.getBalances, { owner: trader, currency: 'USDT' });
    expect(after.balances[0]!.pendingDebitsMinor).toBe(10n * BigInt(stored.length));
    await expect(ledger.call(ledgerRpc.check, {})).resolves.toMatchObject({ ok: true });
  });
});
