import { describe, expect, it } from 'vitest';
import { createSessionBody, devFundBody, quotePreviewBody, withdrawalsQuery } from '@offramp/contracts';
import { fieldsOf } from '@offramp/kit';

const quote = (amount: unknown, currency = 'BRL') =>
  quotePreviewBody.safeParse({ type: 'withdrawal', amount, source_currency_id: currency });

describe('http input contracts', () => {
  it('when amounts are numbers, then they become their exact decimal string without float arithmetic', () => {
    expect(quote(100).data?.amount).toBe('100');
    expect(quote(50.1).data?.amount).toBe('50.1');
    expect(quote(0.01).data?.amount).toBe('0.01');
    expect(devFundBody.parse({ amount: 0.000001, currency: 'USDT' }).amount).toBe('0.000001');
    expect(devFundBody.parse({ amount: '123456789.123456', currency: 'USDT' }).amount).toBe('123456789.123456');
  });

  it('when amounts are negative, zero, exponent-shaped, noisy or too precise for the currency, then they are refused', () => {
    for (const bad of [-1, 0, '0.00', 1e21, 1.5e-7, 0.1 + 0.2, '1e3', ' 5', '05', '5.', '.5', 'NaN', '50.001'])
      expect(quote(bad).success, String(bad)).toBe(false);
    expect(quote('5000.5', 'CLP').success).toBe(false);
    expect(quote('5000', 'CLP').success).toBe(true);
    expect(devFundBody.safeParse({ amount: '1.0000001', currency: 'USDT' }).success).toBe(false);
  });

  it('when a body has unknown keys at two levels, then each key is named as its own field', () => {
    const r = createSessionBody.safeParse({
      extra: 1,
      data: {
        type: 'withdrawal',
        amount: '50',
        source_currency_id: 'BRL',
        payment_route_id: 'BR_PIX',
        wallet_id: 'MAIN',
        fiat_account_id: 'fa',
        user_id: 'x',
      },
    });
    expect(r.success).toBe(false);
    expect(
      fieldsOf(r.error!)
        .map((f) => f.field)
        .sort(),
    ).toEqual(['data.user_id', 'extra']);
  });

  it('when page and limit are absent, then the defaults are page 1 of 20; a limit over 100 is refused', () => {
    expect(withdrawalsQuery.parse({})).toEqual({ page: 1, limit: 20 });
    expect(withdrawalsQuery.parse({ page: '3', limit: '100' })).toEqual({ page: 3, limit: 100 });
    expect(withdrawalsQuery.safeParse({ limit: '101' }).success).toBe(false);
  });
});
