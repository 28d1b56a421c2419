import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId, RpcError } from '@offramp/kit';
import { ledgerRpc } from '@offramp/contracts';
import { startTestLedger, type TestLedger } from './harness.ts';

describe('ledger QA funding, with DEV_RPCS', () => {
  let ledger: TestLedger;
  beforeAll(async () => {
    ledger = await startTestLedger({ env: { DEV_RPCS: 'true' } });
  });
  afterAll(async () => ledger?.cleanup());

  it('when a trader without an account is funded, then the account is opened and credited from external:deposits', async () => {
    const owner = `trader:${newId()}`;
    const funded = await ledger.call(ledgerRpc.devFund, { owner, currency: 'USDT', amountMinor: 1_500_000n });
    expect(funded.outcome).toBe('ok');
    expect(await ledger.available(owner)).toBe(1_500_000n);
    const { transfer } = await ledger.call(ledgerRpc.getTransfer, { id: funded.transferId });
    expect(transfer).toMatchObject({
      kind: 'transfer',
      debit: { owner: 'external:deposits', currency: 'USDT' },
      credit: { owner, currency: 'USDT' },
      amountMinor: 1_500_000n,
    });
    const opened = await ledger.call(ledgerRpc.openAccount, { owner, currency: 'USDT', allowNegative: false });
    expect(opened.outcome).toBe('exists');
    expect((await ledger.call(ledgerRpc.check, {})).ok).toBe(true);
  });

  it('when one id is funded twice, then it answers exists and credits once; without an id every call is a new deposit', async () => {
    const owner = `trader:${newId()}`;
    const id = newId();
    expect(await ledger.call(ledgerRpc.devFund, { owner, currency: 'USDT', amountMinor: 100n, id })).toEqual({
      transferId: id,
      outcome: 'ok',
    });
    expect(await ledger.call(ledgerRpc.devFund, { owner, currency: 'USDT', amountMinor: 100n, id })).toEqual({
      transferId: id,
      outcome: 'exists',
    });
    expect(await ledger.call(ledgerRpc.devFund, { owner, currency: 'USDT', amountMinor: 101n, id })).toEqual({
      transferId: id,
      outcome: 'exists_with_different_fields',
    });
    expect(await ledger.available(owner)).toBe(100n);
    const [a, b] = [
      await ledger.call(ledgerRpc.devFund, { owner, currency: 'USDT', amountMinor: 5n }),
      await ledger.call(ledgerRpc.devFund, { owner, currency: 'USDT', amountMinor: 5n }),
    ];
    expect([a.outcome, b.outcome]).toEqual(['ok', 'ok']);
    expect(a.transferId).not.toBe(b.transferId);
    expect(await ledger.available(owner)).toBe(110n);
  });

  it('when the deposit cannot take effect (no deposits account in that currency), then nothing is written, not even the trader account', async () => {
    const owner = `trader:${newId()}`;
    const refused = await ledger.call(ledgerRpc.devFund, { owner, currency: 'MXN', amountMinor: 5n });
    expect(refused.outcome).toBe('account_not_found');
    expect((await ledger.call(ledgerRpc.getBalances, { owner })).balances).toEqual([]);
  });

  it('when the owner is not a trader account, then the ledger answers VALIDATION_ERROR naming it and nothing moves', async () => {
    const body = JSON.stringify({ owner: 'psp:alfred:clearing', currency: 'USDT', amountMinor: '5' });
    const reply = await ledger.messaging.nc.request(ledger.messaging.wire(ledgerRpc.devFund.subject), body, { timeout: 5_000 });
    const answer = reply.json<{ ok: boolean; error?: { code: string; details: Record<string, unknown> } }>();
    expect(answer.ok).toBe(false);
    expect(answer.error?.code).toBe('VALIDATION_ERROR');
    expect(Object.keys(answer.error!.details)).toContain('owner');
    expect((await ledger.call(ledgerRpc.getBalances, { owner: 'psp:alfred:clearing', currency: 'USDT' })).balances[0]?.postedMinor).toBe(
      0n,
    );
  });
});

describe('ledger QA funding, without DEV_RPCS', () => {
  let ledger: TestLedger;
  beforeAll(async () => {
    ledger = await startTestLedger();
  });
  afterAll(async () => ledger?.cleanup());

  it('when QA funding is asked of a ledger without DEV_RPCS, then nobody answers (NO_RESPONDERS) and no account is opened', async () => {
    expect(ledger.config.DEV_RPCS).toBe(false);
    const owner = `trader:${newId()}`;
    const asked = ledger.call(ledgerRpc.devFund, { owner, currency: 'USDT', amountMinor: 5n });
    await expect(asked).rejects.toBeInstanceOf(RpcError);
    await expect(asked).rejects.toMatchObject({ code: 'NO_RESPONDERS' });
    expect((await ledger.call(ledgerRpc.getBalances, { owner })).balances).toEqual([]);
  });
});
