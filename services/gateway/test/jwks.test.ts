import { createServer, type Server } from 'node:http';
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@offramp/kit/testing';
import { jwksKeys } from '../src/auth/jwks.ts';
import { claims, startTestGateway, type TestGateway } from './harness.ts';

interface IssuerKey {
  kid: string;
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
  publicPem: string;
}

function issuerKey(kid: string): IssuerKey {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid,
    privateKey,
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' },
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An RS256 token as the issuer signs it, its header naming the key (`kid`) unless `kid` is null. */
function tokenSignedBy(key: IssuerKey, sub: string, kid: string | null = key.kid): string {
  const header = kid === null ? { alg: 'RS256', typ: 'JWT' } : { alg: 'RS256', typ: 'JWT', kid };
  const input = `${b64(header)}.${b64(claims(sub))}`;
  return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}

/** The issuer's JWKS endpoint (node:http on a free port): the keys it publishes can change, and it counts its fetches. */
async function startIssuer() {
  let published: IssuerKey[] = [];
  let failing = false;
  let hanging = false;
  let fetches = 0;
  const server: Server = createServer((req, res) => {
    if (req.url !== '/oauth/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    fetches++;
    // Never answered: the connection is cut when the issuer closes.
    if (hanging) return;
    if (failing) {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"down"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/oauth/jwks.json`,
    publish: (...keys: IssuerKey[]) => void (published = keys),
    fail: (down: boolean) => void (failing = down),
    hang: (stuck: boolean) => void (hanging = stuck),
    fetches: () => fetches,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

type Issuer = Awaited<ReturnType<typeof startIssuer>>;

const eligibility = (gw: TestGateway, token: string) => gw.inject({ url: '/psp/alfred/eligibility', token });

describe('JWT_JWKS_URL: keys from the issuer, rotated without a restart', () => {
  const first = issuerKey('key-2030-01');
  const second = issuerKey('key-2030-02');
  let issuer: Issuer;
  let gw: TestGateway;
  beforeAll(async () => {
    issuer = await startIssuer();
    issuer.publish(first);
    gw = await startTestGateway({ env: { JWT_JWKS_URL: issuer.url, JWT_JWKS_CACHE_SECONDS: '1', JWT_JWKS_REFETCH_COOLDOWN_MS: '0' } });
  });
  afterAll(async () => {
    await gw?.cleanup();
    await issuer?.close();
  });

  it('when the issuer adds a key and then removes the old one, then the new key is accepted at once and the removed one refused', async () => {
    expect((await eligibility(gw, tokenSignedBy(first, 'rotating'))).statusCode).toBe(200);

    // Rotation: the issuer publishes the new key beside the old one and signs with it.
    issuer.publish(first, second);
    expect((await eligibility(gw, tokenSignedBy(second, 'rotating'))).statusCode).toBe(200);
    expect((await eligibility(gw, tokenSignedBy(first, 'rotating'))).statusCode).toBe(200);

    // The old key is withdrawn: refused once the gateway's cached copy has expired (1 s here).
    issuer.publish(second);
    const refused = await eventually('a token of the removed key refused', async () => {
      const res = await eligibility(gw, tokenSignedBy(first, 'rotating'));
      return res.statusCode === 401 ? res : undefined;
    });
    expect(refused.json()).toMatchObject({
      success: false,
      error: { code: 'UNAUTHORIZED', message: expect.stringContaining("not in the issuer's key set") },
    });
    expect((await eligibility(gw, tokenSignedBy(second, 'rotating'))).statusCode).toBe(200);
  });

  it('when a token names a published kid but is signed by another key, then it is refused', async () => {
    const forger = issuerKey('forger');
    const res = await eligibility(gw, tokenSignedBy(forger, 'mallory', second.kid));
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('when a token names a published kid with alg HS256, signed with that public key as the HMAC secret, then it is refused', async () => {
    const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: second.kid })}.${b64(claims('mallory'))}`;
    const forged = `${input}.${createHmac('sha256', second.publicPem).update(input).digest('base64url')}`;
    const res = await eligibility(gw, forged);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('when a token has no kid and no static key is configured, then it is refused saying so', async () => {
    const res = await eligibility(gw, tokenSignedBy(second, 'no-kid', null));
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED', message: expect.stringContaining('no key id (kid)') } });
  });

  it('when the key set cannot be read after a key was cached, then that key keeps working and an unknown one is refused', async () => {
    issuer.publish(second);
    expect((await eligibility(gw, tokenSignedBy(second, 'outage'))).statusCode).toBe(200);
    issuer.fail(true);
    try {
      const before = issuer.fetches();
      const statuses: number[] = [];
      // Until the gateway has gone back to the issuer (its 1 s cache ran out) and met the outage.
      await eventually('the gateway to read the failing key set', async () => {
        statuses.push((await eligibility(gw, tokenSignedBy(second, 'outage'))).statusCode);
        return issuer.fetches() > before;
      });
      statuses.push((await eligibility(gw, tokenSignedBy(second, 'outage'))).statusCode);
      expect(new Set(statuses)).toEqual(new Set([200]));
      const unknown = await eligibility(gw, tokenSignedBy(issuerKey('not-published'), 'outage'));
      expect(unknown.statusCode).toBe(401);
      expect(unknown.json()).toMatchObject({ error: { message: expect.stringContaining('cannot be read') } });
    } finally {
      issuer.fail(false);
    }
  });
});

describe('JWT_JWKS_URL: forged kids do not make the gateway fetch per request', () => {
  const key = issuerKey('only-key');
  let issuer: Issuer;
  let gw: TestGateway;
  beforeAll(async () => {
    issuer = await startIssuer();
    issuer.publish(key);
    gw = await startTestGateway({ env: { JWT_JWKS_URL: issuer.url, JWT_JWKS_REFETCH_COOLDOWN_MS: '60000' } });
  });
  afterAll(async () => {
    await gw?.cleanup();
    await issuer?.close();
  });

  it('when tokens name unknown kids, then the first is looked up, the rest refused without a fetch, and the known key still works', async () => {
    expect((await eligibility(gw, tokenSignedBy(key, 'alice'))).statusCode).toBe(200);
    const afterKnown = issuer.fetches();
    for (let i = 0; i < 5; i++) {
      const res = await eligibility(gw, tokenSignedBy(issuerKey(`forged-${i}`), 'mallory'));
      expect(res.statusCode).toBe(401);
    }
    expect(issuer.fetches()).toBe(afterKnown + 1);
    expect((await eligibility(gw, tokenSignedBy(key, 'alice'))).statusCode).toBe(200);
  });
});

describe('JWT_JWKS_URL with JWT_PUBLIC_KEY: tokens without kid', () => {
  const published = issuerKey('published');
  const legacy = issuerKey('legacy');
  let issuer: Issuer;
  let gw: TestGateway;
  beforeAll(async () => {
    issuer = await startIssuer();
    issuer.publish(published);
    gw = await startTestGateway({ env: { JWT_JWKS_URL: issuer.url, JWT_PUBLIC_KEY: legacy.publicPem } });
  });
  afterAll(async () => {
    await gw?.cleanup();
    await issuer?.close();
  });

  it('when a token has no kid, then it is verified with the static key; with a kid, with the published key', async () => {
    expect((await eligibility(gw, tokenSignedBy(legacy, 'static', null))).statusCode).toBe(200);
    expect((await eligibility(gw, tokenSignedBy(published, 'jwks'))).statusCode).toBe(200);
    expect((await eligibility(gw, tokenSignedBy(published, 'jwks', null))).statusCode).toBe(401);
  });
});

describe('JWKS keys: an issuer that does not answer', () => {
  let issuer: Issuer;
  beforeAll(async () => {
    issuer = await startIssuer();
    issuer.hang(true);
  });
  afterAll(async () => issuer?.close());

  it('when the key set does not come within the timeout, then the token is refused instead of waiting', async () => {
    const keyOf = jwksKeys({ url: issuer.url, cacheSeconds: 60, refetchCooldownMs: 0, timeoutMs: 200 });
    const request = {} as Parameters<typeof keyOf>[0];
    const started = performance.now();
    await expect(keyOf(request, { header: { alg: 'RS256', kid: 'k1' } })).rejects.toThrow("The issuer's key set cannot be read");
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(issuer.fetches()).toBe(1);
  });
});
