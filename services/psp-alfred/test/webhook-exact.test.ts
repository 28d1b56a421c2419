import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { signatureHeader } from '@offramp/alfred-sandbox';
import { z } from 'zod';
import { parseExactJson } from '@offramp/kit';
import { parseWebhookJson } from '../src/webhooks/webhook-route.ts';
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

  it('when a signed body carries __proto__ spelt with escapes, then 400 and nothing is stored', async () => {
    const before = await count();
    const res = await signed(
      `{"referenceId":"${randomUUID()}","eventType":"OFFRAMP","status":"TRADE_COMPLETED","metadata":{"\\u005f_proto__":{"x":1}}}`,
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_ERROR');
    expect(await count()).toBe(before);
  });

  it('when bodies are parsed the quick way where they can be, then every answer and every refusal is the one of the exact parse', () => {
    const bodies = [
      '{"referenceId":"r","eventType":"OFFRAMP","status":"TRADE_COMPLETED","metadata":{"txHash":"0xab","toAmount":"800.00"}}',
      '{"referenceId":"r","eventType":"OFFRAMP","status":"FAILED","metadata":null}',
      '{"a":[[],[{"b":[true,false,null,"1"]}]]}',
      '{"a":1.5,"b":[2]}',
      '{"a":{"b":[9007199254740993]}}',
      '{"a":0.1}',
      '{"a":"\\u005f_proto__"}',
      '{"\\u005f_proto__":{"x":1}}',
      '{"__proto__":{"x":1}}',
      '{"constructor":{"prototype":{"x":1}}}',
      '{"constructor":"fine"}',
      '{"a":',
      '',
      'null',
    ];
    const outcome = (parse: (text: string) => unknown, text: string) => {
      try {
        return { value: parse(text) };
      } catch (err) {
        return { error: { message: (err as Error).message, details: (err as { details?: unknown }).details } };
      }
    };
    for (const body of bodies) expect(outcome(parseWebhookJson, body), body).toEqual(outcome(parseExactJson, body));
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
