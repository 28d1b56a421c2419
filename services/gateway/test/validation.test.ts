import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sessionId } from './fake-services.ts';
import { devSecret, startTestGateway, tokenFor, type TestGateway } from './harness.ts';

type Case = { method: 'GET' | 'POST' | 'DELETE'; url: string; body?: unknown; fields: string[] };

const session = {
  type: 'withdrawal',
  amount: '50.00',
  source_currency_id: 'BRL',
  payment_route_id: 'BR_PIX',
  wallet_id: 'MAIN',
  fiat_account_id: 'fa_1',
};
const quote = { type: 'withdrawal', amount: '50.00', source_currency_id: 'BRL' };
const manyFields = Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`f${i}`, 'x']));

/** Every widget route with inputs it must refuse, and the fields the 400 must name. */
const widgetCases: [string, Case][] = [
  ['quote-preview without a body', { method: 'POST', url: '/psp/alfred/quote-preview', fields: ['(body)'] }],
  [
    'quote-preview with nothing in it',
    { method: 'POST', url: '/psp/alfred/quote-preview', body: {}, fields: ['type', 'amount', 'source_currency_id'] },
  ],
  [
    'quote-preview with a negative amount',
    { method: 'POST', url: '/psp/alfred/quote-preview', body: { ...quote, amount: -5 }, fields: ['amount'] },
  ],
  [
    'quote-preview with a zero amount',
    { method: 'POST', url: '/psp/alfred/quote-preview', body: { ...quote, amount: '0.00' }, fields: ['amount'] },
  ],
  [
    'quote-preview with 3 decimals of BRL',
    { method: 'POST', url: '/psp/alfred/quote-preview', body: { ...quote, amount: '50.123' }, fields: ['amount'] },
  ],
  [
    'quote-preview with decimals of CLP',
    { method: 'POST', url: '/psp/alfred/quote-preview', body: { ...quote, source_currency_id: 'CLP', amount: 5000.5 }, fields: ['amount'] },
  ],
  [
    'quote-preview with float noise',
    { method: 'POST', url: '/psp/alfred/quote-preview', body: { ...quote, amount: 0.1 + 0.2 }, fields: ['amount'] },
  ],
  [
    'quote-preview with an exponent number',
    { method: 'POST', url: '/psp/alfred/quote-preview', body: { ...quote, amount: 1e21 }, fields: ['amount'] },
  ],
  [
    'quote-preview with a huge string',
    { method: 'POST', url: '/psp/alfred/quote-preview', body: { ...quote, amount: '9'.repeat(5000) }, fields: ['amount'] },
  ],
  [
    'quote-preview with a boolean amount',
    { method: 'POST', url: '/psp/alfred/quote-preview', body: { ...quote, amount: true }, fields: ['amount'] },
  ],
  [
    'quote-preview with an unknown currency and type',
    {
      method: 'POST',
      url: '/psp/alfred/quote-preview',
      body: { ...quote, type: 'deposit', source_currency_id: 'XXX' },
      fields: ['type', 'source_currency_id'],
    },
  ],
  [
    'quote-preview naming a trader in the body',
    { method: 'POST', url: '/psp/alfred/quote-preview', body: { ...quote, traderId: 'victim' }, fields: ['traderId'] },
  ],
  ['requirements without a type', { method: 'GET', url: '/psp/alfred/fiat-accounts/requirements', fields: ['type'] }],
  ['requirements of an unknown rail', { method: 'GET', url: '/psp/alfred/fiat-accounts/requirements?type=SWIFT', fields: ['type'] }],
  [
    'a fiat account of an unknown rail',
    { method: 'POST', url: '/psp/alfred/fiat-accounts', body: { type: 'SWIFT', fiatAccountFields: {} }, fields: ['type'] },
  ],
  [
    'a fiat account without fields',
    { method: 'POST', url: '/psp/alfred/fiat-accounts', body: { type: 'PIX' }, fields: ['fiatAccountFields'] },
  ],
  [
    'a fiat account with a bad session id',
    {
      method: 'POST',
      url: '/psp/alfred/fiat-accounts',
      body: { type: 'PIX', session_id: 'abc', fiatAccountFields: {} },
      fields: ['session_id'],
    },
  ],
  [
    'a fiat account with a huge field',
    {
      method: 'POST',
      url: '/psp/alfred/fiat-accounts',
      body: { type: 'PIX', fiatAccountFields: { pixKey: 'k'.repeat(300) } },
      fields: ['fiatAccountFields.pixKey'],
    },
  ],
  [
    'a fiat account with fields nested too deep',
    {
      method: 'POST',
      url: '/psp/alfred/fiat-accounts',
      body: { type: 'ACH', fiatAccountFields: { metadata: { a: { b: 'c' } } } },
      fields: ['fiatAccountFields.metadata'],
    },
  ],
  [
    'a fiat account with too many fields',
    {
      method: 'POST',
      url: '/psp/alfred/fiat-accounts',
      body: { type: 'PIX', fiatAccountFields: manyFields },
      fields: ['fiatAccountFields'],
    },
  ],
  [
    'a fiat account with a user id',
    {
      method: 'POST',
      url: '/psp/alfred/fiat-accounts',
      body: { type: 'PIX', user_id: 'victim', fiatAccountFields: {} },
      fields: ['user_id'],
    },
  ],
  ['deleting a fiat account with a bad id', { method: 'DELETE', url: '/psp/alfred/fiat-accounts/bad%20id%3B', fields: ['id'] }],
  [
    'a session without data',
    {
      method: 'POST',
      url: '/psp/alfred/session',
      body: { ...session },
      fields: ['data', 'type', 'amount', 'source_currency_id', 'payment_route_id', 'wallet_id', 'fiat_account_id'],
    },
  ],
  [
    'a session with missing fields',
    {
      method: 'POST',
      url: '/psp/alfred/session',
      body: { data: { type: 'withdrawal' } },
      fields: ['data.amount', 'data.source_currency_id', 'data.payment_route_id', 'data.wallet_id', 'data.fiat_account_id'],
    },
  ],
  [
    'a session on an unknown route',
    {
      method: 'POST',
      url: '/psp/alfred/session',
      body: { data: { ...session, payment_route_id: 'BR_TED' } },
      fields: ['data.payment_route_id'],
    },
  ],
  [
    'a session whose currency is not the route currency',
    {
      method: 'POST',
      url: '/psp/alfred/session',
      body: { data: { ...session, source_currency_id: 'MXN' } },
      fields: ['data.source_currency_id'],
    },
  ],
  [
    'a session with an over-precise amount and a bad wallet',
    {
      method: 'POST',
      url: '/psp/alfred/session',
      body: { data: { ...session, amount: 10.001, wallet_id: 'main wallet' } },
      fields: ['data.amount', 'data.wallet_id'],
    },
  ],
  [
    'a session with wrong types',
    {
      method: 'POST',
      url: '/psp/alfred/session',
      body: { data: { ...session, amount: [1], fiat_account_id: 7 } },
      fields: ['data.amount', 'data.fiat_account_id'],
    },
  ],
  ['initiate without a session id', { method: 'POST', url: '/psp/alfred/initiate-withdrawal', body: {}, fields: ['session_id'] }],
  [
    'initiate with a bad session id and a trader id',
    {
      method: 'POST',
      url: '/psp/alfred/initiate-withdrawal',
      body: { session_id: 'nope', traderId: 'victim' },
      fields: ['session_id', 'traderId'],
    },
  ],
  ['withdrawals over the limit', { method: 'GET', url: '/psp/alfred/withdrawals?limit=101', fields: ['limit'] }],
  ['withdrawals with bad page and limit', { method: 'GET', url: '/psp/alfred/withdrawals?page=0&limit=1e2', fields: ['page', 'limit'] }],
  ['one withdrawal by a bad id', { method: 'GET', url: '/psp/alfred/withdrawals/not-a-uuid', fields: ['id'] }],
];

