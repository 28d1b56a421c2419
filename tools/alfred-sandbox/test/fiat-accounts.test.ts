import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { breakLastDigit, fillCheckDigits, startSandbox, verifiedCustomer, withCheckDigits } from './harness.ts';

const sandbox = startSandbox();
afterAll(() => sandbox.close());

const holder = { accountHolderName: 'Maria Lopez' };
const clabe = withCheckDigits('MX', 'clabe', '00201007777777777');
const cpf = withCheckDigits('BR', 'cpf', '390533447', 2);
const cnpj = withCheckDigits('BR', 'cnpj', '167272300001', 2);
const cbu = fillCheckDigits('AR', 'cbu', '2850590?4009041813520?');
const nit = withCheckDigits('CO', 'nit', '90054447');
const cedula = withCheckDigits('DO', 'cedula', '0011391820');
const rnc = withCheckDigits('DO', 'rnc', '40150596');
const ric = withCheckDigits('CN', 'ric', '36042619910101007');
const rut = withCheckDigits('CL', 'rut', '76086428');
const ruc = withCheckDigits('PE', 'ruc', '2051233379');

/** A valid registration per rail, and variants that break named fields. */
const rails: { type: string; valid: Record<string, unknown>; invalid: [string, Record<string, unknown>, string[]][] }[] = [
  {
    type: 'SPEI',
    valid: { accountNumber: clabe, accountType: 'CLABE', metadata: holder },
    invalid: [
      ['bad CLABE check digit', { accountNumber: breakLastDigit(clabe) }, ['accountNumber']],
      ['17 digits', { accountNumber: clabe.slice(0, 17) }, ['accountNumber']],
      ['not a CLABE type, no holder', { accountType: 'DEBIT', metadata: {} }, ['accountType', 'metadata.accountHolderName']],
    ],
  },
  {
    type: 'PIX',
    valid: { accountType: 'CPF', accountNumber: cpf, metadata: { ...holder, documentNumber: cpf } },
    invalid: [
      ['bad CPF key', { accountNumber: breakLastDigit(cpf) }, ['accountNumber']],
      ['unknown key type', { accountType: 'IBAN' }, ['accountType']],
      [
        'bad holder CNPJ',
        { metadata: { ...holder, documentType: 'CNPJ', documentNumber: breakLastDigit(cnpj) } },
        ['metadata.documentNumber'],
      ],
      ['no holder document', { metadata: holder }, ['metadata.documentType', 'metadata.documentNumber']],
    ],
  },
  { type: 'PIX', valid: { accountType: 'CNPJ', accountNumber: cnpj, metadata: { ...holder, documentNumber: cnpj } }, invalid: [] },
  {
    type: 'PIX',
    valid: { accountType: 'EMAIL', accountNumber: 'maria.lopez@example.com.br', metadata: { ...holder, documentNumber: cpf } },
    invalid: [['not an e-mail', { accountNumber: 'maria.lopez' }, ['accountNumber']]],
  },
  {
    type: 'PIX',
    valid: { accountType: 'PHONE', accountNumber: '+5511987654321', metadata: { ...holder, documentNumber: cpf } },
    invalid: [['no country code', { accountNumber: '11987654321' }, ['accountNumber']]],
  },
  {
    type: 'PIX',
    valid: { accountType: 'EVP', accountNumber: randomUUID(), metadata: { ...holder, documentNumber: cpf } },
    invalid: [['not a uuid', { accountNumber: 'abc-123' }, ['accountNumber']]],
  },
  {
    type: 'COELSA',
    valid: { accountType: 'CBU', accountNumber: cbu, metadata: holder },
    invalid: [
      ['bad CBU check digit', { accountNumber: breakLastDigit(cbu) }, ['accountNumber']],
      ['CBU as CVU', { accountType: 'CVU' }, ['accountNumber']],
    ],
  },
  {
    type: 'COELSA',
    valid: { accountType: 'ALIAS', accountNumber: 'maria.lopez.mp', metadata: holder },
    invalid: [['alias too short', { accountNumber: 'abc' }, ['accountNumber']]],
  },
  {
    type: 'ACH',
    valid: {
      accountName: 'Bancolombia',
      accountNumber: '0123456789',
      accountType: 'AHORRO',
      metadata: { ...holder, documentType: 'NIT', documentNumber: nit },
    },
    invalid: [
      ['9 digits', { accountNumber: '123456789' }, ['accountNumber']],
      ['bad NIT', { metadata: { ...holder, documentType: 'NIT', documentNumber: breakLastDigit(nit) } }, ['metadata.documentNumber']],
      ['Nequi not a mobile', { accountType: 'NEQUI', accountNumber: '0123456789' }, ['accountNumber']],
      [
        'no bank, no document type',
        { accountName: '', metadata: { ...holder, documentNumber: '1020304050' } },
        ['accountName', 'metadata.documentType'],
      ],
    ],
  },
  {
    type: 'ACH',
    valid: {
      accountName: 'Nequi',
      accountNumber: '3001234567',
      accountType: 'NEQUI',
      metadata: { ...holder, documentType: 'CC', documentNumber: '1020304050' },
    },
    invalid: [],
  },
  {
    type: 'ACH_DOM',
    valid: { accountName: 'BANCO POPULAR', accountNumber: '812345678', metadata: { ...holder, documentNumber: cedula } },
    invalid: [
      ['bad cédula (Luhn)', { metadata: { ...holder, documentNumber: breakLastDigit(cedula) } }, ['metadata.documentNumber']],
      ['4 digits', { accountNumber: '1234' }, ['accountNumber']],
    ],
  },
  {
    type: 'ACH_DOM',
    valid: {
      accountName: 'BANRESERVAS',
      accountNumber: '9600012345',
      accountType: 'CORRIENTE',
      metadata: { ...holder, documentType: 'RNC', documentNumber: rnc },
    },
    invalid: [
      ['bad RNC', { metadata: { ...holder, documentType: 'RNC', documentNumber: breakLastDigit(rnc) } }, ['metadata.documentNumber']],
    ],
  },
  {
    type: 'BANK_CN',
    valid: {
      accountName: 'ICBC',
      accountNumber: '6222021234567890123',
      accountType: 'SAVINGS',
      metadata: { ...holder, documentType: 'RIC', documentNumber: ric },
    },
    invalid: [
      ['bad RIC', { metadata: { ...holder, documentType: 'RIC', documentNumber: breakLastDigit(ric) } }, ['metadata.documentNumber']],
    ],
  },
  {
    type: 'ACH_CHL',
    valid: {
      accountName: 'Banco de Chile',
      accountNumber: '00123456789',
      accountType: 'CORRIENTE',
      metadata: { ...holder, documentType: 'RUT', documentNumber: rut },
    },
    invalid: [
      ['bad RUT', { metadata: { ...holder, documentType: 'RUT', documentNumber: breakLastDigit(rut) } }, ['metadata.documentNumber']],
    ],
  },
  {
    type: 'ACH_BOL',
    valid: {
      accountName: 'Banco Union',
      accountNumber: '1000012345',
      accountType: 'AHORRO',
      metadata: { ...holder, documentType: 'CI', documentNumber: '4567890-LP' },
    },
    invalid: [
      ['CI without department', { metadata: { ...holder, documentType: 'CI', documentNumber: '4567890' } }, ['metadata.documentNumber']],
    ],
  },
  {
    type: 'B89',
    valid: {
      accountName: 'BCP',
      accountNumber: '00219312345678901234',
      accountType: 'AHORRO',
      metadata: { ...holder, documentType: 'RUC', documentNumber: ruc },
    },
    invalid: [
      ['bad RUC', { metadata: { ...holder, documentType: 'RUC', documentNumber: breakLastDigit(ruc) } }, ['metadata.documentNumber']],
      ['unknown document type', { metadata: { ...holder, documentType: 'CPF', documentNumber: ruc } }, ['metadata.documentType']],
    ],
  },
];

