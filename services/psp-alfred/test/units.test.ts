import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { stdnum } from 'stdnum';
import { validateFields, requirementsOf, pixKeyTypeOf } from '../src/fiat-accounts/rails.ts';
import { isAbaRouting, isCbu } from '../src/fiat-accounts/numbers.ts';
import { maskNumber, ourFieldName, toAlfredFields } from '../src/fiat-accounts/alfred-fields.ts';
import { verifySignature } from '../src/webhooks/signature.ts';
import { isNewerStatus } from '../src/offramps/offramp-status.ts';

const sign = (t: number, body: string, secret = 's3cret', sep = '.') =>
  `t=${t},s=${createHmac('sha256', secret).update(`${t}${sep}${body}`).digest('hex')}`;

describe('webhook signature', () => {
  const body = '{"referenceId":"r","eventType":"KYC","status":"COMPLETED"}';
  const nowMs = 1_800_000_000_000;
  const t = nowMs / 1000;
  const check = (header: string | undefined, format: 'dot' | 'concat' = 'dot') =>
    verifySignature({ header, rawBody: Buffer.from(body), secret: 's3cret', format, toleranceSeconds: 300, nowMs });

  it('when signed over t.body with the secret inside the window, then valid', () => {
    expect(check(sign(t, body))).toBe('valid');
    expect(check(sign(t - 300, body))).toBe('valid');
  });

  it('when signed otherwise, then the reason is named', () => {
    expect(check(undefined)).toBe('missing');
    expect(check('s=abc,t=1')).toBe('malformed');
    expect(check(sign(t - 301, body))).toBe('stale');
    expect(check(sign(t, body, 'other'))).toBe('mismatch');
    expect(check(sign(t, `${body} `))).toBe('mismatch');
    expect(check(sign(t, body, 's3cret', ''))).toBe('mismatch');
    expect(check(sign(t, body, 's3cret', ''), 'concat')).toBe('valid');
  });
});

describe('rail fields', () => {
  it('when a CBU has a check digit of 0, then it is accepted although stdnum 1.12.0 refuses it', () => {
    // Both blocks of this CBU have a 0 check digit.
    const cbu = '0170006000000000000000';
    expect(stdnum.AR!.cbu!.validate(cbu).isValid).toBe(false);
    expect(isCbuByHand(cbu)).toBe(true);
    expect(isCbu(cbu)).toBe(true);
    expect(isCbu('0170006000000000000001')).toBe(false);
    expect(isCbu('2850590940090418135201')).toBe(true);
    expect(isCbu('2850590940090418135202')).toBe(false);
  });

  it('when an ABA routing number is checked, then the 3-7-1 checksum and the Federal Reserve prefix decide', () => {
    expect(isAbaRouting('021000021')).toBe(true);
    expect(isAbaRouting('021000022')).toBe(false);
    expect(isAbaRouting('991000021')).toBe(false);
  });

  it('when fields are bad, then every bad field is named without its value', () => {
    const result = validateFields('BANK_USA', {
      bankName: 'X',
      accountNumber: '12',
      routingNumber: '021000022',
      accountType: 'BROKERAGE',
      accountHolderName: 'Emily Smith',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.fields.sort()).toEqual(['accountNumber', 'accountType', 'bankAddress', 'bankName', 'routingNumber']);
    expect(JSON.stringify(result.issues)).not.toContain('021000022');
  });

  it('when a NEQUI account is not a mobile number, then accountNumber is refused', () => {
    const fields = {
      bankName: 'NEQUI',
      accountNumber: '1234567890',
      accountType: 'NEQUI',
      accountHolderName: 'Camila Gomez',
      documentType: 'CC',
      documentNumber: '1020304050',
    };
    expect(validateFields('ACH', fields)).toMatchObject({ ok: false, fields: ['accountNumber'] });
    expect(validateFields('ACH', { ...fields, accountNumber: '3001234567' })).toMatchObject({ ok: true });
  });

  it('when a pix key is written, then its type is recognised', () => {
    expect(pixKeyTypeOf('123.456.789-09')).toBe('CPF');
    expect(pixKeyTypeOf('ana@example.com')).toBe('EMAIL');
    expect(pixKeyTypeOf('+5511987654321')).toBe('PHONE');
    expect(pixKeyTypeOf('123e4567-e89b-42d3-a456-426614174000')).toBe('EVP');
    expect(pixKeyTypeOf('12345')).toBeNull();
  });

  it('when the requirements of every rail are generated, then each is an object schema with required fields', () => {
    for (const rail of ['SPEI', 'PIX', 'COELSA', 'ACH', 'ACH_DOM', 'BANK_USA', 'BANK_CN', 'ACH_CHL', 'ACH_BOL', 'B89'] as const) {
      const schema = requirementsOf(rail);
      expect(schema.type, rail).toBe('object');
      expect((schema.required as string[]).length, rail).toBeGreaterThan(1);
    }
  });

  it('when a COELSA alias is mapped for Alfred, then it keeps its letters and the holder goes under metadata', () => {
    const parsed = validateFields('COELSA', { accountType: 'ALIAS', accountNumber: 'mi.alias-01', accountHolderName: 'Sofia Perez' });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(toAlfredFields('COELSA', parsed.fields)).toEqual({
      accountType: 'ALIAS',
      accountNumber: 'mi.alias-01',
      metadata: { accountHolderName: 'Sofia Perez' },
    });
  });

  it('when Alfred names a bad field by its own path, then the trader is told the field they filled', () => {
    expect(ourFieldName('PIX', 'accountNumber')).toBe('pixKey');
    expect(ourFieldName('PIX', 'metadata.accountHolderName')).toBe('accountName');
    expect(ourFieldName('ACH_DOM', 'metadata.documentNumber')).toBe('documentNumber');
    expect(ourFieldName('ACH_DOM', 'accountName')).toBe('bankName');
    expect(ourFieldName('BANK_USA', 'routingNumber')).toBe('routingNumber');
  });

  it('when numbers are masked, then only the last four (or the e-mail domain) remain', () => {
    expect(maskNumber('002010077777777771')).toBe('****7771');
    expect(maskNumber('ana@example.com')).toBe('a***@example.com');
    expect(maskNumber('123')).toBe('****');
  });
});

describe('offramp status order', () => {
  it('when statuses arrive, then only a later step (or a failure before the end) moves the mirror', () => {
    expect(isNewerStatus('TRADE_COMPLETED', 'CREATED')).toBe(true);
    expect(isNewerStatus('CREATED', 'TRADE_COMPLETED')).toBe(false);
    expect(isNewerStatus('FAILED', 'FIAT_TRANSFER_INITIATED')).toBe(true);
    expect(isNewerStatus('FAILED', 'FIAT_TRANSFER_COMPLETED')).toBe(false);
    expect(isNewerStatus('FIAT_TRANSFER_COMPLETED', 'FAILED')).toBe(false);
  });
});

/** The CBU rule written out, to check the stdnum work-around against. */
function isCbuByHand(value: string): boolean {
  const check = (block: string, weights: number[]) =>
    (10 - ([...block].reduce((s, d, i) => s + Number(d) * weights[i % weights.length]!, 0) % 10)) % 10;
  return (
    /^[0-9]{22}$/.test(value) &&
    String(check(value.slice(0, 7), [7, 1, 3, 9])) === value[7] &&
    String(check(value.slice(8, 21), [3, 9, 7, 1])) === value[21]
  );
}
