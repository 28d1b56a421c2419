import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { pspAlfredRpc } from '@offramp/contracts';
import { z } from 'zod';
import { badClabe, expectOk, startTestPspAlfred, validClabe, type TestPspAlfred } from './harness.ts';

let t: TestPspAlfred;
beforeAll(async () => {
  t = await startTestPspAlfred();
});
afterAll(async () => {
  await t.cleanup();
});

const spei = (accountNumber = validClabe) => ({ accountNumber, accountHolderName: 'Maria Hernandez', bankName: 'BBVA Mexico' });
const bankUsa = {
  bankName: 'JPMorgan Chase',
  accountNumber: '123456789',
  routingNumber: '021000021',
  accountType: 'CHECKING',
  accountHolderName: 'Emily Smith',
  bankAddress: '270 Park Ave, New York, NY 10017',
};
const registrations = async () => t.partnerCalls('POST', '/fiatAccounts');

describe('fiat account requirements', () => {
  it('when the PIX requirements are asked, then the JSON Schema requires pixKey, documentNumber and accountName', async () => {
    const result = await expectOk(t.call(pspAlfredRpc.fiatAccountRequirements, { type: 'PIX' }));
    expect(result.type).toBe('PIX');
    expect(result.schema).toMatchObject({
      type: 'object',
      properties: { pixKey: { type: 'string' }, documentNumber: { type: 'string' }, accountName: { type: 'string' } },
    });
    expect(result.schema.required).toEqual(expect.arrayContaining(['pixKey', 'documentNumber', 'accountName']));
  });

  it('when the requirements of an unknown type are asked, then VALIDATION_ERROR', async () => {
    expect(await t.call(pspAlfredRpc.fiatAccountRequirements, { type: 'SWIFT' })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_ERROR' },
    });
  });
});

