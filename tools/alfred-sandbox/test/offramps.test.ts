import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, verifiedCustomer, withCheckDigits } from './harness.ts';

let nowMs = Date.parse('2026-05-01T12:00:00.000Z');
const sandbox = startSandbox({ now: () => new Date(nowMs) });
afterAll(() => sandbox.close());

let customerId: string;
let fiatAccountId: string;
beforeAll(async () => {
  customerId = await verifiedCustomer(sandbox);
  const account = await sandbox.call('POST', '/fiatAccounts', {
    customerId,
    type: 'SPEI',
    fiatAccountFields: {
      accountNumber: withCheckDigits('MX', 'clabe', '00201007777777777'),
      accountType: 'CLABE',
      metadata: { accountHolderName: 'Maria Lopez' },
    },
  });
  fiatAccountId = account.json().fiatAccountId;
});

async function newQuote(fromAmount = '250', toCurrency = 'MXN') {
  const res = await sandbox.call('POST', '/quotes', {
    fromCurrency: 'USDT',
    toCurrency,
    fromAmount,
    chain: 'TRON',
    paymentMethodType: 'BANK',
    metadata: { customerId },
  });
  return res.json();
}

const orderFor = (quote: { quoteId: string; fromAmount: string; toCurrency: string }, overrides: Record<string, unknown> = {}) => ({
  customerId,
  quoteId: quote.quoteId,
  fromCurrency: 'USDT',
  toCurrency: quote.toCurrency,
  amount: quote.fromAmount,
  chain: 'TRON',
  fiatAccountId,
  originAddress: 'TXYZ1234567890abcdefghijkLMNOPQRST',
  ...overrides,
});

