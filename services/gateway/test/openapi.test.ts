import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenAPIV3_1 } from 'openapi-types';
import { errorCatalogue, pspAlfredRpc, refuse, type ErrorCode } from '@offramp/contracts';
import { startTestGateway, tokenFor, type TestGateway } from './harness.ts';

type Op = OpenAPIV3_1.OperationObject & { path: string; method: string };
type Schema = OpenAPIV3_1.SchemaObject & Record<string, unknown>;

/** Every field that carries an amount of money on the wire. */
const moneyFields = new Set([
  'amount',
  'fiatAmount',
  'cryptoAmount',
  'available',
  'held',
  'fiat_amount',
  'crypto_amount',
  'min',
  'max',
  'outstanding_amount',
  'moved_amount',
  'limitValue',
  'requested',
  'used',
]);
const decimalPattern = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;

function operationsOf(doc: OpenAPIV3_1.Document): Op[] {
  return Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    Object.entries(item as Record<string, OpenAPIV3_1.OperationObject>).map(([method, op]) => ({ ...op, path, method })),
  );
}

/** Every (name, schema) property in a JSON Schema, however deep (objects, arrays, unions); the properties named in `opaque` are listed but not entered. */
function propertiesOf(
  schema: Schema | undefined,
  out: [string, Schema][] = [],
  opaque: ReadonlySet<string> = new Set(),
): [string, Schema][] {
  if (!schema || typeof schema !== 'object') return out;
  for (const [name, sub] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
    out.push([name, sub]);
    if (!opaque.has(name)) propertiesOf(sub, out, opaque);
  }
  for (const key of ['items', 'additionalProperties'] as const)
    if (typeof schema[key] === 'object') propertiesOf(schema[key] as Schema, out, opaque);
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const)
    for (const sub of (schema[key] as Schema[] | undefined) ?? []) propertiesOf(sub, out, opaque);
  return out;
}

const jsonSchemaOf = (response: unknown) =>
  (response as OpenAPIV3_1.ResponseObject).content?.['application/json']?.schema as Schema | undefined;

/** The error codes a response documents (`error.code`'s enum). */
function errorCodesOf(response: unknown): string[] {
  const error = (jsonSchemaOf(response)?.properties as Record<string, Schema> | undefined)?.error;
  return ((error?.properties as Record<string, Schema> | undefined)?.code?.enum as string[] | undefined) ?? [];
}

