import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { signatureHeader } from '@offramp/alfred-sandbox';
import { z } from 'zod';
import { startTestPspAlfred, webhookSecret, type TestPspAlfred } from './harness.ts';

let t: TestPspAlfred;
beforeAll(async () => {
  t = await startTestPspAlfred();
});
afterAll(async () => {
  await t.cleanup();
});

/** A webhook signed as Alfred signs it, over exactly these bytes. */
const signed = (body: string) =>
  t.app.http.app.inject({
    method: 'POST',
    url: '/psp/alfred/webhook',
    headers: { 'content-type': 'application/json', signature: signatureHeader(webhookSecret, body, Math.floor(Date.now() / 1000), 'dot') },
    payload: body,
  });

const count = async () => Number((await t.rows(z.object({ n: z.string() }), 'select count(*) as n from partner_events'))[0]!.n);

describe('Alfred webhook: exact numbers', () => {
  it('when a signed body holds 2^53 + 1, then 400 VALIDATION_ERROR names the field and nothing is stored', async () => {
    const before = await count();
    const body = `{"referenceId":"${randomUUID()}","eventType":"OFFRAMP","status":"TRADE_COMPLETED","metadata":{"fiatAmount":9007199254740993}}`;
    const res = await signed(body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR', message: expect.stringMatching(/exactly/) } });
    expect(res.json().error.details).toEqual({ fields: ['metadata.fiatAmount'] });
    expect(await count()).toBe(before);
  });

  it('when a signed body carries __proto__, then 400 and nothing is stored', async () => {
    const before = await count();
    const res = await signed(
      `{"referenceId":"${randomUUID()}","eventType":"OFFRAMP","status":"TRADE_COMPLETED","metadata":{"__proto__":{"x":1}}}`,
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_ERROR');
    expect(await count()).toBe(before);
  });
});
