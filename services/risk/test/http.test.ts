import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { riskRpc } from '@offramp/contracts';
import { debited, startTestRisk, type TestRisk } from './harness.ts';

describe('risk http surface', () => {
  let risk: TestRisk;
  beforeAll(async () => {
    risk = await startTestRisk();
  });
  afterAll(async () => risk?.cleanup());

  it('when probed, then /healthz and /readyz answer 200 with the database and nats checks', async () => {
    const health = await risk.app.http.app.inject({ url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(health.json().data).toEqual({ status: 'ok' });
    const ready = await risk.app.http.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().data.checks).toEqual({ database: 'ok', nats: 'ok' });
  });

  it('when work has been done, then /metrics counts rpcs, decisions handled and events published', async () => {
    await risk.call(riskRpc.getFreeze, {});
    await risk.decideOne(debited());
    const res = await risk.app.http.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/rpc_duration_seconds_count\{[^}]*subject="rpc\.risk\.get-freeze\.v1"[^}]*\} [1-9]/);
    expect(res.body).toMatch(/messages_handled_total\{[^}]*consumer="risk-withdrawals"[^}]*result="handled"[^}]*\} 1/);
    expect(res.body).toMatch(/outbox_published_total\{[^}]*\} [1-9]/);
  });
});
