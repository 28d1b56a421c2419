import { afterAll, describe, expect, it } from 'vitest';
import { startSandbox } from './harness.ts';

const fixedNow = new Date('2026-05-01T12:00:00.000Z');
const sandbox = startSandbox({ now: () => fixedNow });
afterAll(() => sandbox.close());

const quote = (body: Record<string, unknown>) =>
  sandbox.call('POST', '/quotes', { fromCurrency: 'USDT', toCurrency: 'MXN', chain: 'TRON', paymentMethodType: 'BANK', ...body });

/** Decimal string to integer units at `scale`, independent of the code under test. */
const units = (text: string, scale: number) => {
  const [whole, fraction = ''] = text.split('.');
  return BigInt(whole! + fraction.padEnd(scale, '0'));
};

describe('quotes', () => {
  it('when a USDT amount is quoted to MXN, then fees come off first and the rest converts exactly, rounded down', async () => {
    const res = await quote({ fromAmount: '123.456789' });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      fromCurrency: 'USDT',
      toCurrency: 'MXN',
      fromAmount: '123.456789',
      toAmount: '2082.45',
      rate: '17.25',
      chain: 'TRON',
    });
    expect(body.fees).toEqual([
      { type: 'commissionFee', amount: '1.234568', currency: 'USDT' },
      { type: 'processingFee', amount: '0.500000', currency: 'USDT' },
      { type: 'taxFee', amount: '0.000000', currency: 'USDT' },
      { type: 'networkFee', amount: '1.000000', currency: 'USDT' },
    ]);
    expect(body.expiration).toBe('2026-05-01T12:05:00.000Z');
    expect(sandbox.state.quotes.get(body.quoteId)?.usedBy).toBeNull();
  });

  it('when a fiat amount is quoted, then the USDT amount is the smallest one that pays it in full', async () => {
    const res = await quote({ toAmount: '1000.00' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ fromAmount: '60.071733', toAmount: '1000.00' });
    const oneMicroLess = await quote({ fromAmount: '60.071732' });
    expect(oneMicroLess.json().toAmount).toBe('999.99');
  });

  it('when many amounts are quoted both ways, then every quote satisfies the exact invariants', async () => {
    for (const [toCurrency, amount] of [
      ['MXN', '10.5'],
      ['ARS', '777.777777'],
      ['CLP', '50'],
      ['COP', '4999.99'],
      ['USD', '31415.926535'],
    ] as const) {
      const forward = (await quote({ toCurrency, fromAmount: amount })).json();
      const toScale = toCurrency === 'CLP' ? 0 : 2;
      const net = units(forward.fromAmount, 6) - forward.fees.reduce((sum: bigint, f: { amount: string }) => sum + units(f.amount, 6), 0n);
      const rate = forward.rate.split('.');
      const rateScale = rate[1]?.length ?? 0;
      const exact = (net * units(forward.rate, rateScale) * 10n ** BigInt(toScale)) / 10n ** BigInt(6 + rateScale);
      expect(units(forward.toAmount, toScale)).toBe(exact);
      const backward = (await quote({ toCurrency, toAmount: forward.toAmount })).json();
      expect(units(backward.fromAmount, 6) <= units(forward.fromAmount, 6)).toBe(true);
      expect(backward.toAmount).toBe(forward.toAmount);
    }
  });

  it('when CLP is quoted, then the fiat amount has no decimals', async () => {
    const res = await quote({ toCurrency: 'CLP', fromAmount: '50' });
    expect(res.json()).toMatchObject({ fromAmount: '50.000000', toAmount: '45120' });
  });

  it('when the amount is under the minimum or over the maximum, then 409 111426 names the limit as a number', async () => {
    const low = await quote({ fromAmount: '9.999999' });
    expect(low.statusCode).toBe(409);
    expect(low.json()).toEqual({
      errorCode: 111426,
      errorMessage: 'Quantity out of range',
      errorMetadata: { fromCurrency: 'USDT', minQuantity: 10 },
    });
    const high = await quote({ fromAmount: '50000.000001' });
    expect(high.statusCode).toBe(409);
    expect(high.json().errorMetadata).toEqual({ fromCurrency: 'USDT', maxQuantity: 50000 });
    const highByFiat = await quote({ toAmount: '900000.00' });
    expect(highByFiat.json().errorMetadata).toEqual({ fromCurrency: 'USDT', maxQuantity: 50000 });
  });

  it('when the pair, the method or the chain is not supported, then 111306, 111307 or 111308', async () => {
    expect((await quote({ fromCurrency: 'BTC', fromAmount: '100' })).json().errorCode).toBe(111306);
    expect((await quote({ toCurrency: 'EUR', fromAmount: '100' })).json().errorCode).toBe(111306);
    expect((await quote({ paymentMethodType: 'CARD', fromAmount: '100' })).json().errorCode).toBe(111307);
    expect((await quote({ chain: 'BITCOIN', fromAmount: '100' })).json().errorCode).toBe(111308);
    const railName = await quote({ paymentMethodType: 'SPEI', fromAmount: '100' });
    expect(railName.statusCode).toBe(201);
  });

  it('when both amounts, neither, or a too-precise amount is sent, then 400 names the field', async () => {
    const both = await quote({ fromAmount: '100', toAmount: '1000' });
    expect(both.statusCode).toBe(400);
    expect(both.json().errorMetadata.fields).toEqual(['fromAmount']);
    expect((await quote({})).statusCode).toBe(400);
    const precise = await quote({ fromAmount: '100.0000001' });
    expect(precise.statusCode).toBe(400);
    expect(precise.json().errorMetadata.fields).toEqual(['fromAmount']);
    const centavos = await quote({ toAmount: '100.001' });
    expect(centavos.json().errorMetadata.fields).toEqual(['toAmount']);
  });

  it('when the quote names an unknown customer, then 404', async () => {
    const res = await quote({ fromAmount: '100', metadata: { customerId: 'no-such-customer' } });
    expect(res.statusCode).toBe(404);
    expect(res.json().errorCode).toBe(111404);
  });

  it('when rates and fees are changed through the emulator, then quotes use them and allConfigs shows them', async () => {
    const put = await sandbox.emu('PUT', '/config', { pairs: { BRL: { rate: '5', fees: { commissionPercent: '0', networkFee: '0' } } } });
    expect(put.statusCode).toBe(200);
    expect(put.json().pairs.BRL).toEqual({
      rate: '5',
      minFromAmount: '10',
      maxFromAmount: '50000',
      fees: { commissionPercent: '0', processingFee: '0.50', taxFee: '0', networkFee: '0' },
    });
    const res = await quote({ toCurrency: 'BRL', fromAmount: '100.5' });
    expect(res.json().toAmount).toBe('500.00');
    const configs = (await sandbox.call('GET', '/allConfigs')).json();
    expect(configs.pairs).toHaveLength(10);
    expect(configs.pairs.find((p: { toCurrency: string }) => p.toCurrency === 'BRL')).toMatchObject({
      rate: '5',
      minQuantity: '10',
      toDecimals: 2,
    });
  });

  it('when a setting would put the minimum over the maximum, then it is refused and nothing changes', async () => {
    const before = (await sandbox.emu('GET', '/config')).json();
    const res = await sandbox.emu('PUT', '/config', { pairs: { PEN: { minFromAmount: '60000' } } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errorMetadata.fields).toEqual(['pairs.PEN.minFromAmount']);
    expect((await sandbox.emu('GET', '/config')).json()).toEqual(before);
  });
});
