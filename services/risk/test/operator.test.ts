import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@offramp/kit';
import { paymentRoutes, riskRpc } from '@offramp/contracts';
import { z } from 'zod';
import { startTestRisk, type TestRisk } from './harness.ts';

describe('risk operator rpcs', () => {
  let risk: TestRisk;
  beforeAll(async () => {
    risk = await startTestRisk();
  });
  afterAll(async () => risk?.cleanup());

  it('when the thresholds are read after migration, then they are the route catalogue bounds and the seeded limits', async () => {
    const t = await risk.call(riskRpc.getThresholds, {});
    expect(Object.keys(t.routes).sort()).toEqual(paymentRoutes.map((r) => r.id).sort());
    for (const r of paymentRoutes) expect(t.routes[r.id]).toEqual({ currency: r.currency, min: r.min, max: r.max });
    expect(t.travelRuleThresholdMinor).toBe(1_000_000_000n);
    expect(t.trader).toEqual({
      dailyAmountMinor: 20_000_000_000n,
      monthlyAmountMinor: 100_000_000_000n,
      dailyCount: 20,
      monthlyCount: 200,
    });
  });

  it('when an operator changes some thresholds, then only those change, the checks use them and the change is audited', async () => {
    const before = await risk.call(riskRpc.getThresholds, {});
    const result = await risk.call(riskRpc.setThresholds, {
      operatorId: 'op-7',
      reason: 'new SPEI cap',
      routes: { MX_SPEI: { max: '150000' } },
      travelRuleThresholdMinor: 500_000_000n,
    });
    expect(result.ok).toBe(true);
    const after = await risk.call(riskRpc.getThresholds, {});
    expect(after.routes.MX_SPEI).toEqual({ currency: 'MXN', min: '100.00', max: '150000.00' });
    expect(after).toEqual({
      ...before,
      routes: { ...before.routes, MX_SPEI: after.routes.MX_SPEI },
      travelRuleThresholdMinor: 500_000_000n,
    });
    const check = { traderId: `trader-${newId()}`, country: 'MX', paymentRouteId: 'MX_SPEI', fiatCurrency: 'MXN', cryptoAmountMinor: 1n };
    expect(await risk.call(riskRpc.checkSession, { ...check, fiatAmount: '150000.01' })).toMatchObject({
      ok: false,
      error: { code: 'LIMIT_EXCEEDED', details: { limit: 'route_max' } },
    });
    const audit = await risk.rows(
      z.object({
        operator_id: z.string(),
        reason: z.string(),
        before: z.object({ routes: z.object({ MX_SPEI: z.object({ max: z.string() }) }) }),
        after: z.object({ travelRuleThresholdMinor: z.string() }),
      }),
      "select operator_id, reason, before, after from audit_log where subject = 'thresholds' order by id desc limit 1",
    );
    expect(audit[0]).toMatchObject({
      operator_id: 'op-7',
      reason: 'new SPEI cap',
      before: { routes: { MX_SPEI: { max: '200000.00' } } },
      after: { travelRuleThresholdMinor: '500000000' },
    });
    const [row] = await risk.rows(
      z.object({ max_minor: z.string(), updated_by: z.string() }),
      "select max_minor::text, updated_by from route_limits where payment_route_id = 'MX_SPEI'",
    );
    expect(row).toEqual({ max_minor: '15000000', updated_by: 'op-7' });
    await risk.call(riskRpc.setThresholds, {
      operatorId: 'op-7',
      routes: { MX_SPEI: { max: '200000.00' } },
      travelRuleThresholdMinor: 1_000_000_000n,
    });
  });

  it('when a threshold change is invalid, then VALIDATION_ERROR per field and nothing changes', async () => {
    const before = await risk.call(riskRpc.getThresholds, {});
    const audits = (await risk.rows(z.unknown(), "select 1 from audit_log where subject = 'thresholds'")).length;
    const result = await risk.call(riskRpc.setThresholds, {
      operatorId: 'op-7',
      routes: { XX_NOPE: { max: '1' }, BR_PIX: { min: '60000' }, CL_ACH_CHL: { max: '10.5' } },
      trader: { dailyCount: 3 },
    });
    expect(result).toEqual({
      ok: false,
      error: {
        code: 'VALIDATION_ERROR',
        message: 'invalid thresholds',
        details: {
          fields: [
            { field: 'routes.XX_NOPE', message: 'unknown payment route' },
            { field: 'routes.BR_PIX', message: 'min must not be above max' },
            { field: 'routes.CL_ACH_CHL.max', message: 'at most 0 decimals for CLP' },
          ],
        },
      },
    });
    expect(await risk.call(riskRpc.getThresholds, {})).toEqual(before);
    expect(await risk.rows(z.unknown(), "select 1 from audit_log where subject = 'thresholds'")).toHaveLength(audits);
  });

  it('when screening entries are added, replaced, listed and removed, then the list follows and every change is audited', async () => {
    const value = `clabe:${newId()}`;
    const added = await risk.call(riskRpc.addScreeningEntry, {
      kind: 'destination',
      value,
      verdict: 'suspicious',
      note: 'first report',
      operatorId: 'op-1',
    });
    expect(added.entry).toMatchObject({ kind: 'destination', value, verdict: 'suspicious', note: 'first report', updatedBy: 'op-1' });
    await risk.call(riskRpc.addScreeningEntry, { kind: 'destination', value, verdict: 'blocked', note: 'confirmed', operatorId: 'op-2' });
    const listed = await risk.call(riskRpc.listScreeningEntries, { kind: 'destination' });
    expect(listed.entries.filter((e) => e.value === value)).toEqual([
      expect.objectContaining({ verdict: 'blocked', note: 'confirmed', updatedBy: 'op-2' }),
    ]);
    expect(await risk.call(riskRpc.removeScreeningEntry, { kind: 'destination', value, operatorId: 'op-3' })).toEqual({ removed: true });
    expect(await risk.call(riskRpc.removeScreeningEntry, { kind: 'destination', value, operatorId: 'op-3' })).toEqual({ removed: false });
    expect((await risk.call(riskRpc.listScreeningEntries, {})).entries.filter((e) => e.value === value)).toEqual([]);
    const audit = await risk.rows(
      z.object({
        operator_id: z.string(),
        before: z.object({ verdict: z.string() }).nullable(),
        after: z.object({ verdict: z.string() }).nullable(),
      }),
      "select operator_id, before, after from audit_log where subject = 'screening' and scope = ? order by id",
      [`destination:${value}`],
    );
    expect(audit.map((a) => [a.operator_id, a.before?.verdict ?? null, a.after?.verdict ?? null])).toEqual([
      ['op-1', null, 'suspicious'],
      ['op-2', 'suspicious', 'blocked'],
      ['op-3', 'blocked', null],
    ]);
  });

  it('when a freeze names something that is not a country code, then VALIDATION_ERROR and nothing is frozen', async () => {
    await expect(risk.call(riskRpc.setFreeze, { frozen: true, country: 'M1', reason: 'typo', operatorId: 'op-1' })).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    });
    expect((await risk.call(riskRpc.getFreeze, {})).countries).toEqual({});
  });

  it('when the decision of an undecided withdrawal is asked for, then it is null', async () => {
    expect(await risk.call(riskRpc.getDecision, { withdrawalId: newId() })).toEqual({ decision: null });
  });

  it('when a recorded decision has reasons of the wrong shape, then reading it fails instead of passing them on', async () => {
    const withdrawalId = newId();
    await risk.run(
      `insert into decisions (withdrawal_id, trader_id, country, payment_route_id, debited_minor, decision, reasons, message_id)
       values (?, 'trader-x', 'MX', 'MX_SPEI', 1, 'approve', '[{"code":"Not A Code"}]'::jsonb, ?)`,
      [withdrawalId, newId()],
    );
    await expect(risk.call(riskRpc.getDecision, { withdrawalId })).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  it('when two operators add the same new screening entry at once, then both succeed, one entry remains and both are audited', async () => {
    const value = `trader-${newId()}`;
    const [a, b] = await Promise.all(
      (['op-a', 'op-b'] as const).map((operatorId) =>
        risk.call(riskRpc.addScreeningEntry, { kind: 'trader', value, verdict: 'suspicious', operatorId }),
      ),
    );
    expect([a?.entry.updatedBy, b?.entry.updatedBy].sort()).toEqual(['op-a', 'op-b']);
    expect((await risk.call(riskRpc.listScreeningEntries, { kind: 'trader' })).entries.filter((e) => e.value === value)).toHaveLength(1);
    expect(
      await risk.rows(z.unknown(), "select 1 from audit_log where subject = 'screening' and scope = ?", [`trader:${value}`]),
    ).toHaveLength(2);
  });

  it('when the audit log is tampered with, then the database refuses', async () => {
    await risk.call(riskRpc.setFreeze, { frozen: false, reason: 'noop', operatorId: 'op-1' });
    await expect(risk.run('delete from audit_log')).rejects.toThrow(/append-only/);
  });
});
