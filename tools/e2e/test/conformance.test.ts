import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openApiChecker, type OpenApiAnswer } from '@offramp/kit/testing-openapi';
import type { OpenAPIV3_1 } from 'openapi-types';
import { assertConforms } from './conformance.ts';

/**
 * The check that `startSystem`'s `http()` (and its typed client) runs on every exchange with the
 * gateway, fed deliberately wrong exchanges. The committed document is the served one
 * (`tools/openapi/test/openapi.test.ts` keeps them equal), so no system is needed here.
 */
const document = JSON.parse(readFileSync(new URL('../../../docs/openapi/gateway.json', import.meta.url), 'utf8')) as OpenAPIV3_1.Document;
const check = openApiChecker(document);
const json = (statusCode: number, body: unknown): OpenApiAnswer => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: JSON.stringify(body),
});
const traceId = '0197a3c2-5f7e-7c3a-9d41-2b6f0e8a1c55';
const withdrawalId = '0197a3c2-0000-7000-8000-0000000000a1';
const exchange = (method: string, url: string, answer: OpenApiAnswer, body?: unknown) => () =>
  assertConforms(check, method, url, answer, body === undefined ? {} : { body });
const validationError = json(400, {
  success: false,
  error: { code: 'VALIDATION_ERROR', message: 'Invalid request', details: { fields: [{ field: 'data.amount', message: 'Required' }] } },
  trace_id: traceId,
});
const sessionBody = {
  data: {
    type: 'withdrawal',
    amount: '100.00',
    source_currency_id: 'BRL',
    payment_route_id: 'BR_PIX',
    wallet_id: 'MAIN',
    fiat_account_id: 'fa-1',
  },
};

describe('conformance of exchanges with the served OpenAPI document', () => {
  it('when an answer is what the document says, then it passes', () => {
    expect(
      exchange(
        'GET',
        '/psp/alfred/balances',
        json(200, { success: true, data: [{ currency: 'USDT', available: '979.950884', held: '20.049116' }], trace_id: traceId }),
      ),
    ).not.toThrow();
  });

  it('when a fixture answers `available` as a JSON number, then the check fails naming the method, path, status and the field', () => {
    const wrong = json(200, { success: true, data: [{ currency: 'USDT', available: 979.950884, held: '20.049116' }], trace_id: traceId });
    expect(exchange('GET', '/psp/alfred/balances', wrong)).toThrow(
      /^GET \/psp\/alfred\/balances -> 200 disagrees with the gateway's OpenAPI document \(\/docs\/json\):\nGET \/psp\/alfred\/balances answered 200: the answer does not match the document: body\/data\/0\/available must be string; body /,
    );
  });

  it('when a fixture leaves out a required field of a withdrawal, then the check fails naming it', () => {
    const example = (document.paths!['/psp/alfred/withdrawals/{id}']!.get!.responses!['200'] as OpenAPIV3_1.ResponseObject).content![
      'application/json'
    ]!.example as { data: Record<string, unknown> };
    expect(exchange('GET', `/psp/alfred/withdrawals/${withdrawalId}`, json(200, example))).not.toThrow();
    const { status: _left, ...withoutStatus } = example.data;
    expect(exchange('GET', `/psp/alfred/withdrawals/${withdrawalId}`, json(200, { ...example, data: withoutStatus }))).toThrow(
      "GET /psp/alfred/withdrawals/{id} answered 200: the answer does not match the document: body/data must have required property 'status'",
    );
  });

  it('when the status or the error code is not one the operation documents, then the check fails listing what is documented', () => {
    expect(
      exchange(
        'GET',
        '/psp/alfred/balances',
        json(418, { success: false, error: { code: 'INTERNAL_ERROR', message: 'teapot' }, trace_id: traceId }),
      ),
    ).toThrow('GET /psp/alfred/balances answered 418: status 418 is not documented (documented: 200, 401, 429, 500, 503)');
    expect(
      exchange(
        'POST',
        '/psp/alfred/initiate-withdrawal',
        json(409, { success: false, error: { code: 'NOT_A_CATALOGUE_CODE', message: 'no' }, trace_id: traceId }),
        { session_id: withdrawalId },
      ),
    ).toThrow(
      /POST \/psp\/alfred\/initiate-withdrawal answered 409: the answer does not match the document: body\/error\/code must be equal to one of the allowed values/,
    );
    expect(exchange('GET', '/psp/alfred/balances', { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: '[]' })).toThrow(
      'content-type text/plain where the document says application/json',
    );
  });

  it('when the gateway accepts a request the document does not allow, then the check fails; the same request answered 400 passes (a test of a 400 sends it on purpose)', () => {
    const { amount: _amount, ...withoutAmount } = sessionBody.data;
    const created = json(201, { success: true, data: {}, trace_id: traceId });
    expect(exchange('POST', '/psp/alfred/session', created, { data: withoutAmount })).toThrow(
      /the request does not match the document: body\/data must have required property 'amount'/,
    );
    expect(exchange('POST', '/psp/alfred/session', validationError, { data: withoutAmount })).not.toThrow();

    const page = (limit: string, answer: OpenApiAnswer) => exchange('GET', `/psp/alfred/withdrawals?page=1&limit=${limit}`, answer);
    const listed = json(200, { success: true, data: { withdrawals: [], total: 0, page: 1, limit: 100 }, trace_id: traceId });
    expect(page('100', listed)).not.toThrow();
    expect(page('1000', listed)).toThrow('the request does not match the document: query parameter limit="1000": limit must be <= 100');
    expect(page('1000', validationError)).not.toThrow();
    expect(exchange('GET', '/psp/alfred/withdrawals?colour=red', listed)).toThrow('query parameter colour is not in the document');
    expect(
      exchange(
        'GET',
        '/psp/alfred/withdrawals/not-a-uuid',
        json(404, { success: false, error: { code: 'WITHDRAWAL_NOT_FOUND', message: 'x' }, trace_id: traceId }),
      ),
    ).toThrow(/path parameter id="not-a-uuid": id must match pattern/);
  });

  it('when a request under the API prefixes is no documented operation, then it fails unless the gateway answered 404', () => {
    const ok = json(200, { success: true, data: {}, trace_id: traceId });
    expect(exchange('POST', '/psp/alfred/balances', ok)).toThrow(
      'POST /psp/alfred/balances answered 200, but the document has no such operation',
    );
    expect(
      exchange(
        'GET',
        '/psp/alfred/no-such-route',
        json(404, { success: false, error: { code: 'NOT_FOUND', message: 'x' }, trace_id: traceId }),
      ),
    ).not.toThrow();
    // Outside the API (health, metrics, the pages) nothing is checked.
    expect(exchange('GET', '/readyz', ok)).not.toThrow();
  });
});
