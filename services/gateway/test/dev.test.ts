import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ledgerRpc, pspAlfredRpc, refuse, sessionsRpc } from '@offramp/contracts';
import { callRpc, newId } from '@offramp/kit';
import { sessionId, withdrawalId } from './fake-services.ts';
import { audience, devSecret, issuer, startTestGateway, startTestLedger, tokenFor, type TestGateway } from './harness.ts';

const dev = { 'x-dev-secret': devSecret };

describe('gateway QA routes, enabled, against a real ledger', () => {
  let gw: TestGateway;
  let ledger: Awaited<ReturnType<typeof startTestLedger>>;
  beforeAll(async () => {
    ledger = await startTestLedger();
    gw = await startTestGateway({ messaging: ledger.messaging });
  });
  afterAll(async () => {
    await gw?.cleanup();
    await ledger?.cleanup();
  });
  beforeEach(() => gw.fake.reset());

  const balancesOf = (trader: string) => callRpc(gw.messaging, ledgerRpc.getBalances, { owner: trader, currency: 'USDT' });

  it('when a trader funds twice and reads the balances, then the ledger holds the sum and /balances shows it as USDT decimals', async () => {
    const trader = `qa-${newId()}`;
    const token = tokenFor(trader);
    const first = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/__dev/fund',
      token,
      headers: dev,
      body: { amount: 100.5, currency: 'USDT' },
    });
    expect(first.statusCode).toBe(200);
    expect(first.json().data).toMatchObject({ amount: '100.500000', currency: 'USDT', available: '100.500000', held: '0.000000' });
    const second = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/__dev/fund',
      token,
      headers: dev,
      body: { amount: '0.000001', currency: 'USDT' },
    });
    expect(second.json().data.available).toBe('100.500001');
    expect(second.json().data.transfer_id).not.toBe(first.json().data.transfer_id);

    const res = await gw.inject({ url: '/psp/alfred/balances', token });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual([{ currency: 'USDT', available: '100.500001', held: '0.000000' }]);
    const [balance] = (await balancesOf(`trader:${trader}`)).balances;
    expect(balance).toMatchObject({ postedMinor: 100_500_001n, availableMinor: 100_500_001n });
    const transfer = await callRpc(gw.messaging, ledgerRpc.getTransfer, { id: first.json().data.transfer_id });
    expect(transfer.transfer).toMatchObject({
      kind: 'transfer',
      debit: { owner: 'external:deposits' },
      credit: { owner: `trader:${trader}` },
      amountMinor: 100_500_000n,
    });
  });

  it('when part of the balance is held by a pending withdrawal, then /balances shows it as held and not available', async () => {
    const trader = `qa-${newId()}`;
    const token = tokenFor(trader);
    await gw.inject({ method: 'POST', url: '/psp/alfred/__dev/fund', token, headers: dev, body: { amount: '50', currency: 'USDT' } });
    await callRpc(gw.messaging, ledgerRpc.openAccount, { owner: 'psp:alfred:clearing', currency: 'USDT', allowNegative: true });
    const hold = await callRpc(gw.messaging, ledgerRpc.placeHold, {
      id: newId(),
      debit: { owner: `trader:${trader}`, currency: 'USDT' },
      credit: { owner: 'psp:alfred:clearing', currency: 'USDT' },
      amountMinor: 20_250_000n,
      metadata: {},
    });
    expect(hold.outcome).toBe('ok');
    const res = await gw.inject({ url: '/psp/alfred/balances', token });
    expect(res.json().data).toEqual([{ currency: 'USDT', available: '29.750000', held: '20.250000' }]);
  });

  it('when a new trader reads the balances, then USDT is listed at zero', async () => {
    const res = await gw.inject({ url: '/psp/alfred/balances', token: tokenFor(`qa-${newId()}`) });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual([{ currency: 'USDT', available: '0.000000', held: '0.000000' }]);
  });

  it('when a dev token is asked with the dev secret only, then it is an HS256 JWT of the configured issuer and audience for one hour that the gateway accepts', async () => {
    const res = await gw.inject({ method: 'POST', url: '/psp/alfred/__dev/token', headers: dev, body: { sub: 'play-1', role: 'admin' } });
    expect(res.statusCode).toBe(200);
    const { token, token_type: tokenType, expires_in: expiresIn } = res.json().data;
    expect(tokenType).toBe('Bearer');
    expect(expiresIn).toBeGreaterThan(3590);
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    expect(header.alg).toBe('HS256');
    expect(payload).toMatchObject({ sub: 'play-1', role: 'admin', iss: issuer, aud: audience });
    expect(payload.exp - payload.iat).toBe(3600);
    const used = await gw.inject({ url: '/psp/alfred/eligibility', token });
    expect(used.statusCode).toBe(200);
    expect(gw.fake.received.map((r) => r.req)).toEqual([{ traderId: 'play-1' }]);
  });

  it('when the secret is right but there is no JWT, then 401 and nothing is called', async () => {
    const res = await gw.inject({ method: 'POST', url: '/psp/alfred/__dev/approve-kyc', headers: dev });
    expect(res.statusCode).toBe(401);
    expect(gw.fake.received).toEqual([]);
  });

  it('when the secret is missing or wrong, then every QA route answers 404 exactly like an absent route', async () => {
    const absent = (await gw.inject({ method: 'POST', url: '/psp/alfred/__dev/approve-kyc-nope', token: tokenFor('alice') })).json().error;
    for (const headers of [
      {} as Record<string, string>,
      { 'x-dev-secret': 'wrong' },
      { 'x-dev-secret': `${devSecret}x` },
      { 'x-dev-secret': devSecret.slice(0, -1) },
    ]) {
      for (const path of ['approve-kyc', 'token', 'fund']) {
        const res = await gw.inject({ method: 'POST', url: `/psp/alfred/__dev/${path}`, token: tokenFor('alice'), headers, body: {} });
        expect(res.statusCode).toBe(404);
        expect(res.json().error).toEqual({ ...absent, message: absent.message.replace('approve-kyc-nope', path) });
      }
    }
    expect(gw.fake.received).toEqual([]);
  });

  it('when seed-kyc-and-provision is called, then seed-kyc then provision run in that order for the JWT trader', async () => {
    const res = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/__dev/seed-kyc-and-provision?country=BR',
      token: tokenFor('alice'),
      headers: dev,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({ kyc: { kyc: 'approved', country: 'BR' }, customer: { customerId: 'cus_1', kycStatus: 'IN_REVIEW' } });
    expect(gw.fake.received.map((r) => [r.subject, r.req])).toEqual([
      [pspAlfredRpc.devSeedKyc.subject, { traderId: 'alice', country: 'BR' }],
      [pspAlfredRpc.devProvisionCustomer.subject, { traderId: 'alice' }],
    ]);
  });

  it('when seed-kyc is refused, then provisioning is not attempted', async () => {
    gw.fake.answer(pspAlfredRpc.devSeedKyc, () =>
      refuse('ALFRED_NOT_AVAILABLE_FOR_COUNTRY', 'Withdrawals are not available for this country'),
    );
    const res = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/__dev/seed-kyc-and-provision?country=DE',
      token: tokenFor('alice'),
      headers: dev,
    });
    expect(res.statusCode).toBe(403);
    expect(gw.fake.subjects()).toEqual([pspAlfredRpc.devSeedKyc.subject]);
  });

  it('when the single KYC actions are called, then each reaches its rpc for the JWT trader', async () => {
    const token = tokenFor('alice');
    expect((await gw.inject({ method: 'POST', url: '/psp/alfred/__dev/seed-kyc?country=MX', token, headers: dev })).statusCode).toBe(200);
    expect((await gw.inject({ method: 'POST', url: '/psp/alfred/__dev/provision-customer', token, headers: dev })).statusCode).toBe(200);
    expect((await gw.inject({ method: 'POST', url: '/psp/alfred/__dev/approve-kyc', token, headers: dev })).statusCode).toBe(200);
    const emitted = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/__dev/emit-kyc-status',
      token,
      headers: dev,
      body: { status: 'UPDATE_REQUIRED' },
    });
    expect(emitted.json().data).toEqual({ emitted: 'UPDATE_REQUIRED' });
    expect(gw.fake.received.map((r) => [r.subject, r.req])).toEqual([
      [pspAlfredRpc.devSeedKyc.subject, { traderId: 'alice', country: 'MX' }],
      [pspAlfredRpc.devProvisionCustomer.subject, { traderId: 'alice' }],
      [pspAlfredRpc.devApproveKyc.subject, { traderId: 'alice' }],
      [pspAlfredRpc.devEmitKycStatus.subject, { traderId: 'alice', status: 'UPDATE_REQUIRED' }],
    ]);
  });

  it("when emit-offramp names the trader's session, then its withdrawal is walked with the scenario", async () => {
    const res = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/__dev/emit-offramp',
      token: tokenFor('alice'),
      headers: dev,
      body: { session_id: sessionId, scenario: 'failure' },
    });
    expect(res.statusCode).toBe(200);
    expect(gw.fake.received.map((r) => [r.subject, r.req])).toEqual([
      [sessionsRpc.checkSessionOwner.subject, { traderId: 'alice', sessionId }],
      [pspAlfredRpc.devEmitOfframp.subject, { traderId: 'alice', withdrawalId, scenario: 'failure' }],
    ]);
  });

  it("when emit-offramp names another trader's session or one without a withdrawal, then it is refused and nothing is emitted", async () => {
    gw.fake.answer(sessionsRpc.checkSessionOwner, () => refuse('ALFRED_SESSION_NOT_OWNED', 'Session belongs to another user'));
    const stolen = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/__dev/emit-offramp',
      token: tokenFor('bob'),
      headers: dev,
      body: { session_id: sessionId, scenario: 'success' },
    });
    expect(stolen.statusCode).toBe(403);
    gw.fake.answer(sessionsRpc.checkSessionOwner, (r) => ({ ok: true as const, data: { sessionId: r.sessionId, withdrawalId: null } }));
    const early = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/__dev/emit-offramp',
      token: tokenFor('alice'),
      headers: dev,
      body: { session_id: sessionId, scenario: 'success' },
    });
    expect(early.statusCode).toBe(404);
    expect(early.json().error.code).toBe('WITHDRAWAL_NOT_FOUND');
    expect(gw.fake.subjects()).toEqual([sessionsRpc.checkSessionOwner.subject, sessionsRpc.checkSessionOwner.subject]);
  });
});

describe('gateway QA routes, disabled', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { DEV_ENDPOINTS: 'false' } });
  });
  afterAll(async () => gw?.cleanup());

  it('when DEV_ENDPOINTS is off, then the QA routes are 404 even with the secret and a JWT, and nothing is called', async () => {
    for (const path of ['seed-kyc?country=BR', 'approve-kyc', 'token', 'fund']) {
      const res = await gw.inject({
        method: 'POST',
        url: `/psp/alfred/__dev/${path}`,
        token: tokenFor('alice'),
        headers: dev,
        body: { sub: 'x', amount: '1', currency: 'USDT' },
      });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('NOT_FOUND');
    }
    expect(gw.fake.received).toEqual([]);
  });
});