const createOfframp = async (overrides: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  sandbox.call('POST', '/offramp', orderFor(await newQuote(), overrides), headers);

describe('offramps', () => {
  it('when an offramp is created on a fresh quote, then it is CREATED with a TRON deposit address and the quote is used up', async () => {
    const quote = await newQuote();
    const res = await sandbox.call('POST', '/offramp', orderFor(quote));
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      status: 'CREATED',
      fromAmount: '250.000000',
      toAmount: quote.toAmount,
      fiatAccountId,
      quote: { quoteId: quote.quoteId },
    });
    expect(body.depositAddress).toMatch(/^T[1-9A-HJ-NP-Za-km-z]{33}$/);
    expect(body.expiration).toBe('2026-05-01T13:00:00.000Z');
    expect((await sandbox.call('GET', `/offramp/${body.transactionId}`)).json()).toEqual(body);
    expect(sandbox.state.quotes.get(quote.quoteId)?.usedBy).toBe(body.transactionId);
    const reused = await sandbox.call('POST', '/offramp', orderFor(quote));
    expect(reused.statusCode).toBe(400);
    expect(reused.json()).toMatchObject({ errorCode: 111302, errorMetadata: { reason: 'used' } });
  });

  it('when the quote is expired, unknown or does not match the order, then 400 111302 and no order exists', async () => {
    const before = sandbox.state.offramps.size;
    const quote = await newQuote();
    const mismatch = await sandbox.call('POST', '/offramp', orderFor(quote, { amount: '249.99', chain: 'ETH' }));
    expect(mismatch.json()).toMatchObject({ errorCode: 111302, errorMetadata: { reason: 'does_not_match', fields: ['chain', 'amount'] } });
    nowMs += 300_000;
    const expired = await sandbox.call('POST', '/offramp', orderFor(quote));
    expect(expired.json()).toMatchObject({ errorCode: 111302, errorMetadata: { reason: 'expired' } });
    const unknown = await sandbox.call('POST', '/offramp', orderFor({ ...quote, quoteId: randomUUID() }));
    expect(unknown.json()).toMatchObject({ errorCode: 111302, errorMetadata: { reason: 'unknown' } });
    expect(sandbox.state.offramps.size).toBe(before);
  });

  it("when the fiat account is another customer's or on another rail, then 111309 or 111307", async () => {
    const stranger = await verifiedCustomer(sandbox);
    const foreign = await createOfframp({ customerId: stranger });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().errorCode).toBe(111309);
    const brl = await newQuote('250', 'BRL');
    const wrongRail = await sandbox.call('POST', '/offramp', orderFor(brl));
    expect(wrongRail.json()).toMatchObject({ errorCode: 111307, errorMetadata: { fiatAccountType: 'SPEI', toCurrency: 'BRL' } });
  });

  it('when the customer has not completed KYC, then 400 111406', async () => {
    const { customerId: unverified } = (
      await sandbox.call('POST', '/customers/create', { email: `${randomUUID()}@example.com`, type: 'INDIVIDUAL', country: 'MX' })
    ).json();
    const res = await createOfframp({ customerId: unverified });
    expect(res.statusCode).toBe(400);
    expect(res.json().errorCode).toBe(111406);
  });

  it('when the same Idempotency-Key is sent twice, then the same order comes back; with another body, then 409', async () => {
    const key = randomUUID();
    const quote = await newQuote();
    const first = await sandbox.call('POST', '/offramp', orderFor(quote), { 'idempotency-key': key });
    const second = await sandbox.call('POST', '/offramp', orderFor(quote), { 'idempotency-key': key });
    expect(second.statusCode).toBe(201);
    expect(second.json().transactionId).toBe(first.json().transactionId);
    expect([...sandbox.state.offramps.values()].filter((o) => o.quoteId === quote.quoteId)).toHaveLength(1);
    const other = await sandbox.call('POST', '/offramp', orderFor(quote, { memo: 'changed' }), { 'idempotency-key': key });
    expect(other.statusCode).toBe(409);
    expect(other.json().errorCode).toBe(111430);
  });

  it('when no Idempotency-Key is sent, then each accepted POST is a new order and the list by quote finds it', async () => {
    const a = (await createOfframp()).json();
    const b = (await createOfframp()).json();
    expect(a.transactionId).not.toBe(b.transactionId);
    const byQuote = (await sandbox.call('GET', `/offramp?customerId=${customerId}&quoteId=${a.quoteId}`)).json();
    expect(byQuote.map((o: { transactionId: string }) => o.transactionId)).toEqual([a.transactionId]);
  });

  it('when an offramp is walked to success, then it passes every status in order and ends FIAT_TRANSFER_COMPLETED', async () => {
    const { transactionId } = (await createOfframp()).json();
    const walk = await sandbox.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'success' });
    expect(walk.statusCode).toBe(200);
    expect(walk.json().steps).toEqual([
      'ON_CHAIN_DEPOSIT_RECEIVED',
      'TRADE_COMPLETED',
      'FIAT_TRANSFER_INITIATED',
      'FIAT_TRANSFER_COMPLETED',
    ]);
    const offramp = (await sandbox.call('GET', `/offramp/${transactionId}`)).json();
    expect(offramp.status).toBe('FIAT_TRANSFER_COMPLETED');
    expect(offramp.txHash).toMatch(/^[0-9a-f]{64}$/);
    const events = sandbox.state.deliveries.filter((d) => d.body.referenceId === transactionId).map((d) => d.body.status);
    expect(events).toEqual(walk.json().steps);
    const again = await sandbox.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'failure' });
    expect(again.json().errorCode).toBe(111302);
  });

  it('when an offramp is walked to failure after the trade, then it ends FAILED with the reason in metadata', async () => {
    const { transactionId } = (await createOfframp()).json();
    const walk = await sandbox.emu('POST', `/offramps/${transactionId}/walk`, {
      outcome: 'failure',
      failureReason: 'BANK_REJECTED',
      failAfter: 'TRADE_COMPLETED',
    });
    expect(walk.json().steps).toEqual(['ON_CHAIN_DEPOSIT_RECEIVED', 'TRADE_COMPLETED', 'FAILED']);
    const offramp = (await sandbox.call('GET', `/offramp/${transactionId}`)).json();
    expect(offramp).toMatchObject({ status: 'FAILED', metadata: { failureReason: 'BANK_REJECTED' } });
    const last = sandbox.state.deliveries.filter((d) => d.body.referenceId === transactionId).at(-1);
    expect(last?.body).toMatchObject({ eventType: 'OFFRAMP', status: 'FAILED', metadata: { failureReason: 'BANK_REJECTED' } });
  });

  it('when the driver posts statuses, then forward moves apply, the current one re-delivers, and backward or post-final ones are 111302', async () => {
    const { transactionId } = (await createOfframp()).json();
    const post = (status: string, metadata: Record<string, unknown> | null = null) =>
      sandbox.call('POST', '/webhooks', { referenceId: transactionId, eventType: 'OFFRAMP', status, metadata });
    expect((await post('FIAT_TRANSFER_INITIATED')).statusCode).toBe(201);
    expect((await post('FIAT_TRANSFER_INITIATED')).statusCode).toBe(201);
    expect((await post('TRADE_COMPLETED')).json()).toMatchObject({
      errorCode: 111302,
      errorMetadata: { from: 'FIAT_TRANSFER_INITIATED', to: 'TRADE_COMPLETED' },
    });
    expect((await post('FIAT_TRANSFER_COMPLETED')).statusCode).toBe(201);
    expect((await post('FAILED', { failureReason: 'late' })).statusCode).toBe(400);
    expect((await post('SETTLED')).statusCode).toBe(400);
    const statuses = sandbox.state.deliveries.filter((d) => d.body.referenceId === transactionId).map((d) => d.body.status);
    expect(statuses).toEqual(['FIAT_TRANSFER_INITIATED', 'FIAT_TRANSFER_INITIATED', 'FIAT_TRANSFER_COMPLETED']);
    expect(sandbox.state.offramps.get(transactionId)?.history.map((h) => h.status)).toEqual([
      'CREATED',
      'FIAT_TRANSFER_INITIATED',
      'FIAT_TRANSFER_COMPLETED',
    ]);
  });

  it('when the emulator lists offramps, then each carries its history', async () => {
    const res = await sandbox.emu('GET', '/offramps');
    expect(res.json().offramps.length).toBe(sandbox.state.offramps.size);
    expect(res.json().offramps[0].history[0]).toMatchObject({ status: 'CREATED' });
    expect((await sandbox.call('GET', `/offramp/${randomUUID()}`)).statusCode).toBe(404);
  });
});
