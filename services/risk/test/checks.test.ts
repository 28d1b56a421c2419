import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@offramp/kit';
import { riskRpc } from '@offramp/contracts';
import { z } from 'zod';
import { debited, startTestRisk, type TestRisk } from './harness.ts';

const usdt = (units: number) => BigInt(units) * 1_000_000n;

describe('risk pre-checks over rpc', () => {
  let risk: TestRisk;
  beforeAll(async () => {
    risk = await startTestRisk();
  });
  afterAll(async () => risk?.cleanup());

  const session = (overrides: Partial<z.output<typeof riskRpc.checkSession.request>> = {}) => ({
    traderId: `trader-${newId()}`,
    country: 'MX',
    paymentRouteId: 'MX_SPEI',
    fiatAmount: '1000.00',
    fiatCurrency: 'MXN',
    cryptoAmountMinor: usdt(50),
    ...overrides,
  });
  const checkSession = (overrides: Parameters<typeof session>[0] = {}) => risk.call(riskRpc.checkSession, session(overrides));

  it('when the global freeze is on, then session and initiate checks are refused with ALFRED_WITHDRAWALS_FROZEN, and allowed again once it is off', async () => {
    const state = await risk.call(riskRpc.setFreeze, { frozen: true, reason: 'incident 42', operatorId: 'op-1' });
    expect(state.global).toMatchObject({ frozen: true, reason: 'incident 42', by: 'op-1' });
    expect(await checkSession()).toEqual({
      ok: false,
      error: { code: 'ALFRED_WITHDRAWALS_FROZEN', message: 'Withdrawals are frozen', details: { scope: 'global' } },
    });
    expect(await risk.call(riskRpc.checkInitiate, { traderId: 't-1', country: 'BR' })).toMatchObject({
      ok: false,
      error: { code: 'ALFRED_WITHDRAWALS_FROZEN' },
    });

    await risk.call(riskRpc.setFreeze, { frozen: false, reason: 'resolved', operatorId: 'op-2' });
    expect(await checkSession()).toEqual({ ok: true, data: { allowed: true } });
    expect(await risk.call(riskRpc.checkInitiate, { traderId: 't-1', country: 'BR' })).toEqual({ ok: true, data: { allowed: true } });
    const audit = await risk.rows(
      z.object({ operator_id: z.string(), reason: z.string(), after: z.object({ frozen: z.boolean() }) }),
      "select operator_id, reason, after from audit_log where subject = 'freeze' and scope = 'global' order by id",
    );
    expect(audit.map((a) => [a.operator_id, a.reason, a.after.frozen])).toEqual([
      ['op-1', 'incident 42', true],
      ['op-2', 'resolved', false],
    ]);
  });

  it('when one country is frozen, then only that country is refused', async () => {
    await risk.call(riskRpc.setFreeze, { frozen: true, country: 'br', reason: 'PIX outage', operatorId: 'op-1' });
    try {
      expect(await risk.call(riskRpc.checkInitiate, { traderId: 't-2', country: 'BR' })).toMatchObject({
        ok: false,
        error: { code: 'ALFRED_WITHDRAWALS_FROZEN', details: { scope: 'BR' } },
      });
      expect(await checkSession({ country: 'BR', paymentRouteId: 'BR_PIX', fiatAmount: '100.00', fiatCurrency: 'BRL' })).toMatchObject({
        ok: false,
        error: { code: 'ALFRED_WITHDRAWALS_FROZEN' },
      });
      expect(await risk.call(riskRpc.checkInitiate, { traderId: 't-2', country: 'MX' })).toEqual({ ok: true, data: { allowed: true } });
      const state = await risk.call(riskRpc.getFreeze, {});
      expect(state.global.frozen).toBe(false);
      expect(state.countries.BR).toMatchObject({ frozen: true, reason: 'PIX outage', by: 'op-1' });
    } finally {
      await risk.call(riskRpc.setFreeze, { frozen: false, country: 'BR', reason: 'PIX back', operatorId: 'op-1' });
    }
    expect(await risk.call(riskRpc.checkInitiate, { traderId: 't-2', country: 'BR' })).toEqual({ ok: true, data: { allowed: true } });
  });

  it('when the fiat amount is outside the route min/max, then LIMIT_EXCEEDED names the bound; the bounds themselves are allowed', async () => {
    expect(await checkSession({ fiatAmount: '99.99' })).toEqual({
      ok: false,
      error: {
        code: 'LIMIT_EXCEEDED',
        message: '99.99 MXN is below the MX_SPEI minimum of 100.00 MXN',
        details: { limit: 'route_min', limitValue: '100.00', currency: 'MXN', requested: '99.99', violations: ['route_min'] },
      },
    });
    expect(await checkSession({ fiatAmount: '200000.01' })).toMatchObject({
      ok: false,
      error: { code: 'LIMIT_EXCEEDED', details: { limit: 'route_max', limitValue: '200000.00' } },
    });
    expect(await checkSession({ fiatAmount: '100' })).toEqual({ ok: true, data: { allowed: true } });
    expect(await checkSession({ fiatAmount: '200000.00' })).toEqual({ ok: true, data: { allowed: true } });
    const clp = { country: 'CL', paymentRouteId: 'CL_ACH_CHL', fiatCurrency: 'CLP' };
    expect(await checkSession({ ...clp, fiatAmount: '4999' })).toMatchObject({
      ok: false,
      error: { code: 'LIMIT_EXCEEDED', details: { limit: 'route_min', limitValue: '5000' } },
    });
    expect(await checkSession({ ...clp, fiatAmount: '5000' })).toEqual({ ok: true, data: { allowed: true } });
  });

  it('when the route is unknown, the currency is not the route currency or the amount too precise, then VALIDATION_ERROR', async () => {
    expect(await checkSession({ paymentRouteId: 'XX_NOPE' })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_ERROR', details: { fields: [{ field: 'paymentRouteId' }] } },
    });
    expect(await checkSession({ fiatCurrency: 'USD' })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_ERROR', details: { fields: [{ field: 'fiatCurrency' }] } },
    });
    expect(await checkSession({ fiatAmount: '100.001' })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_ERROR', details: { fields: [{ field: 'fiatAmount' }] } },
    });
  });

  it('when approved and reviewed withdrawals plus this one go over the trader daily amount or count, then LIMIT_EXCEEDED; rejected ones do not count', async () => {
    const set = await risk.call(riskRpc.setThresholds, { operatorId: 'op-1', trader: { dailyAmountMinor: usdt(250), dailyCount: 3 } });
    expect(set.ok).toBe(true);
    try {
      const traderId = `trader-${newId()}`;
      await risk.decideOne(debited({ traderId, debitedMinor: usdt(100) }));
      await risk.decideOne(debited({ traderId, debitedMinor: usdt(100), accountHolderName: 'x', kycName: 'y', fiatAmount: '99.00' }));
      const blocked = debited({ traderId, debitedMinor: usdt(100) });
      await risk.call(riskRpc.addScreeningEntry, {
        kind: 'destination',
        value: blocked.destinationFingerprint,
        verdict: 'blocked',
        operatorId: 'op-1',
      });
      await risk.decideOne(blocked);
      const decisions = await risk.rows(
        z.object({ decision: z.string() }),
        'select decision from decisions where trader_id = ? order by decided_at',
        [traderId],
      );
      expect(decisions.map((d) => d.decision)).toEqual(['approve', 'review', 'reject']);

      expect(await checkSession({ traderId, cryptoAmountMinor: usdt(50) })).toEqual({ ok: true, data: { allowed: true } });
      expect(await checkSession({ traderId, cryptoAmountMinor: usdt(50) + 1n })).toMatchObject({
        ok: false,
        error: {
          code: 'LIMIT_EXCEEDED',
          details: { limit: 'trader_daily_amount', limitValue: '250.000000', used: '200.000000', currency: 'USDT' },
        },
      });
      await risk.decideOne(debited({ traderId, debitedMinor: usdt(1) }));
      expect(await checkSession({ traderId, cryptoAmountMinor: usdt(1) })).toMatchObject({
        ok: false,
        error: { code: 'LIMIT_EXCEEDED', details: { limit: 'trader_daily_count', limitValue: '3', used: '3' } },
      });
    } finally {
      await risk.call(riskRpc.setThresholds, { operatorId: 'op-1', trader: { dailyAmountMinor: usdt(20_000), dailyCount: 20 } });
    }
  });

  it('when earlier withdrawals are older than a day but within 30 days, then they count against the monthly limit only', async () => {
    const set = await risk.call(riskRpc.setThresholds, { operatorId: 'op-1', trader: { monthlyAmountMinor: usdt(300), monthlyCount: 2 } });
    expect(set.ok).toBe(true);
    try {
      const traderId = `trader-${newId()}`;
      const old = debited({ traderId, debitedMinor: usdt(200) });
      await risk.decideOne(old);
      // Ages the usage: the windows are rolling and measured by the database clock.
      await risk.run("update velocity_usage set counted_at = now() - interval '10 days' where withdrawal_id = ?", [old.withdrawalId]);
      expect(await checkSession({ traderId, cryptoAmountMinor: usdt(101) })).toMatchObject({
        ok: false,
        error: {
          code: 'LIMIT_EXCEEDED',
          details: { limit: 'trader_monthly_amount', used: '200.000000', violations: ['trader_monthly_amount'] },
        },
      });
      await risk.run("update velocity_usage set counted_at = now() - interval '31 days' where withdrawal_id = ?", [old.withdrawalId]);
      expect(await checkSession({ traderId, cryptoAmountMinor: usdt(300) })).toEqual({ ok: true, data: { allowed: true } });
    } finally {
      await risk.call(riskRpc.setThresholds, { operatorId: 'op-1', trader: { monthlyAmountMinor: usdt(100_000), monthlyCount: 200 } });
    }
  });
});
