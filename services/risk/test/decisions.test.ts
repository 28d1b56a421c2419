import { afterEach, describe, expect, it } from 'vitest';
import { inTransaction, newId } from '@offramp/kit';
import { eventually, readStream, testLogger } from '@offramp/kit/testing';
import { riskRpc, withdrawalEvents } from '@offramp/contracts';
import { z } from 'zod';
import { buildRisk } from '../src/app.ts';
import { recordDecision } from '../src/decisions/decisions-store.ts';
import { usageExtra } from '../src/limits/limits-store.ts';
import { loadRules } from '../src/thresholds/thresholds.ts';
import { debited, startTestRisk, type TestRisk } from './harness.ts';

const usdt = (units: number) => BigInt(units) * 1_000_000n;

describe('risk decisions on withdrawals.debited', () => {
  let risk: TestRisk | undefined;
  afterEach(async () => {
    await risk?.cleanup();
    risk = undefined;
  });

  const eventsOf = async (r: TestRisk, withdrawalId: string) =>
    (await r.decidedEvents()).filter((e) => e.payload.withdrawalId === withdrawalId);

  it('when a clean withdrawal is debited, then approve is recorded, counted for velocity and announced once', async () => {
    risk = await startTestRisk();
    const w = debited();
    const env = await risk.decideOne(w);
    const events = await eventsOf(risk, w.withdrawalId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'risk.decided',
      version: 1,
      correlationId: w.withdrawalId,
      causationId: env.id,
      traceId: env.traceId,
      payload: { withdrawalId: w.withdrawalId, traderId: w.traderId, decision: 'approve', reasons: [] },
    });
    const decision = await risk.call(riskRpc.getDecision, { withdrawalId: w.withdrawalId });
    expect(decision.decision).toMatchObject({
      decision: 'approve',
      reasons: [],
      traderId: w.traderId,
      country: 'MX',
      paymentRouteId: 'MX_SPEI',
      debitedMinor: w.debitedMinor,
    });
    const usage = await risk.rows(
      z.object({ amount_minor: z.string() }),
      'select amount_minor::text from velocity_usage where withdrawal_id = ?',
      [w.withdrawalId],
    );
    expect(usage).toEqual([{ amount_minor: w.debitedMinor.toString() }]);
  });

  it('when the destination is on the screening list as blocked, then reject with kyt_blocked, not counted for velocity', async () => {
    risk = await startTestRisk();
    const w = debited();
    await risk.call(riskRpc.addScreeningEntry, {
      kind: 'destination',
      value: w.destinationFingerprint,
      verdict: 'blocked',
      note: 'mule account',
      operatorId: 'op-1',
    });
    await risk.decideOne(w);
    const [event] = await eventsOf(risk, w.withdrawalId);
    expect(event?.payload).toMatchObject({
      decision: 'reject',
      reasons: [{ code: 'kyt_blocked', detail: 'destination is blocked by the screening list: mule account' }],
    });
    expect(await risk.rows(z.unknown(), 'select 1 from velocity_usage where withdrawal_id = ?', [w.withdrawalId])).toHaveLength(0);
    const [row] = await risk.rows(
      z.object({ decision: z.string(), reasons: z.unknown() }),
      'select decision, reasons from decisions where withdrawal_id = ?',
      [w.withdrawalId],
    );
    expect(row).toEqual({ decision: 'reject', reasons: event?.payload.reasons });
  });

  it('when the trader is on the screening list as suspicious, then review with kyt_suspicious', async () => {
    risk = await startTestRisk();
    const w = debited();
    await risk.call(riskRpc.addScreeningEntry, { kind: 'trader', value: w.traderId, verdict: 'suspicious', operatorId: 'op-1' });
    await risk.decideOne(w);
    const [event] = await eventsOf(risk, w.withdrawalId);
    expect(event?.payload).toMatchObject({ decision: 'review', reasons: [{ code: 'kyt_suspicious' }] });
    expect(await risk.rows(z.unknown(), 'select 1 from velocity_usage where withdrawal_id = ?', [w.withdrawalId])).toHaveLength(1);
  });

  it('when the holder name does not match the KYC name, then review at or above the Travel Rule threshold and approve below it', async () => {
    risk = await startTestRisk();
    const names = { accountHolderName: 'Maria Lopez', kycName: 'Juan Perez' };
    const above = debited({ ...names, debitedMinor: usdt(1_000) });
    const below = debited({ ...names, debitedMinor: usdt(1_000) - 1n });
    await risk.decideOne(above);
    await risk.decideOne(below);
    expect((await eventsOf(risk, above.withdrawalId))[0]?.payload).toMatchObject({
      decision: 'review',
      reasons: [{ code: 'travel_rule_name_mismatch' }],
    });
    expect((await eventsOf(risk, below.withdrawalId))[0]?.payload).toMatchObject({ decision: 'approve', reasons: [] });
  });

  it('when withdrawals are frozen at decision time, then review with frozen', async () => {
    risk = await startTestRisk();
    await risk.call(riskRpc.setFreeze, { frozen: true, country: 'MX', reason: 'bank holiday', operatorId: 'op-1' });
    const w = debited();
    await risk.decideOne(w);
    expect((await eventsOf(risk, w.withdrawalId))[0]?.payload).toMatchObject({ decision: 'review', reasons: [{ code: 'frozen' }] });
  });

  it('when the withdrawal goes over the trader daily count, then review with daily_count_exceeded', async () => {
    risk = await startTestRisk();
    await risk.call(riskRpc.setThresholds, { operatorId: 'op-1', trader: { dailyCount: 1 } });
    const traderId = `trader-${newId()}`;
    const first = debited({ traderId });
    const second = debited({ traderId });
    await risk.decideOne(first);
    await risk.decideOne(second);
    expect((await eventsOf(risk, first.withdrawalId))[0]?.payload.decision).toBe('approve');
    expect((await eventsOf(risk, second.withdrawalId))[0]?.payload).toMatchObject({
      decision: 'review',
      reasons: [{ code: 'daily_count_exceeded' }],
    });
  });

  it('when two replicas decide many withdrawals of one trader at once, then exactly the count limit is approved', async () => {
    const settled: string[] = [];
    risk = await startTestRisk({ consumer: { onSettled: (r) => void settled.push(r) } });
    const replica = await buildRisk({
      config: risk.config,
      db: risk.db,
      messaging: risk.messaging,
      log: testLogger('risk-2'),
      hooks: { consumer: { onSettled: (r) => void settled.push(r) } },
    });
    try {
      await risk.call(riskRpc.setThresholds, { operatorId: 'op-1', trader: { dailyCount: 5 } });
      const traderId = `trader-${newId()}`;
      const all = Array.from({ length: 12 }, () => debited({ traderId }));
      await Promise.all(all.map((w) => risk!.publishDebited(w)));
      await eventually('every decision', () => settled.length === all.length);
      expect(settled.every((s) => s === 'handled')).toBe(true);
      const decisions = await risk.rows(
        z.object({ decision: z.string(), n: z.number() }),
        'select decision, count(*)::int as n from decisions where trader_id = ? group by decision order by decision',
        [traderId],
      );
      expect(decisions).toEqual([
        { decision: 'approve', n: 5 },
        { decision: 'review', n: 7 },
      ]);
    } finally {
      await replica.close();
    }
  });

  it('when the trader used more after the decision read the usage, then its guarded write records nothing; from a fresh read it is recorded once', async () => {
    risk = await startTestRisk();
    const traderId = `trader-${newId()}`;
    const usage = usageExtra(traderId);
    const readUsage = (r: TestRisk) => inTransaction(r.db, async (em) => (await loadRules(em, [usage])).extras.usage);
    // What a decision read before the trader's first withdrawal was counted.
    const stale = await readUsage(risk);
    await risk.decideOne(debited({ traderId }));
    const second = debited({ traderId });
    const approve = { decision: 'approve' as const, reasons: [] };
    const write = (r: TestRisk, value: unknown) =>
      inTransaction(r.db, (em) => recordDecision(em, second, approve, newId(), { ...usage, value }));
    expect(await write(risk, stale)).toBe(false);
    const counted = () =>
      risk!.rows(z.object({ withdrawal_id: z.string() }), 'select withdrawal_id from velocity_usage where trader_id = ?', [traderId]);
    expect(await counted()).toHaveLength(1);
    expect(await risk.rows(z.unknown(), 'select 1 from decisions where withdrawal_id = ?', [second.withdrawalId])).toEqual([]);
    const fresh = await readUsage(risk);
    expect(await write(risk, fresh)).toBe(true);
    expect(await counted()).toHaveLength(2);
    // Decided already: the same write again records nothing.
    expect(await write(risk, await readUsage(risk))).toBe(false);
    expect(await counted()).toHaveLength(2);
  });

  it('when the same envelope is published twice under different message ids, then one decision and one event', async () => {
    const settled: string[] = [];
    risk = await startTestRisk({ consumer: { onSettled: (r) => void settled.push(r) } });
    const w = debited();
    const env = await risk.publishDebited(w);
    await risk.publishDebited(w, env, newId());
    await eventually('both deliveries', () => settled.length === 2);
    expect(settled).toEqual(['handled', 'duplicate']);
    await risk.app.relay.flush();
    expect(await eventsOf(risk, w.withdrawalId)).toHaveLength(1);
    expect(await risk.rows(z.unknown(), 'select 1 from decisions where withdrawal_id = ?', [w.withdrawalId])).toHaveLength(1);
    expect(await risk.rows(z.unknown(), 'select 1 from velocity_usage where withdrawal_id = ?', [w.withdrawalId])).toHaveLength(1);
  });

  it('when JetStream redelivers after a crash between commit and ack, then one decision and one event', async () => {
    const settled: string[] = [];
    let crashes = 1;
    risk = await startTestRisk({
      consumer: {
        backoffMs: [100],
        afterCommit: () => {
          if (crashes-- > 0) throw new Error('simulated crash after commit, before ack');
        },
        onSettled: (r) => void settled.push(r),
      },
    });
    const w = debited();
    await risk.publishDebited(w);
    await eventually('the redelivery', () => settled.includes('duplicate'));
    expect(settled).toEqual(['retry', 'duplicate']);
    await risk.app.relay.flush();
    expect(await eventsOf(risk, w.withdrawalId)).toHaveLength(1);
    expect(await risk.rows(z.unknown(), 'select 1 from decisions where withdrawal_id = ?', [w.withdrawalId])).toHaveLength(1);
  });

  it('when a new envelope arrives for a withdrawal already decided, then the recorded decision is announced again unchanged', async () => {
    risk = await startTestRisk();
    const w = debited();
    await risk.decideOne(w);
    await risk.call(riskRpc.addScreeningEntry, { kind: 'trader', value: w.traderId, verdict: 'blocked', operatorId: 'op-1' });
    const again = await risk.publishDebited(w);
    await eventually('the second announcement', async () => (await eventsOf(risk!, w.withdrawalId)).length === 2);
    const events = await eventsOf(risk, w.withdrawalId);
    expect(events.map((e) => e.payload)).toEqual([events[0]!.payload, events[0]!.payload]);
    expect(events[1]).toMatchObject({ causationId: again.id, payload: { decision: 'approve' } });
    expect(await risk.rows(z.unknown(), 'select 1 from velocity_usage where withdrawal_id = ?', [w.withdrawalId])).toHaveLength(1);
  });

  it('when the message is not a valid debited event, then it is dead-lettered with the reason and nothing is decided', async () => {
    const settled: string[] = [];
    risk = await startTestRisk({ consumer: { onSettled: (r) => void settled.push(r) } });
    const id = newId();
    const body = {
      id,
      type: 'withdrawals.debited',
      version: 1,
      occurredAt: new Date().toISOString(),
      correlationId: id,
      causationId: null,
      traceId: id,
      payload: { withdrawalId: id },
    };
    await risk.messaging.js.publish(risk.messaging.wire(withdrawalEvents.debited.subject), JSON.stringify(body), { msgID: id });
    await eventually('the dead letter', () => settled.includes('dead_letter'));
    const dead = await readStream(risk.messaging, 'DEADLETTER', `dlq.${withdrawalEvents.debited.subject}`);
    expect(dead.map((d) => d.data)).toEqual([body]);
    expect(await risk.rows(z.unknown(), 'select 1 from decisions')).toHaveLength(0);
    expect(await risk.decidedEvents()).toHaveLength(0);
  });
});
