import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ok, pspAlfredRpc, sessionsRpc } from '@offramp/contracts';
import { startTestGateway, tokenFor, type TestGateway } from './harness.ts';

describe('gateway edge: trace ids, health, unavailable services, docs', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { RPC_TIMEOUT_MS: '300' } });
  });
  afterAll(async () => gw?.cleanup());
  beforeEach(() => gw.fake.reset());

  it('when a service does not answer in time, then 503 PSP_UNAVAILABLE without internals', async () => {
    // The service answers only once the gateway has given up and answered its caller.
    const gaveUp = Promise.withResolvers<undefined>();
    gw.fake.answer(pspAlfredRpc.eligibility, async () => {
      await gaveUp.promise;
      return ok({ eligible: true as const, country: 'BR', rails: [] });
    });
    const res = await gw.inject({ url: '/psp/alfred/eligibility', token: tokenFor('alice') }).finally(() => gaveUp.resolve(undefined));
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toEqual({ code: 'PSP_UNAVAILABLE', message: 'A service did not answer, try again later' });
    expect(res.body).not.toContain('rpc.');
    expect(gw.fake.subjects()).toEqual([pspAlfredRpc.eligibility.subject]);
  });

  it('when initiate gets no answer in time, then 503 says the outcome is unknown and to retry with the same session_id', async () => {
    const gaveUp = Promise.withResolvers<undefined>();
    const sessionId = '01970000-0000-7000-8000-00000000000a';
    gw.fake.answer(sessionsRpc.initiateWithdrawal, async () => {
      await gaveUp.promise;
      return ok({
        withdrawalId: '01970000-0000-7000-8000-00000000000b',
        status: 'pending' as const,
        debited: { amountMinor: 1n, currency: 'USDT' as const },
      });
    });
    const res = await gw
      .inject({ method: 'POST', url: '/psp/alfred/initiate-withdrawal', token: tokenFor('alice'), body: { session_id: sessionId } })
      .finally(() => gaveUp.resolve(undefined));
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toEqual({
      code: 'PSP_UNAVAILABLE',
      message:
        'The outcome is unknown: retry with the same session_id, which returns the withdrawal if one was started and never holds twice',
      details: { outcome: 'unknown', retry_with: { session_id: sessionId } },
    });
  });

  it('when no service listens (the ledger is down), then 503 PSP_UNAVAILABLE', async () => {
    const res = await gw.inject({ url: '/psp/alfred/balances', token: tokenFor('alice') });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ success: false, error: { code: 'PSP_UNAVAILABLE' } });
  });

  it('when a service fails inside, then 500 INTERNAL with no detail of the failure', async () => {
    gw.fake.answer(pspAlfredRpc.supportedOptions, async () => {
      throw new Error('database password is hunter2');
    });
    const res = await gw.inject({ url: '/psp/alfred/supported-options', token: tokenFor('alice') });
    expect(res.statusCode).toBe(500);
    expect(res.json().error).toEqual({ code: 'INTERNAL', message: 'Internal error' });
    expect(res.body).not.toContain('hunter2');
  });

  it('when the caller sends a trace id, then it is echoed, put in the body and carried by every rpc of the request', async () => {
    const res = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/initiate-withdrawal',
      token: tokenFor('alice'),
      headers: { 'x-trace-id': 'trace-edge-42' },
      body: { session_id: '01970000-0000-7000-8000-000000000001' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-trace-id']).toBe('trace-edge-42');
    expect(res.json().trace_id).toBe('trace-edge-42');
    expect(gw.fake.received.map((r) => r.traceId)).toEqual(['trace-edge-42', 'trace-edge-42']);
  });

  it('when the caller sends no trace id, then one is generated and used for the rpc', async () => {
    const res = await gw.inject({ url: '/psp/alfred/fiat-accounts', token: tokenFor('alice') });
    const traceId = res.json().trace_id;
    expect(traceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(gw.fake.received.map((r) => r.traceId)).toEqual([traceId]);
  });

  it('when probed, then /healthz, /readyz (NATS ok) and /metrics answer without a token', async () => {
    expect((await gw.inject({ url: '/healthz' })).statusCode).toBe(200);
    const ready = await gw.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().data.checks).toEqual({ nats: 'ok' });
    expect((await gw.inject({ url: '/metrics' })).body).toContain('process_cpu');
  });

  it('when the OpenAPI document is asked, then it lists every widget and QA route with bearer auth and the body schemas', async () => {
    const res = await gw.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const widget = [
      'GET /eligibility',
      'GET /supported-options',
      'POST /quote-preview',
      'GET /fiat-accounts',
      'GET /fiat-accounts/requirements',
      'POST /fiat-accounts',
      'DELETE /fiat-accounts/{id}',
      'POST /session',
      'POST /initiate-withdrawal',
      'GET /withdrawals',
      'GET /withdrawals/{id}',
      'GET /balances',
    ];
    const qa = [
      'seed-kyc',
      'provision-customer',
      'seed-kyc-and-provision',
      'approve-kyc',
      'emit-kyc-status',
      'fund',
      'emit-offramp',
      'token',
    ].map((p) => `POST /__dev/${p}`);
    for (const route of [...widget, ...qa]) expect(routes).toContain(route.replace(' /', ' /psp/alfred/'));
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    const session = doc.paths['/psp/alfred/session'].post;
    expect(session.security).toEqual([{ bearerAuth: [] }]);
    expect(session.requestBody.content['application/json'].schema.properties.data.required).toContain('payment_route_id');
    expect(Object.keys(session.responses)).toContain('201');
    const ui = await gw.inject({ url: '/docs' });
    expect([200, 302]).toContain(ui.statusCode);
  });
});

