import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, verifiedCustomer } from './harness.ts';

const sandbox = startSandbox();
afterAll(() => sandbox.close());
beforeEach(() => sandbox.reset());

const usAccount = {
  accountName: 'JPMorgan Chase Bank',
  accountNumber: '000123456789',
  routingNumber: '021000021',
  accountType: 'CHECKING',
  bankAddress: '270 Park Avenue, New York, NY 10017',
  metadata: { accountHolderName: 'John Smith' },
};

const register = (customerId: string, fields: Record<string, unknown> = usAccount) =>
  sandbox.call('POST', '/fiatAccounts', { customerId, type: 'BANK_USA', fiatAccountFields: fields });

const bankUsaCalls = async () => (await sandbox.emu('GET', '/requests?method=POST&pathPrefix=/fiatAccounts')).json().requests;

describe('BANK_USA', () => {
  it('when a bridged customer registers a valid US account, then 409 111485 as the partner bug does, and nothing is stored', async () => {
    const customerId = await verifiedCustomer(sandbox, 'US', { bridged: true });
    const res = await register(customerId);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ errorCode: 111485, errorMessage: 'Fiat account already exists' });
    expect(sandbox.state.fiatAccounts.size).toBe(0);
    expect(await bankUsaCalls()).toEqual([expect.objectContaining({ method: 'POST', statusCode: 409 })]);
  });

  it('when a non-bridged customer registers a valid US account, then 422 110003 Bank Unresponsive', async () => {
    const customerId = await verifiedCustomer(sandbox, 'US');
    const res = await register(customerId);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({ errorCode: 110003, errorMessage: 'Bank Unresponsive' });
    expect(sandbox.state.fiatAccounts.size).toBe(0);
  });

  it('when the fields are invalid, then 111484 comes before the partner bug', async () => {
    const customerId = await verifiedCustomer(sandbox, 'US', { bridged: true });
    const res = await register(customerId, { ...usAccount, routingNumber: '021000022', accountType: 'MONEY_MARKET', bankAddress: '' });
    expect(res.statusCode).toBe(400);
    expect(res.json().errorMetadata.fields).toEqual(['routingNumber', 'accountType', 'bankAddress']);
  });

  it('when the emulator says BANK_USA works, then the account registers, and a duplicate is a real 111485', async () => {
    const put = await sandbox.emu('PUT', '/config', { bankUsaWorks: true });
    expect(put.json().bankUsaWorks).toBe(true);
    const customerId = await verifiedCustomer(sandbox, 'US');
    const res = await register(customerId);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ type: 'BANK_USA', routingNumber: '021000021' });
    const again = await register(customerId);
    expect(again.statusCode).toBe(409);
    expect(again.json().errorMetadata).toEqual({ fiatAccountId: res.json().fiatAccountId });
    expect((await bankUsaCalls()).map((r: { statusCode: number }) => r.statusCode)).toEqual([201, 409]);
  });

  it('when the emulator is reset, then BANK_USA is broken again', async () => {
    await sandbox.emu('PUT', '/config', { bankUsaWorks: true });
    await sandbox.emu('POST', '/reset');
    const customerId = await verifiedCustomer(sandbox, 'US');
    expect((await register(customerId)).statusCode).toBe(422);
  });
});
