import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPspAlfred, type TestPspAlfred } from './harness.ts';

let t: TestPspAlfred;
beforeAll(async () => {
  t = await startTestPspAlfred();
});
afterAll(async () => {
  await t.cleanup();
});

describe('webhook port surface', () => {
  it('when health, readiness and metrics are asked on the webhook port, then they answer', async () => {
    const base = t.webhookUrl.replace('/psp/alfred/webhook', '');
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ success: true, data: { status: 'ok' } });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ data: { status: 'ready', checks: { database: 'ok', nats: 'ok' } } });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('outbox_backlog');
  });

  it('when an unknown path is asked, then 404 with the error envelope', async () => {
    const res = await t.app.http.app.inject({ method: 'GET', url: '/psp/alfred/nothing' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } });
  });

  it('when the webhook is asked with GET, then it is not served', async () => {
    const res = await t.app.http.app.inject({ method: 'GET', url: '/psp/alfred/webhook' });
    expect(res.statusCode).toBe(404);
  });
});