describe('gateway rate limits', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { RATE_LIMIT_MAX: '3', RATE_LIMIT_ANON_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' } });
  });
  afterAll(async () => gw?.cleanup());

  it('when a trader goes over the limit, then 429 RATE_LIMITED in the envelope, the rpc is not made, and another trader is not affected', async () => {
    const alice = tokenFor('alice');
    for (let i = 0; i < 3; i++) expect((await gw.inject({ url: '/psp/alfred/eligibility', token: alice })).statusCode).toBe(200);
    const limited = await gw.inject({ url: '/psp/alfred/eligibility', token: alice });
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({
      success: false,
      error: { code: 'RATE_LIMITED', details: { retryAfterSeconds: expect.any(Number) } },
    });
    expect(limited.headers['retry-after']).toBeDefined();
    expect(gw.fake.received).toHaveLength(3);
    expect((await gw.inject({ url: '/psp/alfred/eligibility', token: tokenFor('bob') })).statusCode).toBe(200);
  });

  it('when requests come without a valid token, then they are limited by IP', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await gw.inject({ url: '/psp/alfred/balances', token: 'garbage' })).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});

describe('gateway rate limits: the unauthenticated bucket', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { RATE_LIMIT_MAX: '5', RATE_LIMIT_ANON_MAX: '2', RATE_LIMIT_WINDOW_MS: '60000' } });
  });
  afterAll(async () => gw?.cleanup());

  it('when requests without a valid token use up their IP bucket, then a trader from the same IP keeps the whole of its own, and the other way round', async () => {
    const anonymous = async () => (await gw.inject({ url: '/psp/alfred/balances', token: 'garbage' })).statusCode;
    expect([await anonymous(), await anonymous(), await anonymous()]).toEqual([401, 401, 429]);
    const carol = tokenFor('carol');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await gw.inject({ url: '/psp/alfred/eligibility', token: carol })).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = await gw.inject({ url: '/psp/alfred/eligibility', token: 'garbage' });
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({
      success: false,
      error: { code: 'RATE_LIMITED', details: { retryAfterSeconds: expect.any(Number) } },
    });
    // Another trader's bucket is untouched by both.
    expect((await gw.inject({ url: '/psp/alfred/eligibility', token: tokenFor('dave') })).statusCode).toBe(200);
  });
});
