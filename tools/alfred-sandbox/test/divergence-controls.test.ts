import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, verifiedCustomer, withCheckDigits } from './harness.ts';

const sandbox = startSandbox();
afterAll(() => sandbox.close());

let transactionId: string;
beforeAll(async () => {
  const customerId = await verifiedCustomer(sandbox);
  const account = await sandbox.call('POST', '/fiatAccounts', {
    customerId,
    type: 'SPEI',
    fiatAccountFields: {
      accountNumber: withCheckDigits('MX', 'clabe', '00201007777777777'),
      accountType: 'CLABE',
      metadata: { accountHolderName: 'Maria Lopez' },
    },
  });
  const quote = (
    await sandbox.call('POST', '/quotes', {
      fromCurrency: 'USDT',
      toCurrency: 'MXN',
      fromAmount: '250',
      chain: 'TRON',
      paymentMethodType: 'BANK',
      metadata: { customerId },
    })
  ).json();
  const order = await sandbox.call('POST', '/offramp', {
    customerId,
    quoteId: quote.quoteId,
    fromCurrency: 'USDT',
    toCurrency: 'MXN',
    amount: quote.fromAmount,
    chain: 'TRON',
    fiatAccountId: account.json().fiatAccountId,
    originAddress: 'TXYZ1234567890abcdefghijkLMNOPQRST',
  });
  expect(order.statusCode, order.body).toBe(201);
  transactionId = order.json().transactionId;
});

describe('emulator controls for divergent books (reconciliation tests)', () => {
  it('when an order is patched with other amounts, then GET /offramp shows them; an empty or non-decimal patch is 400 and changes nothing', async () => {
    const patch = (body: object) => sandbox.app.inject({ method: 'PATCH', url: `/__emu/offramps/${transactionId}`, payload: body });
    expect((await patch({})).statusCode).toBe(400);
    expect((await patch({ fromAmount: '1e3' })).statusCode).toBe(400);
    expect((await sandbox.call('GET', `/offramp/${transactionId}`)).json().fromAmount).toBe('250.000000');
    const patched = await patch({ fromAmount: '251.5', toAmount: '4400.10' });
    expect(patched.statusCode, patched.body).toBe(200);
    expect((await sandbox.call('GET', `/offramp/${transactionId}`)).json()).toMatchObject({ fromAmount: '251.5', toAmount: '4400.10' });
  });

  it('when an order is deleted, then GET /offramp answers 404 for it, and so does a second delete', async () => {
    expect((await sandbox.emu('DELETE', `/offramps/${transactionId}`)).statusCode).toBe(204);
    expect((await sandbox.call('GET', `/offramp/${transactionId}`)).statusCode).toBe(404);
    expect((await sandbox.emu('DELETE', `/offramps/${transactionId}`)).statusCode).toBe(404);
  });
});
