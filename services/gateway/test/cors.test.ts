import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGatewayConfig } from '../src/app.ts';
import { startTestGateway, tokenFor, type TestGateway } from './harness.ts';

const widget = 'https://widget.example.org';
const other = 'https://evil.example.net';
const corsHeaders = (headers: Record<string, unknown>) => Object.keys(headers).filter((h) => h.startsWith('access-control-'));

describe('gateway CORS (CORS_ORIGINS)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { CORS_ORIGINS: `${widget}, http://localhost:5173` } });
  });
  afterAll(async () => gw?.cleanup());

  it('when an allowed origin sends a preflight for a POST with Authorization, then 204 allows the method and headers for that origin', async () => {
    const res = await gw.inject({
      method: 'OPTIONS',
      url: '/psp/alfred/session',
      headers: { origin: widget, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(widget);
    expect(String(res.headers['access-control-allow-methods'])).toContain('POST');
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('when an allowed origin calls, then the answer (success or refusal) carries its origin and exposes the trace id', async () => {
    const ok = await gw.inject({ url: '/psp/alfred/eligibility', token: tokenFor('alice'), headers: { origin: widget } });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(widget);
    expect(String(ok.headers['access-control-expose-headers']).toLowerCase()).toContain('x-trace-id');
    expect(ok.headers.vary).toContain('Origin');
    const refused = await gw.inject({ url: '/psp/alfred/eligibility', headers: { origin: 'http://localhost:5173' } });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['access-control-allow-origin']).toBe('http://localhost:5173');
  });

  it('when a disallowed origin sends a preflight or a request, then no CORS header at all is sent (the browser refuses)', async () => {
    const preflight = await gw.inject({
      method: 'OPTIONS',
      url: '/psp/alfred/session',
      headers: { origin: other, 'access-control-request-method': 'POST' },
    });
    expect(preflight.statusCode).toBe(404);
    expect(corsHeaders(preflight.headers)).toEqual([]);
    const call = await gw.inject({ url: '/psp/alfred/eligibility', token: tokenFor('alice'), headers: { origin: other } });
    expect(corsHeaders(call.headers)).toEqual([]);
    const lookalike = await gw.inject({
      url: '/psp/alfred/eligibility',
      token: tokenFor('alice'),
      headers: { origin: `${widget}.evil.example.net` },
    });
    expect(corsHeaders(lookalike.headers)).toEqual([]);
  });
});

describe('gateway CORS configuration', () => {
  const base = { JWT_SECRET: 'x'.repeat(40) };
  it('when CORS_ORIGINS is unset, then no origin is allowed', () => {
    expect(readGatewayConfig(base).CORS_ORIGINS).toEqual([]);
  });

  it('when CORS_ORIGINS lists origins, then each is kept; a path, a trailing slash, a wildcard or another scheme is refused naming the variable', () => {
    expect(readGatewayConfig({ ...base, CORS_ORIGINS: 'https://a.example.org,http://localhost:5173' }).CORS_ORIGINS).toEqual([
      'https://a.example.org',
      'http://localhost:5173',
    ]);
    for (const bad of ['https://a.example.org/', 'https://a.example.org/widget', '*', 'ftp://a.example.org', 'a.example.org']) {
      expect(() => readGatewayConfig({ ...base, CORS_ORIGINS: bad }), bad).toThrow(/CORS_ORIGINS/);
    }
  });

  it('when no CORS_ORIGINS is configured, then a browser origin gets no CORS header', async () => {
    const gw = await startTestGateway();
    try {
      const res = await gw.inject({
        method: 'OPTIONS',
        url: '/psp/alfred/eligibility',
        headers: { origin: widget, 'access-control-request-method': 'GET' },
      });
      expect(res.statusCode).toBe(404);
      expect(corsHeaders(res.headers)).toEqual([]);
    } finally {
      await gw.cleanup();
    }
  });
});
