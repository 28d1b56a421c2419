import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@offramp/kit';
import { jwtSecret, startTestGateway, type TestGateway } from './harness.ts';
import { readGatewayConfig } from '../src/app.ts';

/** A gateway listening on loopback: the proxy in front of it is this test, on 127.0.0.1. */
async function listening(env: Record<string, string>): Promise<{ gw: TestGateway; url: string }> {
  const gw = await startTestGateway({ env: { RATE_LIMIT_ANON_MAX: '2', RATE_LIMIT_WINDOW_MS: '60000', ...env } });
  const url = await gw.app.http.app.listen({ port: 0, host: '127.0.0.1' });
  return { gw, url };
}

/** A request without a valid token (counted in its IP's bucket), as a proxy forwards it with `X-Forwarded-For`. */
async function viaProxy(url: string, forwardedFor: string): Promise<number> {
  const res = await fetch(`${url}/psp/alfred/balances`, { headers: { authorization: 'Bearer garbage', 'x-forwarded-for': forwardedFor } });
  await res.arrayBuffer();
  return res.status;
}

describe('TRUST_PROXY: the client behind the ingress', () => {
  describe('when the proxy on 127.0.0.1 is trusted (TRUST_PROXY=127.0.0.1)', () => {
    let t: Awaited<ReturnType<typeof listening>>;
    beforeAll(async () => {
      t = await listening({ TRUST_PROXY: '127.0.0.1' });
    });
    afterAll(async () => t?.gw.cleanup());

    it('when two clients come through the same proxy, then each has a budget of its own, keyed on its own address', async () => {
      expect([await viaProxy(t.url, '203.0.113.7'), await viaProxy(t.url, '203.0.113.7'), await viaProxy(t.url, '203.0.113.7')]).toEqual([
        401, 401, 429,
      ]);
      expect([await viaProxy(t.url, '203.0.113.8'), await viaProxy(t.url, '203.0.113.8')]).toEqual([401, 401]);
      expect(await viaProxy(t.url, '203.0.113.8')).toBe(429);
    });

    it('when a client sends its own X-Forwarded-For through the proxy, then the address the trusted proxy saw is the client', async () => {
      // The proxy appends the peer it saw; whatever the client wrote before it is not trusted.
      const statuses = [
        await viaProxy(t.url, '198.51.100.1, 203.0.113.9'),
        await viaProxy(t.url, '198.51.100.2, 203.0.113.9'),
        await viaProxy(t.url, '198.51.100.3, 203.0.113.9'),
      ];
      expect(statuses).toEqual([401, 401, 429]);
    });
  });

  describe('when TRUST_PROXY is a hop count (1: the ingress controller)', () => {
    let t: Awaited<ReturnType<typeof listening>>;
    beforeAll(async () => {
      t = await listening({ TRUST_PROXY: '1' });
    });
    afterAll(async () => t?.gw.cleanup());

    it('when two clients come through the one proxy hop, then they get separate budgets', async () => {
      expect([await viaProxy(t.url, '203.0.113.20'), await viaProxy(t.url, '203.0.113.20'), await viaProxy(t.url, '203.0.113.20')]).toEqual(
        [401, 401, 429],
      );
      expect(await viaProxy(t.url, '203.0.113.21')).toBe(401);
    });
  });

  describe('when TRUST_PROXY is not set (the default)', () => {
    let t: Awaited<ReturnType<typeof listening>>;
    beforeAll(async () => {
      t = await listening({});
    });
    afterAll(async () => t?.gw.cleanup());

    it('when clients send X-Forwarded-For, then it is ignored: every request counts for the peer address', async () => {
      expect([await viaProxy(t.url, '203.0.113.30'), await viaProxy(t.url, '203.0.113.31'), await viaProxy(t.url, '203.0.113.32')]).toEqual(
        [401, 401, 429],
      );
    });
  });
});

describe('TRUST_PROXY: the values it takes', () => {
  const read = (TRUST_PROXY: string) =>
    readGatewayConfig({ NATS_URL: 'nats://127.0.0.1:4222', JWT_SECRET: jwtSecret, TRUST_PROXY }).TRUST_PROXY;

  it('when it is false, true, a hop count or a list of addresses and CIDRs, then it is read as Fastify takes it', () => {
    expect(readGatewayConfig({ NATS_URL: 'nats://127.0.0.1:4222', JWT_SECRET: jwtSecret }).TRUST_PROXY).toBe(false);
    expect(read('false')).toBe(false);
    expect(read('true')).toBe(true);
    expect(read('2')).toBe(2);
    expect(read('10.0.0.0/8, 127.0.0.1,::1,fd00::/8,loopback')).toEqual(['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8', 'loopback']);
  });

  it('when it is anything else, then the configuration is refused naming it', () => {
    for (const bad of ['yes', '10.0.0.0/33', '300.1.1.1', 'example.com', '10.0.0.1/8/8']) {
      expect(() => read(bad), bad).toThrow(ConfigError);
      expect(() => read(bad), bad).toThrow(/TRUST_PROXY/);
    }
  });
});
