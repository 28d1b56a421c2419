import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '@offramp/kit/testing';
import { backoffMs } from '../src/webhooks/dispatcher.ts';
import { startReceiver, readyOfframpOrder, startSandbox, type WebhookReceiver } from './harness.ts';

const secret = 'whsec-test';
const sandbox = startSandbox({ settings: { webhookSecret: secret, webhookRetryBaseDelayMs: 20 } });
let receiver: WebhookReceiver;

beforeEach(async () => {
  sandbox.reset();
  receiver = await startReceiver();
  await sandbox.emu('PUT', '/config', { webhookUrl: receiver.url });
});
afterEach(() => receiver.close());
afterAll(() => sandbox.close());

/** A created offramp, through the partner API, for a verified MX customer with a SPEI account. */
async function newOfframp(): Promise<string> {
  const { order } = await readyOfframpOrder(sandbox);
  await sandbox.webhooks.idle();
  receiver.received.length = 0;
  return (await sandbox.call('POST', '/offramp', order)).json().transactionId;
}

const parseSignature = (header: string | string[] | undefined) => {
  const match = /^t=(\d+),s=([0-9a-f]{64})$/.exec(String(header));
  if (!match) throw new Error(`malformed signature header ${String(header)}`);
  return { t: match[1]!, s: match[2]! };
};
const hmac = (text: string) => createHmac('sha256', secret).update(text).digest('hex');
const statusesReceived = () => receiver.received.map((r) => JSON.parse(r.rawBody).status);