describe('the gateway OpenAPI document', () => {
  let gw: TestGateway;
  let doc: OpenAPIV3_1.Document;
  let ops: Op[];
  beforeAll(async () => {
    gw = await startTestGateway();
    doc = (await gw.inject({ url: '/docs/json' })).json();
    ops = operationsOf(doc).filter((op) => op.path !== '/psp/alfred/events');
  });
  afterAll(async () => gw?.cleanup());

  it('when read, then it is OpenAPI 3.1 with servers, tagged operations and the operator routes, exceptions included', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers?.length).toBeGreaterThan(0);
    const listed = ops.map((op) => `${op.method.toUpperCase()} ${op.path}`);
    for (const route of [
      'GET /api/admin/exceptions',
      'GET /api/admin/exceptions/{id}',
      'POST /api/admin/exceptions/{id}/resolve',
      'PUT /api/admin/withdrawals/freeze',
      'POST /api/admin/withdrawals/sync-statuses',
    ]) {
      expect(listed).toContain(route);
    }
    const tagNames = (doc.tags ?? []).map((t) => t.name);
    for (const op of ops) for (const tag of op.tags ?? []) expect(tagNames, `${op.operationId}`).toContain(tag);
  });

  it('when each operation is read, then it has a unique operationId, a summary, security, a 2xx answer with an example, and 4xx answers', () => {
    const ids = ops.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const op of ops) {
      const where = `${op.method} ${op.path}`;
      expect(op.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
      expect(op.summary, where).toBeTruthy();
      expect(op.security, where).toBeDefined();
      const statuses = Object.keys(op.responses ?? {});
      // Besides its one answer, an action under four-eyes may answer 202 with the pending approval,
      // and the partner's create answers a repeated request 200 (its first answer is 201).
      const repeat = op.operationId === 'partnerCreateWithdrawalRequest' ? '200' : '';
      const success = statuses.filter((s) => s.startsWith('2') && s !== '202' && s !== repeat);
      expect(success, where).toHaveLength(1);
      if (statuses.includes('202')) {
        const pending = jsonSchemaOf(op.responses!['202'])?.properties as Record<string, Schema> | undefined;
        expect(Object.keys((pending?.data?.properties as object | undefined) ?? {}), `${where} 202`).toEqual(['approval']);
      }
      expect(
        statuses.some((s) => s.startsWith('4')),
        where,
      ).toBe(true);
      const answer = (op.responses![success[0]!] as OpenAPIV3_1.ResponseObject).content?.['application/json'];
      if (success[0] !== '204') expect(answer?.example ?? answer?.examples, `${where} answer example`).toBeDefined();
      const body = (op.requestBody as OpenAPIV3_1.RequestBodyObject | undefined)?.content?.['application/json'];
      if (body && Object.keys((body.schema as Schema).properties ?? {}).length > 0)
        expect(body.example ?? body.examples, `${where} body example`).toBeDefined();
    }
  });

  it('when the error answers are read, then each status lists its error.code as an enum of catalogue codes of that status', () => {
    // Alfred's BANK_USA refusal keeps Alfred's status, 409 or 422 (docs/api.md).
    const statusesOf = (code: ErrorCode): number[] => (code === 'ALFRED_BANK_USA_UNAVAILABLE' ? [409, 422] : [errorCatalogue[code].status]);
    for (const op of ops) {
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (!/^[45]/.test(status)) continue;
        const codes = errorCodesOf(response);
        expect(codes.length, `${op.operationId} ${status}`).toBeGreaterThan(0);
        for (const code of codes) {
          expect(errorCatalogue, code).toHaveProperty(code);
          expect(statusesOf(code as ErrorCode), `${op.operationId} ${status} ${code}`).toContain(Number(status));
        }
      }
      const trader = op.path.startsWith('/psp/alfred/') && !op.path.includes('/__dev/');
      if (trader) expect(errorCodesOf(op.responses!['401']), op.operationId).toEqual(['UNAUTHORIZED']);
      // A four-eyes decision by the operator who made the request is 403 FOUR_EYES_REQUIRED.
      const decision = /^\/api\/admin\/approvals\/\{id\}\/(confirm|decline)$/.test(op.path);
      if (op.path.startsWith('/api/admin/'))
        expect(errorCodesOf(op.responses!['403']), op.operationId).toEqual(decision ? ['FORBIDDEN', 'FOUR_EYES_REQUIRED'] : ['FORBIDDEN']);
    }
    const codesOf = (id: string) => Object.values(ops.find((op) => op.operationId === id)!.responses!).flatMap(errorCodesOf);
    expect(codesOf('initiateWithdrawal')).toEqual(
      expect.arrayContaining([
        'ALFRED_SESSION_NOT_OWNED',
        'SESSION_NOT_FOUND',
        'SESSION_EXPIRED',
        'INSUFFICIENT_FUNDS',
        'ALFRED_WITHDRAWALS_FROZEN',
      ]),
    );
    expect(codesOf('adminResolveException')).toEqual(
      expect.arrayContaining(['EXCEPTION_NOT_FOUND', 'EXCEPTION_ALREADY_RESOLVED', 'EXCEPTION_RESOLUTION_INVALID']),
    );
    expect(codesOf('listBalances')).not.toContain('VALIDATION_ERROR');
  });

  it('when page and limit are read, then they are integers with their maxima and defaults', () => {
    const paged = ops.filter((op) => (op.parameters as OpenAPIV3_1.ParameterObject[] | undefined)?.some((p) => p.name === 'limit'));
    expect(paged.map((op) => op.operationId).sort()).toEqual([
      'adminListApprovals',
      'adminListExceptions',
      'adminListPartnerDeliveries',
      'adminListPartners',
      'adminListPendingWithdrawals',
      'adminListWithdrawals',
      'listWithdrawals',
    ]);
    for (const op of paged) {
      const param = (name: string) => (op.parameters as OpenAPIV3_1.ParameterObject[]).find((p) => p.name === name)!.schema as Schema;
      expect(param('page')).toMatchObject({ type: 'integer', minimum: 1, maximum: 1_000_000, default: 1 });
      expect(param('limit')).toMatchObject({
        type: 'integer',
        minimum: 1,
        maximum: 100,
        default: op.operationId === 'listWithdrawals' ? 20 : 50,
      });
    }
  });

  it('when the operator actions are read, then a body is optional exactly where the server needs none', () => {
    const required = (id: string) => (ops.find((op) => op.operationId === id)!.requestBody as OpenAPIV3_1.RequestBodyObject).required;
    expect(required('adminApproveWithdrawal')).toBe(false);
    expect(required('adminProcessWithdrawal')).toBe(false);
    expect(required('adminSyncStatuses')).toBe(false);
    for (const id of [
      'adminRejectWithdrawal',
      'adminCompleteWithdrawal',
      'adminOverrideWithdrawalStatus',
      'adminResolveException',
      'adminSetFreeze',
    ])
      expect(required(id), id).toBe(true);
  });

  it("when the operator partner routes are read, then every body and answer field is snake_case (a delivery's payload is the partner's own camelCase body)", () => {
    const partnerOps = ops.filter((op) => op.path.startsWith('/api/admin/partners'));
    expect(partnerOps.length).toBeGreaterThanOrEqual(10);
    const names: string[] = [];
    for (const op of partnerOps) {
      const body = (op.requestBody as OpenAPIV3_1.RequestBodyObject | undefined)?.content?.['application/json']?.schema as
        Schema | undefined;
      const answers = Object.entries(op.responses ?? {}).filter(([status]) => status.startsWith('2'));
      for (const schema of [body, ...answers.map(([, response]) => jsonSchemaOf(response))])
        for (const [name] of propertiesOf(schema, [], new Set(['payload']))) names.push(`${op.operationId} ${name}`);
    }
    expect(names.filter((n) => n.endsWith(' api_key_id') || n.endsWith(' trader_id')).length).toBeGreaterThan(0);
    expect(names.filter((n) => /[A-Z]/.test(n.split(' ')[1]!))).toEqual([]);
  });

  it('when every answer and error detail is walked, then each money field is a string with a decimal pattern, never a number', () => {
    let walked = 0;
    for (const op of ops) {
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        for (const [name, schema] of propertiesOf(jsonSchemaOf(response))) {
          if (!moneyFields.has(name)) continue;
          walked++;
          const where = `${op.operationId} ${status} ${name}`;
          expect(schema.type, where).toBe('string');
          expect(typeof schema.pattern, where).toBe('string');
          const pattern = new RegExp(schema.pattern!);
          for (const good of ['0', '50.00', '20.049116', '5000']) expect(pattern.test(good), `${where} ${good}`).toBe(true);
          for (const bad of ['-1', '1e3', '50.', 'abc', '']) expect(pattern.test(bad), `${where} ${bad}`).toBe(false);
        }
      }
    }
    expect(walked).toBeGreaterThan(40);
    const limitDetails = jsonSchemaOf(ops.find((op) => op.operationId === 'createSession')!.responses!['422']);
    expect(propertiesOf(limitDetails).map(([name]) => name)).toEqual(expect.arrayContaining(['max', 'min', 'limitValue', 'requested']));
  });

  it('when the widget is used, then the real answers carry every amount as a decimal string (and the harness checked each against the document)', async () => {
    const alice = tokenFor('alice');
    const answers = await Promise.all(
      ['/psp/alfred/supported-options', '/psp/alfred/withdrawals', `/psp/alfred/withdrawals/01970000-0000-7000-8000-00000000000a`].map(
        (url) => gw.inject({ url, token: alice }),
      ),
    );
    const quote = await gw.inject({
      method: 'POST',
      url: '/psp/alfred/quote-preview',
      token: alice,
      body: { type: 'withdrawal', amount: 50, source_currency_id: 'BRL' },
    });
    const amounts: unknown[] = [];
    const collect = (value: unknown, key = ''): void => {
      if (Array.isArray(value)) value.forEach((v) => collect(v));
      else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) collect(v, k);
      else if (moneyFields.has(key)) amounts.push(value);
    };
    for (const res of [...answers, quote]) {
      expect(res.statusCode).toBe(200);
      collect(res.json().data);
    }
    expect(amounts.length).toBeGreaterThan(8);
    for (const amount of amounts) expect(typeof amount === 'string' && decimalPattern.test(amount), String(amount)).toBe(true);
  });

  it("when a limit refusal carries Alfred's bounds, then they are decimal strings; a bound as a JSON number would disagree with the document", async () => {
    const body = { type: 'withdrawal', amount: '5000000.00', source_currency_id: 'BRL' };
    gw.fake.answer(pspAlfredRpc.quote, () =>
      refuse('LIMIT_EXCEEDED', 'Amount outside the limits of the payment provider', {
        details: { partnerCode: 111426, currency: 'USDT', max: '50000.000000' },
      }),
    );
    const res = await gw.inject({ method: 'POST', url: '/psp/alfred/quote-preview', token: tokenFor('alice'), body });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.details).toEqual({ partnerCode: 111426, currency: 'USDT', max: '50000.000000' });
    gw.fake.answer(pspAlfredRpc.quote, () =>
      refuse('LIMIT_EXCEEDED', 'Amount outside the limits of the payment provider', { details: { partnerCode: 111426, max: 50000 } }),
    );
    await expect(gw.inject({ method: 'POST', url: '/psp/alfred/quote-preview', token: tokenFor('alice'), body })).rejects.toThrow(
      /error\/details\/max must be string/,
    );
    gw.fake.reset();
  });
});