describe('fiat accounts', () => {
  it('when a SPEI account with a valid 18-digit CLABE is added, then it is registered at Alfred and listed masked', async () => {
    const { traderId, customerId } = await t.readyTrader('MX');
    const { fiatAccountId } = await expectOk(t.call(pspAlfredRpc.createFiatAccount, { traderId, type: 'SPEI', fields: spei() }));
    const atAlfred = t.sandbox.state.fiatAccounts.get(fiatAccountId);
    expect(atAlfred).toMatchObject({
      customerId,
      type: 'SPEI',
      fields: { accountType: 'CLABE', accountNumber: validClabe, metadata: { accountHolderName: 'Maria Hernandez' } },
    });
    const { accounts } = await t.call(pspAlfredRpc.listFiatAccounts, { traderId });
    expect(accounts).toEqual([
      {
        fiatAccountId,
        type: 'SPEI',
        maskedNumber: '****7771',
        accountHolderName: 'Maria Hernandez',
        bankName: 'BBVA Mexico',
        createdAt: expect.any(String),
        status: 'active',
      },
    ]);
    expect(JSON.stringify(accounts)).not.toContain(validClabe);
    const stored = await t.rows(z.unknown(), 'select * from fiat_accounts where fiat_account_id = ?', [fiatAccountId]);
    expect(JSON.stringify(stored)).not.toContain(validClabe);
  });

  it('when the CLABE check digit is wrong, then FIAT_ACCOUNT_INVALID names accountNumber and Alfred is not called', async () => {
    const { traderId } = await t.readyTrader('MX');
    const before = (await registrations()).length;
    const result = await t.call(pspAlfredRpc.createFiatAccount, { traderId, type: 'SPEI', fields: spei(badClabe) });
    expect(result).toMatchObject({ ok: false, error: { code: 'FIAT_ACCOUNT_INVALID', details: { fields: ['accountNumber'] } } });
    expect(JSON.stringify(result)).not.toContain(badClabe);
    expect(await registrations()).toHaveLength(before);
    expect((await t.call(pspAlfredRpc.listFiatAccounts, { traderId })).accounts).toEqual([]);
  });

  it('when the same account is added twice, then FIAT_ACCOUNT_DUPLICATE and one account', async () => {
    const { traderId } = await t.readyTrader('MX');
    await expectOk(t.call(pspAlfredRpc.createFiatAccount, { traderId, type: 'SPEI', fields: spei() }));
    expect(
      await t.call(pspAlfredRpc.createFiatAccount, {
        traderId,
        type: 'SPEI',
        fields: spei(`${validClabe.slice(0, 6)} ${validClabe.slice(6)}`),
      }),
    ).toMatchObject({
      ok: false,
      error: { code: 'FIAT_ACCOUNT_DUPLICATE' },
    });
    expect((await t.call(pspAlfredRpc.listFiatAccounts, { traderId })).accounts).toHaveLength(1);
  });

  it('when Alfred already has the account but its answer was lost, then adding it again adopts the account', async () => {
    const { traderId, customerId } = await t.readyTrader('MX');
    const lost = await t.sandbox.app.inject({
      method: 'POST',
      url: '/api/v1/third-party-service/penny/fiatAccounts',
      headers: { 'api-key': t.config.ALFRED_API_KEY, 'api-secret': t.config.ALFRED_API_SECRET },
      payload: {
        customerId,
        type: 'SPEI',
        fiatAccountFields: { accountType: 'CLABE', accountNumber: validClabe, metadata: { accountHolderName: 'Maria Hernandez' } },
      },
    });
    const { fiatAccountId } = lost.json() as { fiatAccountId: string };
    expect(await t.call(pspAlfredRpc.createFiatAccount, { traderId, type: 'SPEI', fields: spei() })).toEqual({
      ok: true,
      data: { fiatAccountId },
    });
    expect((await t.call(pspAlfredRpc.listFiatAccounts, { traderId })).accounts.map((a) => a.fiatAccountId)).toEqual([fiatAccountId]);
    expect([...t.sandbox.state.fiatAccounts.values()].filter((a) => a.customerId === customerId)).toHaveLength(1);
  });

  it('when a rail of another country is added, then VALIDATION_ERROR and Alfred is not called', async () => {
    const { traderId } = await t.readyTrader('MX');
    const before = (await registrations()).length;
    expect(await t.call(pspAlfredRpc.createFiatAccount, { traderId, type: 'PIX', fields: {} })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_ERROR' },
    });
    expect(await registrations()).toHaveLength(before);
  });

  it('when a PIX account is added with a CPF key, then it is registered with the key type and holder document', async () => {
    const { traderId } = await t.readyTrader('BR');
    const fields = { pixKey: '123.456.789-09', documentNumber: '12345678909', accountName: 'Ana Silva' };
    const { fiatAccountId } = await expectOk(t.call(pspAlfredRpc.createFiatAccount, { traderId, type: 'PIX', fields }));
    expect(t.sandbox.state.fiatAccounts.get(fiatAccountId)?.fields).toMatchObject({
      accountType: 'CPF',
      accountNumber: '12345678909',
      metadata: { accountHolderName: 'Ana Silva', documentType: 'CPF', documentNumber: '12345678909' },
    });
    expect((await t.call(pspAlfredRpc.listFiatAccounts, { traderId })).accounts[0]).toMatchObject({
      type: 'PIX',
      maskedNumber: '****8909',
    });
  });

  it('when an ACH_DOM account at BANCO POPULAR is added, then it is registered with the cedula of the holder', async () => {
    const { traderId } = await t.readyTrader('DO');
    const fields = {
      bankName: 'BANCO POPULAR',
      accountNumber: '7894561230',
      accountHolderName: 'Rafael Santana',
      documentNumber: '001-1391820-5',
    };
    const { fiatAccountId } = await expectOk(t.call(pspAlfredRpc.createFiatAccount, { traderId, type: 'ACH_DOM', fields }));
    expect(t.sandbox.state.fiatAccounts.get(fiatAccountId)?.fields).toMatchObject({
      accountName: 'BANCO POPULAR',
      accountNumber: '7894561230',
      metadata: { accountHolderName: 'Rafael Santana', documentType: 'CEDULA', documentNumber: '00113918205' },
    });
  });

  it('when a BANK_USA account is added for a bridged customer, then ALFRED_BANK_USA_UNAVAILABLE with 409/111485, called once', async () => {
    const { traderId, customerId } = await t.readyTrader('US');
    await t.emu('PUT', `/customers/${customerId}`, { bridged: true });
    const before = (await registrations()).length;
    const result = await t.call(pspAlfredRpc.createFiatAccount, { traderId, type: 'BANK_USA', fields: bankUsa });
    expect(result).toEqual({
      ok: false,
      error: {
        code: 'ALFRED_BANK_USA_UNAVAILABLE',
        message: 'BANK_USA unavailable, contact support',
        status: 409,
        details: { partnerCode: 111485 },
      },
    });
    expect(await registrations()).toHaveLength(before + 1);
    expect((await t.call(pspAlfredRpc.listFiatAccounts, { traderId })).accounts).toEqual([]);
  });

  it('when a BANK_USA account is added for a non-bridged customer, then ALFRED_BANK_USA_UNAVAILABLE with 422/110003, called once', async () => {
    const { traderId } = await t.readyTrader('US');
    const before = (await registrations()).length;
    const result = await t.call(pspAlfredRpc.createFiatAccount, { traderId, type: 'BANK_USA', fields: bankUsa });
    expect(result).toEqual({
      ok: false,
      error: {
        code: 'ALFRED_BANK_USA_UNAVAILABLE',
        message: 'BANK_USA unavailable, contact support',
        status: 422,
        details: { partnerCode: 110003 },
      },
    });
    expect(await registrations()).toHaveLength(before + 1);
  });

  it('when an account is deleted, then it is gone at Alfred and from the list; another trader cannot delete it', async () => {
    const owner = await t.readyTrader('MX');
    const other = await t.readyTrader('MX');
    const { fiatAccountId } = await expectOk(
      t.call(pspAlfredRpc.createFiatAccount, { traderId: owner.traderId, type: 'SPEI', fields: spei() }),
    );
    expect(await t.call(pspAlfredRpc.deleteFiatAccount, { traderId: other.traderId, fiatAccountId })).toMatchObject({
      ok: false,
      error: { code: 'FIAT_ACCOUNT_NOT_FOUND' },
    });
    expect(t.sandbox.state.fiatAccounts.has(fiatAccountId)).toBe(true);
    expect(await t.call(pspAlfredRpc.deleteFiatAccount, { traderId: owner.traderId, fiatAccountId })).toEqual({
      ok: true,
      data: { deleted: true },
    });
    expect(t.sandbox.state.fiatAccounts.has(fiatAccountId)).toBe(false);
    expect((await t.call(pspAlfredRpc.listFiatAccounts, { traderId: owner.traderId })).accounts).toEqual([]);
    expect(await t.call(pspAlfredRpc.deleteFiatAccount, { traderId: owner.traderId, fiatAccountId })).toMatchObject({
      ok: false,
      error: { code: 'FIAT_ACCOUNT_NOT_FOUND' },
    });
  });

  it('when a withdrawal asks for its destination, then the masked account, the country, the KYC name and the fingerprint', async () => {
    const { traderId } = await t.readyTrader('MX');
    const { fiatAccountId } = await expectOk(t.call(pspAlfredRpc.createFiatAccount, { traderId, type: 'SPEI', fields: spei() }));
    const [trader] = await t.rows(
      z.object({ identity: z.object({ firstName: z.string(), lastName: z.string() }) }),
      'select identity from traders where trader_id = ?',
      [traderId],
    );
    const destination = await expectOk(t.call(pspAlfredRpc.getDestination, { traderId, fiatAccountId }));
    expect(destination).toEqual({
      fiatAccount: expect.objectContaining({ fiatAccountId, maskedNumber: '****7771', accountHolderName: 'Maria Hernandez' }),
      country: 'MX',
      kycName: `${trader!.identity.firstName} ${trader!.identity.lastName}`,
      destinationFingerprint: createHash('sha256').update(`SPEI:${validClabe}`).digest('hex'),
    });
    expect(await t.call(pspAlfredRpc.getDestination, { traderId: 'someone-else', fiatAccountId })).toMatchObject({
      ok: false,
      error: { code: 'FIAT_ACCOUNT_NOT_FOUND' },
    });
  });

  it('when the trader is not provisioned at Alfred, then the eligibility refusal and Alfred is not called', async () => {
    const traderId = `trader-${Date.now()}`;
    await expectOk(t.call(pspAlfredRpc.devSeedKyc, { traderId, country: 'MX' }));
    const before = (await registrations()).length;
    expect(await t.call(pspAlfredRpc.createFiatAccount, { traderId, type: 'SPEI', fields: spei() })).toMatchObject({
      ok: false,
      error: { code: 'ALFRED_CUSTOMER_NOT_PROVISIONED' },
    });
    expect(await registrations()).toHaveLength(before);
  });
});
