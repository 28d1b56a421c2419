import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { signatureHeader } from '@offramp/alfred-sandbox';
import { pspAlfredEvents } from '@offramp/contracts';
import { z } from 'zod';
import { startTestPspAlfred, webhookSecret, type TestPspAlfred } from './harness.ts';

let t: TestPspAlfred;
beforeAll(async () => {
  t = await startTestPspAlfred();
});
afterAll(async () => {
  await t.cleanup();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

async function post(body: string, signature: string | null) {
  return t.app.http.app.inject({
    method: 'POST',
    url: '/psp/alfred/webhook',
    headers: { 'content-type': 'application/json', ...(signature === null ? {} : { signature }) },
    payload: body,
  });
}

const signed = (body: string, at = nowSeconds(), format: 'dot' | 'concat' = 'dot', secret = webhookSecret) =>
  post(body, signatureHeader(secret, body, at, format));

const stored = async (referenceId: string) =>
  t.rows(
    z.object({ status: z.string(), source: z.string(), outcome: z.string(), duplicates: z.number(), raw_body: z.string() }),
    'select status, source, outcome, duplicates, raw_body from partner_events where reference_id = ?',
    [referenceId],
  );
const statusEvents = async (transactionId: string) =>
  (await t.outboxEvents(pspAlfredEvents.offrampStatusChanged.subject)).filter((e) => e.transactionId === transactionId);

describe('Alfred webhook', () => {
  it('when the signature is wrong, then 401 with the error envelope and nothing is stored', async () => {
    const { transactionId } = await t.knownOrder();
    const body = JSON.stringify({ referenceId: transactionId, eventType: 'OFFRAMP', status: 'ON_CHAIN_DEPOSIT_RECEIVED', metadata: {} });
    const res = await signed(body, nowSeconds(), 'dot', 'not-the-secret');
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' }, trace_id: expect.any(String) });
    expect((await post(body, null)).statusCode).toBe(401);
    expect((await post(body, 't=abc,s=def')).statusCode).toBe(401);
    expect(await stored(transactionId)).toEqual([]);
    expect(await statusEvents(transactionId)).toEqual([]);
  });

  it('when the signature is older than five minutes, then 401 and nothing is stored', async () => {
    const { transactionId } = await t.knownOrder();
    const body = JSON.stringify({ referenceId: transactionId, eventType: 'OFFRAMP', status: 'TRADE_COMPLETED', metadata: {} });
    const res = await signed(body, nowSeconds() - 301);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toMatch(/time window/);
    expect((await signed(body, nowSeconds() + 301)).statusCode).toBe(401);
    expect(await stored(transactionId)).toEqual([]);
  });

  it('when the body is malformed but signed, then 400 and nothing is stored', async () => {
    const count = async () => Number((await t.rows(z.object({ n: z.string() }), 'select count(*) as n from partner_events'))[0]!.n);
    const before = await count();
    const res = await signed('{"referenceId": 12');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR' } });
    const missing = await signed(JSON.stringify({ eventType: 'OFFRAMP', status: 'FAILED' }));
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.details).toEqual({ fields: ['referenceId'] });
    expect(await count()).toBe(before);
  });

  it('when the same webhook arrives five times, then each is answered 200, stored once and one event is published', async () => {
    const { withdrawalId, transactionId } = await t.knownOrder();
    const body = JSON.stringify({
      referenceId: transactionId,
      eventType: 'OFFRAMP',
      status: 'FAILED',
      metadata: { failureReason: 'BANK_REJECTED' },
    });
    const answers = await Promise.all(Array.from({ length: 5 }, () => signed(body)));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(answers.map((a) => a.json().data.outcome).sort()).toEqual(['applied', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(await stored(transactionId)).toEqual([
      { status: 'FAILED', source: 'webhook', outcome: 'applied', duplicates: 4, raw_body: body },
    ]);
    expect(await statusEvents(transactionId)).toEqual([
      { withdrawalId, transactionId, status: 'FAILED', failureReason: 'BANK_REJECTED', source: 'webhook' },
    ]);
    const [row] = await t.rows(
      z.object({ alfred_status: z.string(), failure_reason: z.string() }),
      'select alfred_status, failure_reason from offramps where withdrawal_id = ?',
      [withdrawalId],
    );
    expect(row).toEqual({ alfred_status: 'FAILED', failure_reason: 'BANK_REJECTED' });
  });

  it('when statuses arrive out of order, then each is published once and the mirror never goes back', async () => {
    const { withdrawalId, transactionId } = await t.knownOrder();
    for (const status of ['FIAT_TRANSFER_COMPLETED', 'TRADE_COMPLETED', 'FAILED']) {
      const res = await signed(JSON.stringify({ referenceId: transactionId, eventType: 'OFFRAMP', status, metadata: null }));
      expect(res.statusCode).toBe(200);
    }
    expect((await statusEvents(transactionId)).map((e) => e.status)).toEqual(['FIAT_TRANSFER_COMPLETED', 'TRADE_COMPLETED', 'FAILED']);
    const [row] = await t.rows(z.object({ alfred_status: z.string() }), 'select alfred_status from offramps where withdrawal_id = ?', [
      withdrawalId,
    ]);
    expect(row).toEqual({ alfred_status: 'FIAT_TRANSFER_COMPLETED' });
  });

  it('when the reference is unknown, then 200, stored, and no event', async () => {
    const referenceId = randomUUID();
    const res = await signed(JSON.stringify({ referenceId, eventType: 'OFFRAMP', status: 'TRADE_COMPLETED', metadata: {} }));
    expect(res.statusCode).toBe(200);
    expect(await stored(referenceId)).toMatchObject([{ outcome: 'unknown_reference' }]);
    expect(await statusEvents(referenceId)).toEqual([]);
  });

  it('when Alfred signs t + body and psp-alfred is configured for it, then the webhook is accepted', async () => {
    const other = await startTestPspAlfred({ env: { ALFRED_WEBHOOK_SIGNATURE_FORMAT: 'concat' } });
    try {
      const body = JSON.stringify({ referenceId: randomUUID(), eventType: 'KYC', status: 'COMPLETED', metadata: {} });
      const inject = (format: 'dot' | 'concat') =>
        other.app.http.app.inject({
          method: 'POST',
          url: '/psp/alfred/webhook',
          headers: { 'content-type': 'application/json', signature: signatureHeader(webhookSecret, body, nowSeconds(), format) },
          payload: body,
        });
      expect((await inject('dot')).statusCode).toBe(401);
      expect((await inject('concat')).statusCode).toBe(200);
    } finally {
      await other.cleanup();
    }
  });

  it('when the sandbox sends a webhook to the webhook port, then it is verified and stored', async () => {
    const { transactionId } = await t.knownOrder();
    const body = JSON.stringify({
      referenceId: transactionId,
      eventType: 'OFFRAMP',
      status: 'ON_CHAIN_DEPOSIT_RECEIVED',
      metadata: { txHash: 'abc123' },
    });
    const res = await fetch(t.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', signature: signatureHeader(webhookSecret, body, nowSeconds(), 'dot') },
      body,
    });
    expect(res.status).toBe(200);
    expect(await stored(transactionId)).toMatchObject([{ status: 'ON_CHAIN_DEPOSIT_RECEIVED', outcome: 'applied' }]);
    const [row] = await t.rows(z.object({ deposit_tx_hash: z.string() }), 'select deposit_tx_hash from offramps where transaction_id = ?', [
      transactionId,
    ]);
    expect(row).toEqual({ deposit_tx_hash: 'abc123' });
  });
});