const devCases: [string, Case][] = [
  ['seed-kyc without a country', { method: 'POST', url: '/psp/alfred/__dev/seed-kyc', fields: ['country'] }],
  [
    'seed-kyc-and-provision with a bad country',
    { method: 'POST', url: '/psp/alfred/__dev/seed-kyc-and-provision?country=brazil', fields: ['country'] },
  ],
  [
    'emit-kyc-status with an unknown status',
    { method: 'POST', url: '/psp/alfred/__dev/emit-kyc-status', body: { status: 'DONE' }, fields: ['status'] },
  ],
  [
    'fund with a negative amount and another currency',
    { method: 'POST', url: '/psp/alfred/__dev/fund', body: { amount: -1, currency: 'BTC' }, fields: ['amount', 'currency'] },
  ],
  [
    'fund with 7 decimals of USDT',
    { method: 'POST', url: '/psp/alfred/__dev/fund', body: { amount: '1.0000001', currency: 'USDT' }, fields: ['amount'] },
  ],
  [
    'emit-offramp with an unknown scenario',
    { method: 'POST', url: '/psp/alfred/__dev/emit-offramp', body: { session_id: sessionId, scenario: 'maybe' }, fields: ['scenario'] },
  ],
  ['token without a sub', { method: 'POST', url: '/psp/alfred/__dev/token', body: { role: 'root' }, fields: ['sub', 'role'] }],
];

