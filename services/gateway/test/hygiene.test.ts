import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@offramp/kit';
import { eventually } from '@offramp/kit/testing';
import { readGatewayConfig } from '../src/app.ts';
import { devSecret, jwtSecret, startTestGateway, tokenFor, type TestGateway } from './harness.ts';

const now = () => Math.floor(Date.now() / 1000);
const quote = { type: 'withdrawal', amount: '50.00', source_currency_id: 'BRL' };

function expectUnauthorized(res: { statusCode: number; json(): unknown }, message: RegExp) {
  expect(res.statusCode).toBe(401);
  const body = res.json();
  expect(body).toEqual({
    success: false,
    error: { code: 'UNAUTHORIZED', message: expect.stringMatching(message) },
    trace_id: expect.any(String),
  });
}

describe('token lifetime and clock skew (defaults: 3600 s for traders, 8 h for operators, 60 s skew)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => gw?.cleanup());
  beforeEach(() => gw.fake.reset());

  const eligibility = (token: string) => gw.inject({ url: '/psp/alfred/eligibility', token });

  const refused: [string, () => string, RegExp][] = [
    [
      'a trader token lives longer than an hour',
      () => tokenFor('alice', { iat: now(), exp: now() + 3601 }),
      /lives 3601 s .*at most 3600 s/,
    ],
    [
      'an operator token lives longer than 8 h',
      () => tokenFor('op-1', { role: 'admin', iat: now(), exp: now() + 8 * 3600 + 1 }),
      /at most 28800 s is allowed for an operator/,
    ],
    [
      'iat is ahead of the server clock beyond the skew',
      () => tokenFor('alice', { iat: now() + 120, exp: now() + 600 }),
      /issued in the future/,
    ],
    ['nbf is ahead of the server clock beyond the skew', () => tokenFor('alice', { nbf: now() + 120 }), /not valid yet/],
    ['exp is missing', () => tokenFor('alice', { exp: undefined }), /exp claim is required/],
    ['iat is missing', () => tokenFor('alice', { iat: undefined }), /iat claim is required/],
    ['exp is not after iat', () => tokenFor('alice', { iat: now() - 10, exp: now() - 10 }), /expire|exp must be after iat/],
    ['the token has expired (no skew applies to exp)', () => tokenFor('alice', { iat: now() - 600, exp: now() - 5 }), /expired/],
  ];
  for (const [when, token, message] of refused) {
    it(`when ${when}, then 401 UNAUTHORIZED says why and no service is called`, async () => {
      expectUnauthorized(await eligibility(token()), message);
      expect(gw.fake.received).toEqual([]);
    });
  }

  it('when an operator route gets a token that lives too long, then 401 with the reason too', async () => {
    const res = await gw.inject({
      url: '/api/admin/withdrawals/pending',
      token: tokenFor('op-1', { role: 'admin', iat: now(), exp: now() + 9 * 3600 }),
    });
    expectUnauthorized(res, /at most 28800 s/);
  });

  const accepted: [string, () => string][] = [
    ['a trader token lives exactly an hour', () => tokenFor('alice', { iat: now(), exp: now() + 3600 })],
    ['an operator token lives 8 h', () => tokenFor('op-1', { role: 'admin', iat: now(), exp: now() + 8 * 3600 })],
    ['iat is ahead of the server clock within the skew', () => tokenFor('alice', { iat: now() + 30, exp: now() + 630 })],
    ['nbf is ahead of the server clock within the skew', () => tokenFor('alice', { nbf: now() + 30 })],
    ['iat and exp are fractional NumericDates', () => tokenFor('alice', { iat: now() + 0.5, exp: now() + 600.25 })],
  ];
  for (const [when, token] of accepted) {
    it(`when ${when}, then the route answers`, async () => {
      const res = await eligibility(token());
      expect(res.statusCode).toBe(200);
      expect(gw.fake.received).toHaveLength(1);
    });
  }

  it('when the dev token endpoint issues a token, then it lives one hour with iat and exp and is accepted', async () => {
    const res = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/__dev/token',
      body: { sub: 'dev-trader' },
      headers: { 'x-dev-secret': devSecret },
    });
    expect(res.statusCode).toBe(200);
    const { token, expires_in } = res.json().data;
    expect(expires_in).toBeGreaterThan(3590);
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    expect(payload.exp - payload.iat).toBe(3600);
    expect((await eligibility(token)).statusCode).toBe(200);
  });
});

