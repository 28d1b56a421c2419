import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId, RpcError } from '@offramp/kit';
import { ledgerRpc } from '@offramp/contracts';
import { startTestLedger, usdt, type TestLedger } from './harness.ts';

describe('ledger idempotency', () => {
  let ledger: TestLedger;
  beforeAll(async () => {
    ledger = await startTestLedger();
  });
  afterAll(async () => ledger?.cleanup());

  it('when one transfer id is sent 50 times in sequence, then one transfer exists and every retry answers exists with the original', async () => {
    const trader = await ledger.trader(1_000_000n);
    const req = {
      id: newId(),
      debit: usdt(trader),
      credit: usdt('psp:alfred:clearing'),
      amountMinor: 250_000n,
      metadata: { withdrawal: 'w-1' },
    };
    const results = [];
    for (let i = 0; i < 50; i++) results.push(await ledger.call(ledgerRpc.transfer, req));
    expect(results[0]!.outcome).toBe('ok');
    expect(results.slice(1).every((r) => r.outcome === 'exists')).toBe(true);
    expect(results.every((r) => r.transfer?.id === req.id && r.transfer.amountMinor === 250_000n)).toBe(true);
    expect(await ledger.available(trader)).toBe(750_000n);
  });

  it('when one hold id is sent 50 times concurrently, then exactly one hold is placed and 49 answer exists', async () => {
    const trader = await ledger.trader(1_000_000n);
    const req = { id: newId(), debit: usdt(trader), credit: usdt('psp:alfred:clearing'), amountMinor: 400_000n, metadata: {} };
    const results = await Promise.all(Array.from({ length: 50 }, () => ledger.call(ledgerRpc.placeHold, req)));
    expect(results.filter((r) => r.outcome === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'exists')).toHaveLength(49);
    const [balance] = (await ledger.call(ledgerRpc.getBalances, { owner: trader, currency: 'USDT' })).balances;
    expect(balance!.pendingDebitsMinor).toBe(400_000n);
    expect(balance!.availableMinor).toBe(600_000n);
  });

  it('when a retry carries another amount, then it answers exists_with_different_fields and nothing moves', async () => {
    const trader = await ledger.trader(1_000_000n);
    const req = { id: newId(), debit: usdt(trader), credit: usdt('psp:alfred:clearing'), amountMinor: 100_000n, metadata: {} };
    expect((await ledger.call(ledgerRpc.transfer, req)).outcome).toBe('ok');
    const retry = await ledger.call(ledgerRpc.transfer, { ...req, amountMinor: 100_001n });
    expect(retry.outcome).toBe('exists_with_different_fields');
    expect(retry.transfer?.amountMinor).toBe(100_000n);
    const asHold = await ledger.call(ledgerRpc.placeHold, req);
    expect(asHold.outcome).toBe('exists_with_different_fields');
    expect(await ledger.available(trader)).toBe(900_000n);
  });

  it('when a transfer names a missing account or mixes currencies, then it is refused with its code and nothing moves', async () => {
    const trader = await ledger.trader(1_000_000n);
    const missing = await ledger.call(ledgerRpc.transfer, {
      id: newId(),
      debit: usdt(trader),
      credit: usdt('trader:nobody'),
      amountMinor: 1n,
      metadata: {},
    });
    expect(missing).toEqual({ outcome: 'account_not_found', transfer: null });
    const mixed = await ledger.call(ledgerRpc.transfer, {
      id: newId(),
      debit: usdt(trader),
      credit: { owner: 'psp:alfred:clearing', currency: 'MXN' },
      amountMinor: 1n,
      metadata: {},
    });
    expect(mixed).toEqual({ outcome: 'currency_mismatch', transfer: null });
    const tooMuch = await ledger.call(ledgerRpc.transfer, {
      id: newId(),
      debit: usdt(trader),
      credit: usdt('psp:alfred:clearing'),
      amountMinor: 1_000_001n,
      metadata: {},
    });
    expect(tooMuch.outcome).toBe('insufficient_funds');
    expect(await ledger.available(trader)).toBe(1_000_000n);
  });

  it('when a request is malformed (negative or fractional amount, bad id, self-transfer), then the rpc answers VALIDATION_ERROR naming the field', async () => {
    const trader = await ledger.trader(10n);
    const base = { id: newId(), debit: usdt(trader), credit: usdt('psp:alfred:clearing'), metadata: {} };
    const send = (body: unknown) =>
      ledger.messaging.nc
        .request(ledger.messaging.wire(ledgerRpc.transfer.subject), JSON.stringify(body), { timeout: 5_000 })
        .then((m) => m.json<{ ok: boolean; error?: { code: string; details: Record<string, unknown> } }>());
    for (const amountMinor of ['-5', '1.5', '', 'abc', '1e3', '0']) {
      const reply = await send({ ...base, amountMinor });
      expect(reply.ok).toBe(false);
      expect(reply.error?.code).toBe('VALIDATION_ERROR');
      expect(Object.keys(reply.error!.details)).toContain('amountMinor');
    }
    const badId = await send({ ...base, id: 'not-a-uuid', amountMinor: '1' });
    expect(Object.keys(badId.error!.details)).toContain('id');
    await expect(ledger.call(ledgerRpc.transfer, { ...base, id: newId(), credit: usdt(trader), amountMinor: 1n })).rejects.toBeInstanceOf(
      RpcError,
    );
    expect(await ledger.available(trader)).toBe(10n);
  });
});