describe('gateway input validation', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => gw?.cleanup());
  beforeEach(() => gw.fake.reset());

  for (const [when, c] of [...widgetCases, ...devCases]) {
    it(`when ${when}, then 400 VALIDATION_ERROR names ${c.fields.join(', ')} and no service is called`, async () => {
      const headers: Record<string, string> = c.url.includes('/__dev/') ? { 'x-dev-secret': devSecret } : {};
      const res = await gw.inject({ method: c.method, url: c.url, body: c.body, token: tokenFor('alice'), headers });
      expect(res.statusCode).toBe(400);
      const body = res.json();
      expect(body.success).toBe(false);
      expect(body.error.code).toBe('VALIDATION_ERROR');
      const named = body.error.details.fields.map((f: { field: string }) => f.field);
      expect([...new Set(named)].sort()).toEqual([...c.fields].sort());
      for (const f of body.error.details.fields) expect(f.message.length).toBeGreaterThan(0);
      expect(gw.fake.received).toEqual([]);
    });
  }

  it('when the body is not JSON, then 400 VALIDATION_ERROR in the envelope and no service is called', async () => {
    const res = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/initiate-withdrawal',
      token: tokenFor('alice'),
      body: '{"session_id":',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR' } });
    expect(gw.fake.received).toEqual([]);
  });

  it('when the body is over the limit, then 413 in the envelope and no service is called', async () => {
    const body = { type: 'PIX', fiatAccountFields: { note: 'x'.repeat(20 * 1024) } };
    const res = await gw.inject({ method: 'POST', url: '/psp/alfred/fiat-accounts', token: tokenFor('alice'), body });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ success: false, error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(gw.fake.received).toEqual([]);
  });

  it('when the body is neither JSON nor plain text, then 415 UNSUPPORTED_MEDIA_TYPE as documented and no service is called', async () => {
    const res = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/initiate-withdrawal',
      token: tokenFor('alice'),
      body: '<session_id/>',
      headers: { 'content-type': 'application/xml' },
    });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ success: false, error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    expect(gw.fake.received).toEqual([]);
  });

  it('when a path parameter is over 100 characters, then 414 URI_TOO_LONG as documented and no service is called', async () => {
    const res = await gw.inject({ url: `/psp/alfred/withdrawals/${'a'.repeat(101)}`, token: tokenFor('alice') });
    expect(res.statusCode).toBe(414);
    expect(res.json()).toMatchObject({ success: false, error: { code: 'URI_TOO_LONG' } });
    expect(gw.fake.received).toEqual([]);
  });
});