describe('webhooks', () => {
  it('when a webhook is sent, then its signature is HMAC-SHA256 of t.rawBody with the secret, and t is now', async () => {
    const transactionId = await newOfframp();
    await sandbox.call('POST', '/webhooks', {
      referenceId: transactionId,
      eventType: 'OFFRAMP',
      status: 'ON_CHAIN_DEPOSIT_RECEIVED',
      metadata: { txHash: 'abc' },
    });
    await sandbox.webhooks.idle();
    const [hook] = receiver.received;
    const { t, s } = parseSignature(hook?.headers.signature);
    expect(s).toBe(hmac(`${t}.${hook!.rawBody}`));
    expect(Math.abs(Number(t) - Date.now() / 1000)).toBeLessThan(5);
    expect(hook!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(hook!.rawBody)).toEqual({
      referenceId: transactionId,
      eventType: 'OFFRAMP',
      status: 'ON_CHAIN_DEPOSIT_RECEIVED',
      metadata: { txHash: 'abc' },
    });
  });

  it('when the signature format is switched to concat, then t + rawBody is signed', async () => {
    await sandbox.emu('PUT', '/config', { signatureFormat: 'concat' });
    const transactionId = await newOfframp();
    await sandbox.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'failure' });
    await sandbox.webhooks.idle();
    const { t, s } = parseSignature(receiver.received[0]?.headers.signature);
    expect(s).toBe(hmac(`${t}${receiver.received[0]!.rawBody}`));
    expect(s).not.toBe(hmac(`${t}.${receiver.received[0]!.rawBody}`));
  });

  it('when the receiver answers 500 twice, then the third attempt delivers it after growing delays, and the log shows all three', async () => {
    const transactionId = await newOfframp();
    receiver.answers.push(500, 500);
    await sandbox.call('POST', '/webhooks', {
      referenceId: transactionId,
      eventType: 'OFFRAMP',
      status: 'ON_CHAIN_DEPOSIT_RECEIVED',
      metadata: null,
    });
    await sandbox.webhooks.idle();
    const { deliveries } = (await sandbox.emu('GET', `/webhooks?referenceId=${transactionId}`)).json();
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ state: 'delivered', delivered: true, url: receiver.url });
    expect(deliveries[0].attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 500, 200]);
    const [first, second, third] = receiver.received.map((r) => r.at);
    expect(second! - first!).toBeGreaterThanOrEqual(18);
    expect(third! - second!).toBeGreaterThanOrEqual(38);
    expect(new Set(receiver.received.map((r) => r.rawBody)).size).toBe(1);
  });

  it('when the receiver never accepts, then it is tried eleven times (ten retries) and marked failed', async () => {
    await sandbox.emu('PUT', '/config', { webhookRetryBaseDelayMs: 1 });
    const transactionId = await newOfframp();
    receiver.answers.push(...Array.from({ length: 20 }, () => 503));
    await sandbox.call('POST', '/webhooks', {
      referenceId: transactionId,
      eventType: 'OFFRAMP',
      status: 'FAILED',
      metadata: { failureReason: 'X' },
    });
    await sandbox.webhooks.idle();
    const [delivery] = sandbox.state.deliveries.filter((d) => d.body.referenceId === transactionId);
    expect(delivery).toMatchObject({ state: 'failed', delivered: false });
    expect(delivery!.attempts).toHaveLength(11);
    expect(receiver.received).toHaveLength(11);
    expect(backoffMs(1_000, 11)).toBe(512_000);
  });

  it('when the receiver is unreachable, then network errors are retried and logged', async () => {
    const closed = await startReceiver();
    await closed.close();
    await sandbox.emu('PUT', '/config', { webhookUrl: closed.url, webhookMaxAttempts: 3 });
    const transactionId = await newOfframp();
    await sandbox.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'failure' });
    await sandbox.webhooks.idle();
    const [delivery] = sandbox.state.deliveries.filter((d) => d.body.referenceId === transactionId);
    expect(delivery?.state).toBe('failed');
    expect(delivery?.attempts.map((a) => [a.statusCode, typeof a.error])).toEqual([
      [null, 'string'],
      [null, 'string'],
      [null, 'string'],
    ]);
  });

  it('when an early event is being retried, then later events of the same offramp wait and arrive in order', async () => {
    const transactionId = await newOfframp();
    receiver.answers.push(500, 500);
    await sandbox.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'success' });
    await sandbox.webhooks.idle();
    expect(statusesReceived()).toEqual([
      'ON_CHAIN_DEPOSIT_RECEIVED',
      'ON_CHAIN_DEPOSIT_RECEIVED',
      'ON_CHAIN_DEPOSIT_RECEIVED',
      'TRADE_COMPLETED',
      'FIAT_TRANSFER_INITIATED',
      'FIAT_TRANSFER_COMPLETED',
    ]);
  });

  it('when the current status is posted again, then the same webhook is delivered twice', async () => {
    const transactionId = await newOfframp();
    const event = { referenceId: transactionId, eventType: 'OFFRAMP', status: 'TRADE_COMPLETED', metadata: null };
    await sandbox.call('POST', '/webhooks', event);
    await sandbox.call('POST', '/webhooks', event);
    await sandbox.webhooks.idle();
    const delivered = { ...event, metadata: {} };
    expect(receiver.received.map((r) => JSON.parse(r.rawBody))).toEqual([delivered, delivered]);
  });

  it('when delivery is off, then nothing is sent and the log says why', async () => {
    await sandbox.emu('PUT', '/config', { webhookDelivery: false });
    const transactionId = await newOfframp();
    await sandbox.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'success' });
    await sandbox.webhooks.idle();
    expect(receiver.received).toEqual([]);
    const deliveries = sandbox.state.deliveries.filter((d) => d.body.referenceId === transactionId);
    expect(deliveries).toHaveLength(4);
    expect(deliveries.every((d) => d.state === 'skipped' && d.skippedBecause === 'webhook delivery is off')).toBe(true);
  });

  it('when an offramp is walked, then its four webhooks go out on one kept-alive connection', async () => {
    const transactionId = await newOfframp();
    await sandbox.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'success' });
    await sandbox.webhooks.idle();
    expect(statusesReceived()).toEqual([
      'ON_CHAIN_DEPOSIT_RECEIVED',
      'TRADE_COMPLETED',
      'FIAT_TRANSFER_INITIATED',
      'FIAT_TRANSFER_COMPLETED',
    ]);
    expect(new Set(receiver.received.map((r) => r.remotePort)).size).toBe(1);
  });

  it('when the receiver does not answer within webhookTimeoutMs, then the attempt fails with an error and the next one delivers it', async () => {
    // Holds the first request without answering; answers the next at once.
    let requests = 0;
    const slow = createServer((req, res) => {
      requests++;
      req.resume();
      if (requests > 1) req.on('end', () => res.writeHead(200).end('{}'));
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const transactionId = await newOfframp();
      await sandbox.emu('PUT', '/config', {
        webhookUrl: `http://127.0.0.1:${(slow.address() as AddressInfo).port}/`,
        webhookTimeoutMs: 200,
      });
      await sandbox.call('POST', '/webhooks', { referenceId: transactionId, eventType: 'OFFRAMP', status: 'TRADE_COMPLETED' });
      await sandbox.webhooks.idle();
      const [delivery] = sandbox.state.deliveries.filter((d) => d.body.referenceId === transactionId);
      expect(delivery).toMatchObject({ state: 'delivered', delivered: true });
      expect(delivery!.attempts.map((a) => [a.statusCode, typeof a.error])).toEqual([
        [null, 'string'],
        [200, 'object'],
      ]);
    } finally {
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(resolve));
    }
  });

  it('when the emulator is reset during retries, then the retries stop', async () => {
    await sandbox.emu('PUT', '/config', { webhookRetryBaseDelayMs: 60_000 });
    const transactionId = await newOfframp();
    receiver.answers.push(500);
    await sandbox.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'success' });
    await eventually('the first attempt', () => receiver.received.length === 1);
    const pending = sandbox.state.deliveries.filter((d) => d.body.referenceId === transactionId);
    await sandbox.emu('POST', '/reset');
    await sandbox.webhooks.idle();
    expect(pending.map((d) => d.state)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    expect(receiver.received).toHaveLength(1);
    expect(sandbox.state.deliveries).toEqual([]);
  });
});
