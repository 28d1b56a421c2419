import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@offramp/kit';
import { ledgerRpc } from '@offramp/contracts';
import { startTestLedger, usdt, type TestLedger } from './harness.ts';

describe('ledger holds and transfers', () => {
  let ledger: TestLedger;
  beforeAll(async () => {
    ledger = await startTestLedger({ poolMax: 20, dbTimeouts: { acquireMs: 60_000 } });
  });
  afterAll(async () => ledger?.cleanup());

  it('when 1,000 holds race on an account funded for exactly 100, then 100 are ok, 900 insufficient and available never goes negative', async () => {
    const trader = await ledger.trader(100n * 10_000_000n);
    let sampling = true;
    let lowest: bigint | null = null;
    const sampler = (async () => {
      while (sampling) {
        const a = await ledger.available(trader);
        lowest = lowest === null || a < lowest ? a : lowest;
      }
    })();
    const holds = Promise.all(
      Array.from({ length: 1_000 }, () =>
        ledger.call(ledgerRpc.placeHold, {
          id: newId(),
          debit: usdt(trader),
          credit: usdt('psp:alfred:clearing'),
          amountMinor: 10_000_000n,
          metadata: {},
        }),
      ),
    ).finally(() => (sampling = false));
    // Awaited together, so a failing hold also stops the sampler and neither failure goes unhandled.
    const [results] = await Promise.all([holds, sampler]);
    const count = (o: string) => results.filter((r) => r.outcome === o).length;
    expect(count('ok')).toBe(100);
    expect(count('insufficient_funds')).toBe(900);
    expect(lowest! >= 0n).toBe(true);
    expect(await ledger.available(trader)).toBe(0n);
    const check = await ledger.call(ledgerRpc.check, {});
    expect(check.mismatches).toEqual([]);
    expect(check.ok).toBe(true);
  });
});
