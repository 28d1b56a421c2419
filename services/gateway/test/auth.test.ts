import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pspAlfredRpc } from '@offramp/contracts';
import { eventually } from '@offramp/kit/testing';
import { claims, jwtSecret, rsaKeys, signJwt, startTestGateway, tokenFor, type TestGateway } from './harness.ts';

const now = () => Math.floor(Date.now() / 1000);

function expectUnauthorized(res: { statusCode: number; json(): { trace_id?: unknown } }) {
  expect(res.statusCode).toBe(401);
  const body = res.json();
  expect(body).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' } });
  expect(typeof body.trace_id).toBe('string');
}

describe('gateway auth with HS256', () => {
  let gw: TestGateway;
  const rsa = rsaKeys();
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => gw?.cleanup());
  beforeEach(() => gw.fake.reset());

  const refused: [string, () => string | undefined][] = [
    ['there is no token', () => undefined],
    ['the token is garbage', () => 'not-a-jwt'],
    ['the token has expired', () => tokenFor('alice', { exp: now() - 5 })],
    ['the token has no expiry', () => tokenFor('alice', { exp: undefined })],
    ['the issuer is another', () => tokenFor('alice', { iss: 'someone-else' })],
    ['the audience is another', () => tokenFor('alice', { aud: 'another-app' })],
    ['the token has no sub', () => tokenFor('alice', { sub: undefined })],
    ['the sub is not a usable id', () => tokenFor('alice bob')],
    ['the algorithm is none', () => signJwt(claims('alice'), { alg: 'none' })],
    ['the token is signed with another secret', () => signJwt(claims('alice'), { alg: 'HS256', secret: `${jwtSecret}-other` })],
    ['the token is RS256 while HS256 is configured', () => signJwt(claims('alice'), { alg: 'RS256', privateKey: rsa.privateKey })],
  ];

  for (const [when, token] of refused) {
    it(`when ${when}, then 401 UNAUTHORIZED and no service is called`, async () => {
      const res = await gw.inject({ url: '/psp/alfred/eligibility', token: token() });
      expectUnauthorized(res);
      expect(gw.fake.received).toEqual([]);
    });
  }

  it('when the Authorization header is not a bearer token, then 401 UNAUTHORIZED', async () => {
    const res = await gw.inject({
      url: '/psp/alfred/balances',
      headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
    });
    expectUnauthorized(res);
  });

  it('when the token is valid, then the trader is the JWT sub and the rpc carries the trace id', async () => {
    const res = await gw.inject({ url: '/psp/alfred/eligibility', token: tokenFor('alice'), headers: { 'x-trace-id': 'trace-auth-1' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true, data: { eligible: true, country: 'BR', rails: ['PIX'] }, trace_id: 'trace-auth-1' });
    expect(gw.fake.received).toEqual([{ subject: pspAlfredRpc.eligibility.subject, req: { traderId: 'alice' }, traceId: 'trace-auth-1' }]);
  });

  it("when a token that was accepted expires, then the same header is refused with the verifier's message (the memory of verified tokens ends at exp)", async () => {
    const token = tokenFor('bob', { exp: now() + 2 });
    expect((await gw.inject({ url: '/psp/alfred/eligibility', token })).statusCode).toBe(200);
    expect((await gw.inject({ url: '/psp/alfred/eligibility', token })).statusCode).toBe(200);
    const refused = await eventually('the token to expire', async () => {
      const res = await gw.inject({ url: '/psp/alfred/eligibility', token });
      return res.statusCode === 401 ? res : undefined;
    });
    expectUnauthorized(refused);
    // The same refusal as a token already expired when first seen.
    const never = await gw.inject({ url: '/psp/alfred/eligibility', token: tokenFor('bob', { exp: now() - 5 }) });
    expect(refused.json().error).toEqual(never.json().error);
  });

  it('when one token was accepted, then a token of another sub, or the same claims signed with another secret, is judged on its own', async () => {
    const accepted = claims('carol');
    expect((await gw.inject({ url: '/psp/alfred/eligibility', token: signJwt(accepted) })).statusCode).toBe(200);
    expectUnauthorized(
      await gw.inject({ url: '/psp/alfred/eligibility', token: signJwt(accepted, { alg: 'HS256', secret: `${jwtSecret}-x` }) }),
    );
    expect((await gw.inject({ url: '/psp/alfred/eligibility', token: tokenFor('dave') })).statusCode).toBe(200);
    expect(gw.fake.received.map((r) => r.req)).toEqual([{ traderId: 'carol' }, { traderId: 'dave' }]);
  });

  it('when an operator token (role admin) calls a widget route, then it acts as the trader named by its sub', async () => {
    const res = await gw.inject({ url: '/psp/alfred/eligibility', token: tokenFor('op-7', { role: 'admin' }) });
    expect(res.statusCode).toBe(200);
    expect(gw.fake.received.map((r) => r.req)).toEqual([{ traderId: 'op-7' }]);
  });
});

describe('gateway auth with RS256', () => {
  let gw: TestGateway;
  const rsa = rsaKeys();
  beforeAll(async () => {
    // JWT_SECRET stays set as well: a configured public key must still pin the verifier to RS256.
    gw = await startTestGateway({ env: { JWT_PUBLIC_KEY: rsa.publicPem.replaceAll('\n', '\\n') } });
  });
  afterAll(async () => gw?.cleanup());
  beforeEach(() => gw.fake.reset());

  it('when the token is RS256 signed by the issuer key, then the route answers for its sub', async () => {
    const res = await gw.inject({
      url: '/psp/alfred/eligibility',
      token: signJwt(claims('rita'), { alg: 'RS256', privateKey: rsa.privateKey }),
    });
    expect(res.statusCode).toBe(200);
    expect(gw.fake.received.map((r) => r.req)).toEqual([{ traderId: 'rita' }]);
  });

  it('when the token is HS256 (with the old secret or the public key as HMAC secret), then 401 and no service is called', async () => {
    for (const secret of [jwtSecret, rsa.publicPem]) {
      const res = await gw.inject({ url: '/psp/alfred/eligibility', token: signJwt(claims('rita'), { alg: 'HS256', secret }) });
      expectUnauthorized(res);
    }
    expectUnauthorized(await gw.inject({ url: '/psp/alfred/eligibility', token: signJwt(claims('rita'), { alg: 'none' }) }));
    expect(gw.fake.received).toEqual([]);
  });

  it('when RS256 is configured, then the dev token route is absent because the gateway cannot sign', async () => {
    const res = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/__dev/token',
      body: { sub: 'x' },
      headers: { 'x-dev-secret': 'dev-secret-0123456789' },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
  });
});
