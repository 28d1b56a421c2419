import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeader } from '@offramp/alfred-sandbox';
import { pspAlfredOpenApiDocument } from '../src/app.ts';
import { startTestPspAlfred, webhookSecret, type TestPspAlfred } from './harness.ts';

describe("psp-alfred's OpenAPI document", () => {
  let t: TestPspAlfred;
  beforeAll(async () => {
    t = await startTestPspAlfred();
  });
  afterAll(async () => t?.cleanup());

  it('when /docs/json is asked, then it documents the signed webhook: body, signature header, 200 and the 400/401 envelopes; built without infrastructure it is the same', async () => {
    const res = await t.app.http.app.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    const op = doc.paths['/psp/alfred/webhook'].post;
    expect(op).toMatchObject({ operationId: 'receiveAlfredWebhook', security: [] });
    expect(op.parameters).toEqual([expect.objectContaining({ in: 'header', name: 'signature', required: true })]);
    expect(op.requestBody.content['application/json'].schema.required).toEqual(['referenceId', 'eventType', 'status']);
    expect(Object.keys(op.responses)).toEqual(['200', '400', '401', '500', '503']);
    expect(op.responses['401'].content['application/json'].schema.properties.error.properties.code.enum).toEqual(['UNAUTHORIZED']);
    expect(doc).toEqual(await pspAlfredOpenApiDocument());
  });

  it('when a signed event and a bad signature arrive, then the answers are the documented ones', async () => {
    const body = JSON.stringify({ referenceId: `kyc-${Date.now()}`, eventType: 'KYC', status: 'IN_REVIEW', metadata: {} });
    const post = (signature: string) =>
      t.app.http.app.inject({
        method: 'POST',
        url: '/psp/alfred/webhook',
        headers: { 'content-type': 'application/json', signature },
        payload: body,
      });
    const ok = await post(signatureHeader(webhookSecret, body, Math.floor(Date.now() / 1000), 'dot'));
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({
      success: true,
      data: { received: true, outcome: expect.stringMatching(/^(applied|duplicate|unknown_reference|stale|ignored)$/) },
    });
    const refused = await post(`t=${Math.floor(Date.now() / 1000)},s=${'0'.repeat(64)}`);
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    expect(refused.json()).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' } });
  });
});
