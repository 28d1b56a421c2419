import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  commandSubject,
  decimalToMinor,
  errorCatalogue,
  eventSubject,
  ledgerEvents,
  minorToDecimal,
  parseSubject,
  positiveMinorUnits,
  rpcSubject,
  transferRequest,
} from '../src/index.ts';

describe('money', () => {
  it('when a decimal string has at most the allowed fraction digits, then it converts to exact minor units and back', () => {
    expect(decimalToMinor('50.00', 2)).toBe(5_000n);
    expect(decimalToMinor('50', 6)).toBe(50_000_000n);
    expect(decimalToMinor('0.000001', 6)).toBe(1n);
    expect(decimalToMinor('123456789012345678901234.5', 2)).toBe(12345678901234567890123450n);
    expect(minorToDecimal(5_000n, 2)).toBe('50.00');
    expect(minorToDecimal(1n, 6)).toBe('0.000001');
    expect(minorToDecimal(-1_500n, 2)).toBe('-15.00');
    expect(minorToDecimal(7n, 0)).toBe('7');
  });

  it('when a value is negative, over-precise, exponent-shaped or padded, then it is refused', () => {
    for (const bad of ['-1', '1.001', '1e3', ' 1', '01', '.5', '1.', '', 'NaN']) expect(decimalToMinor(bad, 2), bad).toBeNull();
  });

  it('when minor units cross the wire, then they are strings outside and bigints inside', () => {
    expect(positiveMinorUnits.parse('42')).toBe(42n);
    expect(z.encode(positiveMinorUnits, 42n)).toBe('42');
    for (const bad of ['0', '-1', '1.5', '1'.repeat(31)]) expect(positiveMinorUnits.safeParse(bad).success, bad).toBe(false);
  });
});

describe('subjects and messages', () => {
  it('when subjects are built, then they follow evt/cmd/rpc.<owner>.<name>.v<N> and parse back', () => {
    expect(eventSubject('ledger', 'hold-placed')).toBe('evt.ledger.hold-placed.v1');
    expect(commandSubject('psp-alfred', 'create-offramp', 2)).toBe('cmd.psp-alfred.create-offramp.v2');
    expect(rpcSubject('ledger', 'place-hold')).toBe('rpc.ledger.place-hold.v1');
    expect(parseSubject('evt.ledger.hold-placed.v1')).toEqual({ kind: 'evt', owner: 'ledger', name: 'hold-placed', version: 1 });
    expect(parseSubject('evt.ledger.hold-placed')).toBeNull();
    expect(() => eventSubject('Ledger', 'x')).toThrow();
    expect(ledgerEvents.holdPlaced).toMatchObject({ type: 'ledger.hold-placed', version: 1 });
  });

  it('when a transfer debits and credits the same account, then the request is invalid on the credit field', () => {
    const account = { owner: 'trader:1', currency: 'USDT' };
    const r = transferRequest.safeParse({ id: '01a1ff9c-167a-74b1-ab6e-3c9a4c77f1a4', debit: account, credit: account, amountMinor: '1' });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['credit']);
  });
});

/** The part of an OpenAPI response read here: the schema of its error envelope's `error.code`. */
interface ErrorCodeSchema {
  enum?: string[];
  const?: string;
}
interface OpenApiResponse {
  content?: Record<string, { schema?: { properties?: { error?: { properties?: { code?: ErrorCodeSchema } } } } }>;
}

/** Every (code, status) an operation of the served OpenAPI documents lists in its error answers' `error.code` enum. */
function openApiErrorCodes(): Map<string, Set<number>> {
  const found = new Map<string, Set<number>>();
  for (const name of ['gateway.json', 'psp-alfred.json']) {
    const doc = JSON.parse(readFileSync(new URL(`../../../docs/openapi/${name}`, import.meta.url), 'utf8'));
    for (const item of Object.values(doc.paths) as Record<string, { responses?: Record<string, OpenApiResponse> }>[]) {
      for (const op of Object.values(item)) {
        for (const [status, response] of Object.entries(op.responses ?? {})) {
          const code = response.content?.['application/json']?.schema?.properties?.error?.properties?.code;
          for (const c of [...(code?.enum ?? []), ...(code?.const === undefined ? [] : [code.const])]) {
            found.set(c, (found.get(c) ?? new Set()).add(Number(status)));
          }
        }
      }
    }
  }
  return found;
}

describe('error catalogue', () => {
  it('when compared with the OpenAPI documents, then every catalogue code is answered by some operation with its status, and no operation lists another code', () => {
    const documented = openApiErrorCodes();
    // Answered outside any operation (docs/api.md lists them): by Node's HTTP parser before any
    // route is chosen; by `/readyz`; for a plugin's 4xx no other code names (none today).
    const outsideOperations = ['REQUEST_TIMEOUT', 'HEADERS_TOO_LARGE', 'NOT_READY', 'REQUEST_REFUSED'];
    for (const code of Object.keys(errorCatalogue)) {
      if (outsideOperations.includes(code)) continue;
      expect(documented.has(code), `${code} is answered by no operation`).toBe(true);
      const statuses = [...documented.get(code)!].sort();
      // Alfred's BANK_USA refusal keeps Alfred's status: 409 or 422.
      const expected = code === 'ALFRED_BANK_USA_UNAVAILABLE' ? [409, 422] : [errorCatalogue[code as keyof typeof errorCatalogue].status];
      expect(statuses, code).toEqual(expected);
    }
    for (const code of documented.keys()) expect(errorCatalogue, code).toHaveProperty(code);
  });

  it('when compared with docs/api.md, then every documented code is in the catalogue with its status', () => {
    const api = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
    const section = api.slice(api.indexOf('## Error codes') + '## Error codes'.length);
    const pairs = new Map<string, number>();
    for (const part of section.split('·')) {
      const m = /^\s*([A-Z_,\s]+?)\s+(\d{3})(?:\/\d{3})?\.?\s*$/.exec(part);
      expect(m, part).not.toBeNull();
      for (const code of m![1]!.split(/,\s*/)) pairs.set(code.trim(), Number(m![2]));
    }
    expect([...pairs.keys()].sort()).toEqual(Object.keys(errorCatalogue).sort());
    for (const [code, status] of pairs) {
      expect(errorCatalogue, code).toHaveProperty(code);
      if (code !== 'ALFRED_BANK_USA_UNAVAILABLE') expect(errorCatalogue[code as keyof typeof errorCatalogue].status, code).toBe(status);
    }
  });
});
