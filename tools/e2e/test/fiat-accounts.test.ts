import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from './system.ts';
import { addAccount, countries, newTrader, onboard, openSession } from './flows.ts';

describe('fiat accounts end to end', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => sys?.cleanup());

  it('TC-F1: when the PIX requirements are asked, then a JSON Schema requiring pixKey, documentNumber and accountName', async () => {
    const trader = newTrader();
    const r = await sys.http('GET', '/psp/alfred/fiat-accounts/requirements?type=PIX', { trader });
    expect(r.status).toBe(200);
    const schema = JSON.stringify(r.body!.data);
    for (const field of ['pixKey', 'documentNumber', 'accountName']) expect(schema).toContain(field);
    const required = findRequired(r.body!.data);
    expect(required).toEqual(expect.arrayContaining(['pixKey', 'documentNumber', 'accountName']));
    const unknown = await sys.http('GET', '/psp/alfred/fiat-accounts/requirements?type=WIRE', { trader });
    expect(unknown.status).toBe(400);
    expect(unknown.body!.error.code).toBe('VALIDATION_ERROR');
  });

  it('TC-F2: when an MX trader adds SPEI with an 18-digit CLABE, then 201 with a fiatAccountId; a bad CLABE is a field error before Alfred is called', async () => {
    const trader = newTrader();
    const holder = await onboard(sys, trader, 'MX', '0');
    const id = await addAccount(sys, trader, countries.MX, holder);
    expect(id).toBeTruthy();
    const calls = async () =>
      ((await sys.emu('GET', '/requests?method=POST&pathPrefix=/api/v1/third-party-service/penny/fiatAccounts'))!.requests as unknown[])
        .length;
    const before = await calls();
    const bad = await sys.http('POST', '/psp/alfred/fiat-accounts', {
      trader,
      body: { type: 'SPEI', fiatAccountFields: { accountNumber: '002010077777777772', accountHolderName: holder } },
    });
    expect(bad.status).toBe(422);
    expect(bad.body!.error.code).toBe('FIAT_ACCOUNT_INVALID');
    expect(JSON.stringify(bad.body!.error.details)).toContain('accountNumber');
    expect(await calls()).toBe(before);
  });

  it('TC-F3: when a DO trader adds ACH_DOM at BANCO POPULAR, then 201', async () => {
    const trader = newTrader();
    const holder = await onboard(sys, trader, 'DO', '0');
    expect(await addAccount(sys, trader, countries.DO, holder)).toBeTruthy();
  });

  it('TC-F4: when a leaked session id is used by another trader to add a fiat account, then 403 ALFRED_SESSION_NOT_OWNED and nothing is added', async () => {
    const victim = newTrader();
    const attacker = newTrader();
    const holder = await onboard(sys, victim, 'BR');
    await onboard(sys, attacker, 'BR', '0');
    const accountId = await addAccount(sys, victim, countries.BR, holder);
    const session = await openSession(sys, victim, countries.BR, accountId);
    expect(session.status).toBe(201);
    const r = await sys.http('POST', '/psp/alfred/fiat-accounts', {
      trader: attacker,
      body: { type: 'PIX', session_id: session.body!.data.session_id, fiatAccountFields: countries.BR.fields('Mallory') },
    });
    expect(r.status).toBe(403);
    expect(r.body!.error.code).toBe('ALFRED_SESSION_NOT_OWNED');
    const list = await sys.http('GET', '/psp/alfred/fiat-accounts', { trader: attacker });
    expect(list.body!.data).toEqual([]);
  });

  it('TC-F6: when a fiat account is deleted, then 204 and it is gone from the list; another trader cannot delete it', async () => {
    const trader = newTrader();
    const holder = await onboard(sys, trader, 'MX', '0');
    const id = await addAccount(sys, trader, countries.MX, holder);
    const listed = await sys.http('GET', '/psp/alfred/fiat-accounts', { trader });
    expect(listed.body!.data.map((a: { fiat_account_id: string }) => a.fiat_account_id)).toContain(id);
    expect(JSON.stringify(listed.body!.data)).not.toContain('002010077777777771');
    const other = await sys.http('DELETE', `/psp/alfred/fiat-accounts/${id}`, { trader: newTrader() });
    expect(other.status).toBe(404);
    expect(other.body!.error.code).toBe('FIAT_ACCOUNT_NOT_FOUND');
    const deleted = await sys.http('DELETE', `/psp/alfred/fiat-accounts/${id}`, { trader });
    expect(deleted.status).toBe(204);
    const after = await sys.http('GET', '/psp/alfred/fiat-accounts', { trader });
    expect(after.body!.data.map((a: { fiat_account_id: string }) => a.fiat_account_id)).not.toContain(id);
  });

  it('TC-W6 / TC-F5: when BANK_USA is registered, then 409 partnerCode 111485 (bridged) or 422 110003 (non-bridged), with one registration call each', async () => {
    const usa = {
      type: 'BANK_USA',
      fiatAccountFields: {
        bankName: 'CHASE',
        accountNumber: '123456789012',
        routingNumber: '021000021',
        accountType: 'CHECKING',
        accountHolderName: 'Jane Roe',
        bankAddress: '270 Park Ave, New York, NY 10017',
      },
    };
    const registrations = async () =>
      ((await sys.emu('GET', '/requests?method=POST&pathPrefix=/api/v1/third-party-service/penny/fiatAccounts'))!.requests as unknown[])
        .length;
    for (const [bridged, status, partnerCode] of [
      [true, 409, 111485],
      [false, 422, 110003],
    ] as const) {
      const trader = newTrader();
      expect((await sys.http('POST', '/psp/alfred/__dev/seed-kyc-and-provision?country=US', { trader, dev: true })).status).toBe(200);
      expect((await sys.http('POST', '/psp/alfred/__dev/approve-kyc', { trader, dev: true })).status).toBe(200);
      await sys.markBridged(trader, bridged);
      const before = await registrations();
      const r = await sys.http('POST', '/psp/alfred/fiat-accounts', { trader, body: usa });
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.body!.error).toMatchObject({
        code: 'ALFRED_BANK_USA_UNAVAILABLE',
        message: 'BANK_USA unavailable, contact support',
        details: { partnerCode },
      });
      expect(await registrations()).toBe(before + 1);
    }
  });
});

/** The `required` list of a JSON Schema, wherever the generator nested the object. */
function findRequired(schema: unknown): string[] {
  if (!schema || typeof schema !== 'object') return [];
  const s = schema as Record<string, unknown>;
  if (Array.isArray(s.required) && s.properties) return s.required as string[];
  for (const value of Object.values(s)) {
    const found = findRequired(value);
    if (found.length > 0) return found;
  }
  return [];
}
