import { describe, expect, it } from 'vitest';
import { decide, type DecisionInput } from '../src/decisions/decide.ts';
import { routeAmountMinor, routeViolation } from '../src/limits/limits.ts';
import { debited } from './fixtures.ts';

const mxSpei = { paymentRouteId: 'MX_SPEI', currency: 'MXN', minMinor: 10_000n, maxMinor: 20_000_000n };
const usdt = (units: number) => BigInt(units) * 1_000_000n;

function input(overrides: Partial<DecisionInput> = {}): DecisionInput {
  return {
    withdrawal: debited(),
    freeze: { global: false, countries: new Set() },
    route: mxSpei,
    limits: { dailyAmountMinor: usdt(10_000), monthlyAmountMinor: usdt(50_000), dailyCount: 5, monthlyCount: 20 },
    travelRuleThresholdMinor: usdt(1_000),
    screening: [],
    usage: { dailyAmountMinor: 0n, dailyCount: 0, monthlyAmountMinor: 0n, monthlyCount: 0 },
    ...overrides,
  };
}

const codes = (i: DecisionInput) => decide(i).reasons.map((r) => r.code);

describe('the risk decision', () => {
  it('when nothing is wrong, then approve with no reasons', () => {
    expect(decide(input())).toEqual({ decision: 'approve', reasons: [] });
  });

  it('when the destination is blocked, then reject with kyt_blocked and the note in the detail', () => {
    const w = debited();
    const result = decide(
      input({
        withdrawal: w,
        screening: [{ kind: 'destination', value: w.destinationFingerprint, verdict: 'blocked', note: 'sanctions hit' }],
      }),
    );
    expect(result.decision).toBe('reject');
    expect(result.reasons).toEqual([{ code: 'kyt_blocked', detail: 'destination is blocked by the screening list: sanctions hit' }]);
  });

  it('when the trader is suspicious, then review with kyt_suspicious', () => {
    const w = debited();
    const result = decide(input({ withdrawal: w, screening: [{ kind: 'trader', value: w.traderId, verdict: 'suspicious', note: '' }] }));
    expect(result).toMatchObject({ decision: 'review', reasons: [{ code: 'kyt_suspicious' }] });
  });

  it('when a screening entry names another trader or destination, then it does not count', () => {
    const w = debited();
    const screening = [
      { kind: 'trader' as const, value: w.destinationFingerprint, verdict: 'blocked' as const, note: '' },
      { kind: 'destination' as const, value: w.traderId, verdict: 'blocked' as const, note: '' },
    ];
    expect(decide(input({ withdrawal: w, screening })).decision).toBe('approve');
  });

  it('when withdrawals are frozen globally or for the country, then review with frozen; another country frozen does not matter', () => {
    expect(codes(input({ freeze: { global: true, countries: new Set() } }))).toEqual(['frozen']);
    expect(codes(input({ freeze: { global: false, countries: new Set(['MX']) } }))).toEqual(['frozen']);
    expect(decide(input({ freeze: { global: false, countries: new Set(['BR']) } })).decision).toBe('approve');
  });

  it('when the amount is at the Travel Rule threshold and the names differ, then review; just below, approve', () => {
    const mismatch = { accountHolderName: 'Maria Lopez', kycName: 'Juan Perez' };
    expect(decide(input({ withdrawal: debited({ ...mismatch, debitedMinor: usdt(1_000) }) }))).toMatchObject({
      decision: 'review',
      reasons: [{ code: 'travel_rule_name_mismatch' }],
    });
    expect(decide(input({ withdrawal: debited({ ...mismatch, debitedMinor: usdt(1_000) - 1n }) })).decision).toBe('approve');
  });

  it('when the amount is above the Travel Rule threshold and the names match once normalized, then approve', () => {
    const w = debited({ debitedMinor: usdt(5_000), accountHolderName: 'GARCIA, Juan Pérez', kycName: 'juan perez garcia' });
    expect(decide(input({ withdrawal: w })).decision).toBe('approve');
  });

  it('when the withdrawal would go over the daily amount or the monthly count, then review with each limit', () => {
    const usage = { dailyAmountMinor: usdt(9_950), dailyCount: 1, monthlyAmountMinor: usdt(9_950), monthlyCount: 20 };
    expect(codes(input({ usage }))).toEqual(['daily_amount_exceeded', 'monthly_count_exceeded']);
  });

  it('when the withdrawal reaches a limit exactly, then approve', () => {
    const usage = { dailyAmountMinor: usdt(9_900), dailyCount: 4, monthlyAmountMinor: usdt(49_900), monthlyCount: 19 };
    expect(decide(input({ usage })).decision).toBe('approve');
  });

  it('when the fiat amount is outside the route bounds or the route is unknown, then review', () => {
    expect(codes(input({ withdrawal: debited({ fiatAmount: '200000.01' }) }))).toEqual(['route_amount_above_max']);
    expect(codes(input({ withdrawal: debited({ fiatAmount: '99.99' }) }))).toEqual(['route_amount_below_min']);
    expect(codes(input({ route: null }))).toEqual(['route_unknown']);
  });

  it('when several rules fire, then the most severe outcome wins and every reason is kept', () => {
    const w = debited({ debitedMinor: usdt(2_000), accountHolderName: 'Someone Else' });
    const result = decide(
      input({
        withdrawal: w,
        freeze: { global: true, countries: new Set() },
        screening: [
          { kind: 'trader', value: w.traderId, verdict: 'suspicious', note: '' },
          { kind: 'destination', value: w.destinationFingerprint, verdict: 'blocked', note: '' },
        ],
      }),
    );
    expect(result.decision).toBe('reject');
    expect(result.reasons.map((r) => r.code).sort()).toEqual(['frozen', 'kyt_blocked', 'kyt_suspicious', 'travel_rule_name_mismatch']);
  });
});

describe('route bounds', () => {
  it('when amounts are compared, then they are compared exactly in minor units of the route currency', () => {
    expect(routeViolation(mxSpei, routeAmountMinor(mxSpei, '200000.00', 'MXN') as bigint)).toBeNull();
    expect(routeViolation(mxSpei, routeAmountMinor(mxSpei, '200000.01', 'MXN') as bigint)).toMatchObject({
      limit: 'route_max',
      limitValue: '200000.00',
    });
    expect(routeViolation(mxSpei, routeAmountMinor(mxSpei, '100', 'MXN') as bigint)).toBeNull();
  });

  it('when the amount has too many decimals or another currency, then it cannot be compared', () => {
    const clp = { paymentRouteId: 'CL_ACH_CHL', currency: 'CLP', minMinor: 5_000n, maxMinor: 9_000_000n };
    expect(routeAmountMinor(clp, '5000.5', 'CLP')).toBe('invalid_amount');
    expect(routeAmountMinor(clp, '4999', 'CLP')).toBe(4_999n);
    expect(routeAmountMinor(mxSpei, '100.00', 'USD')).toBe('currency_mismatch');
  });
});