describe('token rules from the configuration', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      env: { JWT_MAX_LIFETIME_SECONDS: '600', JWT_ADMIN_MAX_LIFETIME_SECONDS: '900', JWT_CLOCK_SKEW_SECONDS: '5' },
    });
  });
  afterAll(async () => gw?.cleanup());

  it('when the maxima and the skew are configured, then they apply, and dev tokens are no longer than the trader maximum', async () => {
    const eligibility = (token: string) => gw.inject({ url: '/psp/alfred/eligibility', token });
    expectUnauthorized(await eligibility(tokenFor('alice', { iat: now(), exp: now() + 601 })), /at most 600 s/);
    expect((await eligibility(tokenFor('alice', { iat: now(), exp: now() + 600 }))).statusCode).toBe(200);
    expect((await eligibility(tokenFor('op', { role: 'admin', iat: now(), exp: now() + 900 }))).statusCode).toBe(200);
    expectUnauthorized(await eligibility(tokenFor('op', { role: 'admin', iat: now(), exp: now() + 901 })), /at most 900 s/);
    expectUnauthorized(await eligibility(tokenFor('alice', { iat: now() + 30, exp: now() + 300 })), /5 s clock skew/);
    const dev = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/__dev/token',
      body: { sub: 'dev-trader' },
      headers: { 'x-dev-secret': devSecret },
    });
    const { token } = dev.json().data;
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    expect(payload.exp - payload.iat).toBe(600);
    expect((await eligibility(token)).statusCode).toBe(200);
  });

  it('when a skew beyond 5 minutes is configured, then the configuration is refused naming the variable', () => {
    expect(() => readGatewayConfig({ JWT_SECRET: jwtSecret, JWT_CLOCK_SKEW_SECONDS: '3600' })).toThrow(/JWT_CLOCK_SKEW_SECONDS/);
  });
});

describe('exact numbers at the gateway', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => gw?.cleanup());
  beforeEach(() => gw.fake.reset());

  const raw = (method: 'POST', url: string, payload: string, token = tokenFor('alice')) =>
    gw.app.http.app.inject({ method, url, payload, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });

  it('when an amount is 2^53 + 1, then 400 VALIDATION_ERROR names the field and no service is called', async () => {
    const res = await raw(
      'POST',
      '/psp/alfred/quote-preview',
      '{"type":"withdrawal","amount":9007199254740993,"source_currency_id":"BRL"}',
    );
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      success: false,
      error: { code: 'VALIDATION_ERROR', details: { fields: [{ field: 'amount', message: expect.stringMatching(/exactly/) }] } },
    });
    expect(gw.fake.received).toEqual([]);
  });

  it('when a nested amount has more precision than a double keeps, then 400 names data.amount', async () => {
    const body =
      '{"data":{"type":"withdrawal","amount":50.0000000000000000001,"source_currency_id":"BRL","payment_route_id":"BR_PIX","wallet_id":"MAIN","fiat_account_id":"fa_1"}}';
    const res = await raw('POST', '/psp/alfred/session', body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.fields.map((f: { field: string }) => f.field)).toEqual(['data.amount']);
    expect(gw.fake.received).toEqual([]);
  });

  it('when the amount is a decimal string or a small number, then it is accepted as before', async () => {
    for (const amount of ['"50.00"', '50', '50.5']) {
      const res = await raw('POST', '/psp/alfred/quote-preview', `{"type":"withdrawal","amount":${amount},"source_currency_id":"BRL"}`);
      expect(res.statusCode, amount).toBe(200);
    }
    expect(gw.fake.received).toHaveLength(3);
  });

  it('when an operator body holds 2^53 + 1, then the admin scope refuses it too; an empty JSON body is still no body', async () => {
    const admin = tokenFor('op-1', { role: 'admin' });
    const res = await raw(
      'POST',
      '/api/admin/withdrawals/01970000-0000-7000-8000-00000000000a/reject',
      '{"reason":"fraud","n":9007199254740993}',
      admin,
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.fields).toEqual([{ field: 'n', message: expect.stringMatching(/exactly/) }]);
    const empty = await raw('POST', '/api/admin/withdrawals/not-an-id/approve', '', admin);
    expect(empty.json().error.details.fields.map((f: { field: string }) => f.field)).toEqual(['id']);
  });

  it('when a body carries __proto__, then 400 VALIDATION_ERROR and no service is called', async () => {
    const res = await raw(
      'POST',
      '/psp/alfred/quote-preview',
      `{"type":"withdrawal","amount":"50.00","source_currency_id":"BRL","__proto__":{"admin":true}}`,
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_ERROR');
    expect(gw.fake.received).toEqual([]);
    expect(quote).not.toHaveProperty('admin');
  });
});