describe('fiat accounts', () => {
  let customerId: string;
  beforeAll(async () => {
    customerId = await verifiedCustomer(sandbox);
  });

  const register = (type: string, fiatAccountFields: unknown, owner = customerId) =>
    sandbox.call('POST', '/fiatAccounts', { customerId: owner, type, fiatAccountFields });

  for (const rail of rails) {
    it(`when a valid ${rail.type} ${String(rail.valid.accountType ?? '')} account is registered, then 201 and it is listed`, async () => {
      const res = await register(rail.type, rail.valid);
      expect(res.statusCode).toBe(201);
      const { fiatAccountId } = res.json();
      expect(res.json()).toMatchObject({
        customerId,
        type: rail.type,
        accountNumber: rail.valid.accountNumber,
        status: 'ACTIVE',
        isExternal: false,
      });
      const list = (await sandbox.call('GET', `/fiatAccounts?customerId=${customerId}`)).json();
      expect(list.map((a: { fiatAccountId: string }) => a.fiatAccountId)).toContain(fiatAccountId);
      expect(sandbox.state.fiatAccounts.get(fiatAccountId)?.type).toBe(rail.type);
    });
    for (const [what, change, fields] of rail.invalid) {
      it(`when a ${rail.type} account has ${what}, then 400 111484 names ${fields.join(', ')}`, async () => {
        const before = sandbox.state.fiatAccounts.size;
        const res = await register(rail.type, { ...rail.valid, ...change });
        expect(res.statusCode).toBe(400);
        expect(res.json()).toEqual({ errorCode: 111484, errorMessage: 'Invalid fiat account fields', errorMetadata: { fields } });
        expect(sandbox.state.fiatAccounts.size).toBe(before);
      });
    }
  }

  it('when a CBU has a check digit of 0 (which stdnum 1.12.0 refuses), then it is accepted all the same', async () => {
    // Check digits computed here with BCRA's published weights, independently of the sandbox.
    const digit = (digits: string, weights: number[]) => (10 - ([...digits].reduce((s, d, i) => s + Number(d) * weights[i]!, 0) % 10)) % 10;
    const front = '2850593';
    const back = '4009041813523';
    const zeroCbu = `${front}${digit(front, [7, 1, 3, 9, 7, 1, 3])}${back}${digit(back, [3, 9, 7, 1, 3, 9, 7, 1, 3, 9, 7, 1, 3])}`;
    expect(zeroCbu[7]).toBe('0');
    const res = await register('COELSA', { accountType: 'CBU', accountNumber: zeroCbu, metadata: holder });
    expect(res.statusCode).toBe(201);
  });

  it('when the same account is registered twice by the same customer, then 409 111485 with the first id', async () => {
    const first = await register('COELSA', { accountType: 'ALIAS', accountNumber: 'Juan.Perez.Ok', metadata: holder });
    const again = await register('COELSA', { accountType: 'ALIAS', accountNumber: 'juan.perez.ok', metadata: holder });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ errorCode: 111485, errorMetadata: { fiatAccountId: first.json().fiatAccountId } });
    const other = await verifiedCustomer(sandbox);
    expect((await register('COELSA', { accountType: 'ALIAS', accountNumber: 'juan.perez.ok', metadata: holder }, other)).statusCode).toBe(
      201,
    );
  });

  it('when an account is deleted by its owner, then 204 and it is gone; by another customer, then 111309', async () => {
    const { fiatAccountId } = (
      await register('SPEI', { accountNumber: withCheckDigits('MX', 'clabe', '01218000118359719'), accountType: 'CLABE', metadata: holder })
    ).json();
    const stranger = await verifiedCustomer(sandbox);
    const foreign = await sandbox.call('DELETE', `/fiatAccounts/${stranger}/${fiatAccountId}`);
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().errorCode).toBe(111309);
    const own = await sandbox.call('DELETE', `/fiatAccounts/${customerId}/${fiatAccountId}`);
    expect(own.statusCode).toBe(204);
    expect(sandbox.state.fiatAccounts.has(fiatAccountId)).toBe(false);
    expect((await sandbox.call('DELETE', `/fiatAccounts/${customerId}/${fiatAccountId}`)).statusCode).toBe(404);
  });

  it('when the customer has not completed KYC, then 400 111406 and nothing is registered', async () => {
    const { customerId: unverified } = (
      await sandbox.call('POST', '/customers/create', { email: `${randomUUID()}@example.com`, type: 'INDIVIDUAL', country: 'MX' })
    ).json();
    const res = await register('SPEI', rails[0]!.valid, unverified);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ errorCode: 111406, errorMessage: 'Customer KYC incomplete' });
    expect((await sandbox.call('GET', `/fiatAccounts?customerId=${unverified}`)).json()).toEqual([]);
  });

  it('when the type is unknown or the fields are not an object of strings, then 111484 names them', async () => {
    expect((await register('SWIFT', {})).json().errorMetadata.fields).toEqual(['type']);
    expect((await register('SPEI', { accountNumber: 12345, accountType: 'CLABE', metadata: holder })).json().errorMetadata.fields).toEqual([
      'accountNumber',
    ]);
  });
});
