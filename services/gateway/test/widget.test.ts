import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pspAlfredRpc, refuse, sessionsRpc } from '@offramp/contracts';
import { cannedWithdrawal, sessionId, withdrawalId } from './fake-services.ts';
import { startTestGateway, tokenFor, type TestGateway } from './harness.ts';

const alice = tokenFor('alice');

describe('gateway widget routes', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => gw?.cleanup());
  beforeEach(() => gw.fake.reset());

  it('when supported options are asked, then the routes come back in snake_case', async () => {
    const res = await gw.inject({ url: '/psp/alfred/supported-options', token: alice });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual([{ payment_route_id: 'BR_PIX', rail: 'PIX', currency: 'BRL', min: '10.00', max: '50000.00' }]);
    expect(gw.fake.received.map((r) => r.req)).toEqual([{ traderId: 'alice' }]);
  });

  it('when a quote preview is asked with a JSON number, then the service gets the exact decimal string and the answer has USDT with 6 decimals', async () => {
    const res = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/quote-preview',
      token: alice,
      body: { type: 'withdrawal', amount: 50.1, source_currency_id: 'BRL' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({
      quote_id: 'q_1',
      fiat_amount: '50.1',
      fiat_currency: 'BRL',
      crypto_amount: '9.523810',
      crypto_currency: 'USDT',
      rate: '5.25',
      fees: [{ type: 'network', amount: '0.10', currency: 'USDT' }],
      expires_at: '2030-01-01T00:10:00.000Z',
    });
    expect(gw.fake.received.map((r) => r.req)).toEqual([{ traderId: 'alice', fiatCurrency: 'BRL', fiatAmount: '50.1' }]);
  });

  it('when the fiat accounts are listed, then they are masked and in snake_case', async () => {
    const res = await gw.inject({ url: '/psp/alfred/fiat-accounts', token: alice });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual([
      {
        fiat_account_id: 'fa_1',
        type: 'PIX',
        masked_number: '***6789',
        account_holder_name: 'Ana Souza',
        bank_name: null,
        created_at: '2030-01-01T00:00:00.000Z',
        status: 'active',
      },
    ]);
  });

  it('when the requirements of PIX are asked, then the rail JSON Schema comes back', async () => {
    const res = await gw.inject({ url: '/psp/alfred/fiat-accounts/requirements?type=PIX', token: alice });
    expect(res.statusCode).toBe(200);
    expect(res.json().data.required).toEqual(['pixKey', 'documentNumber', 'accountName']);
    expect(gw.fake.received.map((r) => r.req)).toEqual([{ type: 'PIX' }]);
  });

  it('when a fiat account is added with the own session, then ownership is checked first and 201 carries the id', async () => {
    const fields = { pixKey: 'ana@example.com', documentNumber: '12345678909', accountName: 'Ana Souza' };
    const res = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/fiat-accounts',
      token: alice,
      body: { type: 'PIX', session_id: sessionId, fiatAccountFields: fields },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().data).toEqual({ fiatAccountId: 'fa_new', fiat_account_id: 'fa_new' });
    expect(gw.fake.received.map((r) => [r.subject, r.req])).toEqual([
      [sessionsRpc.checkSessionOwner.subject, { traderId: 'alice', sessionId }],
      [pspAlfredRpc.createFiatAccount.subject, { traderId: 'alice', type: 'PIX', fields }],
    ]);
  });

  it("when a fiat account is added with another trader's session, then 403 ALFRED_SESSION_NOT_OWNED and no account is created", async () => {
    gw.fake.answer(sessionsRpc.checkSessionOwner, () => refuse('ALFRED_SESSION_NOT_OWNED', 'Session belongs to another user'));
    const res = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/fiat-accounts',
      token: tokenFor('mallory'),
      body: { type: 'PIX', session_id: sessionId, fiatAccountFields: { pixKey: 'x' } },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({
      success: false,
      error: { code: 'ALFRED_SESSION_NOT_OWNED', message: 'Session belongs to another user' },
    });
    expect(gw.fake.subjects()).toEqual([sessionsRpc.checkSessionOwner.subject]);
    expect(gw.fake.received[0]!.req).toEqual({ traderId: 'mallory', sessionId });
  });

  for (const [status, partnerCode] of [
    [409, 111485],
    [422, 110003],
  ] as const) {
    it(`when Alfred refuses BANK_USA with ${status}/${partnerCode}, then the gateway keeps the status and the partner code`, async () => {
      gw.fake.answer(pspAlfredRpc.createFiatAccount, () =>
        refuse('ALFRED_BANK_USA_UNAVAILABLE', 'BANK_USA unavailable, contact support', { status, details: { partnerCode } }),
      );
      const fields = { accountNumber: '123456789', routingNumber: '021000021', accountType: 'CHECKING', bankName: 'Chase' };
      const res = await gw.inject({
        method: 'POST',
        url: '/psp/alfred/fiat-accounts',
        token: alice,
        body: { type: 'BANK_USA', fiatAccountFields: fields },
      });
      expect(res.statusCode).toBe(status);
      expect(res.json().error).toEqual({
        code: 'ALFRED_BANK_USA_UNAVAILABLE',
        message: 'BANK_USA unavailable, contact support',
        details: { partnerCode },
      });
      expect(gw.fake.subjects()).toEqual([pspAlfredRpc.createFiatAccount.subject]);
    });
  }

  it('when a fiat account is deleted, then 204 with no body', async () => {
    const res = await gw.inject({ method: 'DELETE', url: '/psp/alfred/fiat-accounts/fa_1', token: alice });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(gw.fake.received.map((r) => r.req)).toEqual([{ traderId: 'alice', fiatAccountId: 'fa_1' }]);
  });

  it("when another trader's fiat account is deleted, then 404 FIAT_ACCOUNT_NOT_FOUND", async () => {
    gw.fake.answer(pspAlfredRpc.deleteFiatAccount, () => refuse('FIAT_ACCOUNT_NOT_FOUND', 'Fiat account not found'));
    const res = await gw.inject({ method: 'DELETE', url: '/psp/alfred/fiat-accounts/fa_9', token: alice });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('FIAT_ACCOUNT_NOT_FOUND');
  });

  it('when a session is opened, then the sessions service gets camelCase fields and the answer is 201 snake_case', async () => {
    const data = {
      type: 'withdrawal',
      amount: 100,
      source_currency_id: 'BRL',
      payment_route_id: 'BR_PIX',
      wallet_id: 'MAIN',
      fiat_account_id: 'fa_1',
    };
    const res = await gw.inject({ method: 'POST', url: '/psp/alfred/session', token: alice, body: { data } });
    expect(res.statusCode).toBe(201);
    expect(res.json().data).toMatchObject({
      session_id: sessionId,
      expires_at: '2030-01-02T00:00:00.000Z',
      quote: {
        fiat_amount: '50.00',
        crypto_amount: '9.523810',
        rate: '5.25',
        fees: [{ type: 'network', amount: '0.10', currency: 'USDT' }],
      },
    });
    expect(gw.fake.received.map((r) => r.req)).toEqual([
      { traderId: 'alice', amount: '100', sourceCurrency: 'BRL', paymentRouteId: 'BR_PIX', walletId: 'MAIN', fiatAccountId: 'fa_1' },
    ]);
  });

  it('when a session is refused because withdrawals are frozen, then 423 ALFRED_WITHDRAWALS_FROZEN', async () => {
    gw.fake.answer(sessionsRpc.createSession, () => refuse('ALFRED_WITHDRAWALS_FROZEN', 'Withdrawals are frozen'));
    const data = {
      type: 'withdrawal',
      amount: '50.00',
      source_currency_id: 'BRL',
      payment_route_id: 'BR_PIX',
      wallet_id: 'MAIN',
      fiat_account_id: 'fa_1',
    };
    const res = await gw.inject({ method: 'POST', url: '/psp/alfred/session', token: alice, body: { data } });
    expect(res.statusCode).toBe(423);
    expect(res.json().error.code).toBe('ALFRED_WITHDRAWALS_FROZEN');
  });

  it('when a withdrawal is initiated, then ownership is checked, then initiate, and the debit is a USDT decimal', async () => {
    const res = await gw.inject({ method: 'POST', url: '/psp/alfred/initiate-withdrawal', token: alice, body: { session_id: sessionId } });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({ withdrawal_id: withdrawalId, status: 'pending', debited: { amount: '9.523810', currency: 'USDT' } });
    expect(gw.fake.received.map((r) => [r.subject, r.req])).toEqual([
      [sessionsRpc.checkSessionOwner.subject, { traderId: 'alice', sessionId }],
      [sessionsRpc.initiateWithdrawal.subject, { traderId: 'alice', sessionId }],
    ]);
  });

  it("when another trader's session is initiated (scenario D), then 403 ALFRED_SESSION_NOT_OWNED and initiate is never called", async () => {
    gw.fake.answer(sessionsRpc.checkSessionOwner, () => refuse('ALFRED_SESSION_NOT_OWNED', 'Session belongs to another user'));
    const res = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/initiate-withdrawal',
      token: tokenFor('bob'),
      body: { session_id: sessionId },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('ALFRED_SESSION_NOT_OWNED');
    expect(gw.fake.subjects()).toEqual([sessionsRpc.checkSessionOwner.subject]);
  });

  it('when initiate finds too little money, then 409 INSUFFICIENT_FUNDS', async () => {
    gw.fake.answer(sessionsRpc.initiateWithdrawal, () => refuse('INSUFFICIENT_FUNDS', 'Insufficient funds'));
    const res = await gw.inject({ method: 'POST', url: '/psp/alfred/initiate-withdrawal', token: alice, body: { session_id: sessionId } });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('INSUFFICIENT_FUNDS');
  });

  it('when withdrawals are listed with page and limit, then the page comes back with timelines in snake_case', async () => {
    const res = await gw.inject({ url: '/psp/alfred/withdrawals?page=2&limit=100', token: alice });
    expect(res.statusCode).toBe(200);
    const data = res.json().data;
    expect(data).toMatchObject({ total: 41, page: 2, limit: 100 });
    expect(data.withdrawals[0]).toMatchObject({
      withdrawal_id: withdrawalId,
      status: 'processing',
      crypto_amount: '9.523810',
      fiat_amount: '50.00',
      psp_transaction_id: 'tx_1',
    });
    expect(data.withdrawals[0].timeline[1]).toEqual({
      kind: 'transition',
      from: 'pending',
      to: 'approved',
      actor: 'risk',
      reason: 'auto-approve',
      refused_code: null,
      at: '2030-01-01T00:00:30.000Z',
    });
    expect(gw.fake.received.map((r) => r.req)).toEqual([{ traderId: 'alice', page: 2, limit: 100 }]);
  });

  it('when withdrawals are listed without a query, then page 1 of 20', async () => {
    const res = await gw.inject({ url: '/psp/alfred/withdrawals', token: alice });
    expect(res.statusCode).toBe(200);
    expect(gw.fake.received.map((r) => r.req)).toEqual([{ traderId: 'alice', page: 1, limit: 20 }]);
  });

  it('when one withdrawal is asked, then it comes back with its timeline', async () => {
    const res = await gw.inject({ url: `/psp/alfred/withdrawals/${withdrawalId}`, token: alice });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({
      withdrawal_id: withdrawalId,
      timeline: [{ to: 'pending' }, { to: 'approved' }, { to: 'processing' }],
    });
    expect(gw.fake.received.map((r) => r.req)).toEqual([{ traderId: 'alice', withdrawalId }]);
  });

  it("when another trader's withdrawal is asked, then 404 WITHDRAWAL_NOT_FOUND, also if the service would show it", async () => {
    gw.fake.answer(sessionsRpc.getWithdrawal, () => refuse('WITHDRAWAL_NOT_FOUND', 'Withdrawal not found'));
    const refused = await gw.inject({ url: `/psp/alfred/withdrawals/${withdrawalId}`, token: alice });
    expect(refused.statusCode).toBe(404);
    expect(refused.json().error.code).toBe('WITHDRAWAL_NOT_FOUND');
    gw.fake.answer(sessionsRpc.getWithdrawal, (r) => ({ ok: true as const, data: cannedWithdrawal('someone-else', r.withdrawalId) }));
    const leaked = await gw.inject({ url: `/psp/alfred/withdrawals/${withdrawalId}`, token: alice });
    expect(leaked.statusCode).toBe(404);
    expect(leaked.json().error.code).toBe('WITHDRAWAL_NOT_FOUND');
  });

  it('when eligibility is refused, then the code and status of the service come through', async () => {
    gw.fake.answer(pspAlfredRpc.eligibility, () => refuse('ALFRED_KYC_PENDING', 'KYC review at the PSP is pending'));
    const res = await gw.inject({ url: '/psp/alfred/eligibility', token: alice });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toEqual({ code: 'ALFRED_KYC_PENDING', message: 'KYC review at the PSP is pending' });
  });
});