/** Raw bytes over TCP, read until the server closes: what Node's HTTP parser answers, which `inject` skips. */
function rawRequest(port: number, bytes: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = Buffer.concat(chunks).toString('utf8').split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
    socket.write(bytes);
  });
}

describe('the gateway over a real socket: logs, 413, 431', () => {
  const lines: string[] = [];
  let gw: TestGateway;
  let base: string;
  let port: number;

  beforeAll(async () => {
    // Every level, so that no debug or trace line may carry the secret either.
    const log = createLogger({ name: 'gateway', level: 'trace', destination: { write: (s: string) => void lines.push(s) } });
    gw = await startTestGateway({ log });
    base = await gw.app.http.app.listen({ port: 0, host: '127.0.0.1' });
    port = Number(new URL(base).port);
  });
  afterAll(async () => gw?.cleanup());

  it('when a request carries ?token=secret-value, then the request is logged with its path and no line holds the secret', async () => {
    const traceId = 'hygiene-gateway-1';
    const res = await fetch(`${base}/psp/alfred/eligibility?token=secret-value&ticket=secret-value`, {
      headers: { authorization: `Bearer ${tokenFor('alice')}`, 'x-trace-id': traceId },
    });
    expect(res.status).toBe(200);
    const refused = await fetch(`${base}/psp/alfred/eligibility?token=secret-value`, {
      headers: { authorization: 'Bearer secret-value', 'x-trace-id': `${traceId}-b` },
    });
    expect(refused.status).toBe(401);
    const mine = await eventually('both requests completed in the log', () => {
      const own = lines.filter((l) => l.includes(traceId)).map((l) => JSON.parse(l));
      return own.filter((l) => l.msg === 'request completed').length === 2 ? own : undefined;
    });
    expect(mine.find((l) => l.msg === 'request completed' && l.traceId === traceId).req).toMatchObject({
      method: 'GET',
      url: '/psp/alfred/eligibility?token=[redacted]&ticket=[redacted]',
    });
    expect(mine.find((l) => l.msg === 'request completed' && l.traceId === `${traceId}-b`)).toMatchObject({
      req: { method: 'GET', url: '/psp/alfred/eligibility?token=[redacted]' },
      res: { statusCode: 401 },
    });
    // One line per request now (it was two): the listening line, both requests' lines and the refusal.
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(line).not.toContain('secret-value');
  });

  it('when a body is over BODY_LIMIT_BYTES, then 413 PAYLOAD_TOO_LARGE in the envelope', async () => {
    const res = await fetch(`${base}/psp/alfred/fiat-accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenFor('alice')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'PIX', fiatAccountFields: { note: 'x'.repeat(20 * 1024) } }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      success: false,
      error: { code: 'PAYLOAD_TOO_LARGE', message: expect.stringMatching(/16384 bytes/) },
      trace_id: res.headers.get('x-trace-id'),
    });
  });

  it('when the headers are over 16 KiB, then 431 HEADERS_TOO_LARGE in the envelope, and the header is not logged', async () => {
    const res = await rawRequest(
      port,
      `GET /psp/alfred/eligibility HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${'s'.repeat(20 * 1024)}\r\n\r\n`,
    );
    expect(res.status).toBe(431);
    expect(JSON.parse(res.body)).toEqual({
      success: false,
      error: { code: 'HEADERS_TOO_LARGE', message: expect.any(String) },
      trace_id: res.headers['x-trace-id'],
    });
    const logged = await eventually('the 431 log line', () => lines.find((l) => l.includes(res.headers['x-trace-id']!)));
    expect(JSON.parse(logged)).toMatchObject({ msg: 'client error answered', status: 431 });
    for (const line of lines) expect(line).not.toContain('s'.repeat(100));
  });
});
