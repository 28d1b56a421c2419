import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { basePath } from '../src/app.ts';
import { credentials, readyOfframpOrder, startSandbox } from './harness.ts';

const sandbox = startSandbox();
let baseUrl: string;
beforeAll(async () => {
  await sandbox.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(sandbox.app.server.address() as AddressInfo).port}${basePath}`;
});
beforeEach(() => sandbox.reset());
afterAll(() => sandbox.close());

const quoteBody = { fromCurrency: 'USDT', toCurrency: 'MXN', fromAmount: '100', chain: 'TRON', paymentMethodType: 'BANK' };

/** A real HTTP call over the socket, with a client timeout, as psp-alfred would make it. */
const post = (path: string, body: object, timeoutMs = 5_000) =>
  fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { ...credentials, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });

const readyOrder = async () => (await readyOfframpOrder(sandbox)).order;

describe('faults', () => {
  it('when two errors are armed for /quotes, then the next two quote calls get 500 111301, the third works, and other paths never fail', async () => {
    const armed = await sandbox.emu('POST', '/faults', { mode: 'error', count: 2, pathPrefix: '/quotes' });
    expect(armed.statusCode).toBe(201);
    expect((await sandbox.call('GET', '/allConfigs')).statusCode).toBe(200);
    for (let i = 0; i < 2; i++) {
      const res = await sandbox.call('POST', '/quotes', quoteBody);
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ errorCode: 111301, errorMessage: 'Internal server error' });
    }
    expect(sandbox.state.quotes.size).toBe(0);
    expect((await sandbox.call('POST', '/quotes', quoteBody)).statusCode).toBe(201);
    const log = (await sandbox.emu('GET', '/requests?method=post&pathPrefix=/quotes')).json().requests;
    expect(log.map((r: { statusCode: number; fault: string | null }) => [r.statusCode, r.fault])).toEqual([
      [500, 'error'],
      [500, 'error'],
      [201, null],
    ]);
    expect((await sandbox.emu('GET', '/faults')).json().faults).toEqual([]);
  });

  it('when a fault is armed without a path, then it hits any partner call, even an unauthenticated one', async () => {
    await sandbox.emu('POST', '/faults', { mode: 'error', count: 1 });
    const res = await sandbox.app.inject({ method: 'GET', url: `${basePath}/allConfigs` });
    expect(res.statusCode).toBe(500);
    expect((await sandbox.call('GET', '/allConfigs')).statusCode).toBe(200);
  });

  it('when a slow fault is armed, then the call answers normally after the delay', async () => {
    await sandbox.emu('POST', '/faults', { mode: 'slow', count: 1, delayMs: 150 });
    const started = Date.now();
    const res = await post('/quotes', quoteBody);
    expect(res.status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(sandbox.state.quotes.size).toBe(1);
  });

  it('when a timeout is armed, then the client gives up, nothing was done, and reset releases the held request', async () => {
    const order = await readyOrder();
    await sandbox.emu('POST', '/faults', { mode: 'timeout', count: 1, pathPrefix: '/offramp' });
    await expect(post('/offramp', order, 200)).rejects.toThrow(/timeout|aborted/i);
    expect(sandbox.state.offramps.size).toBe(0);
    const held = sandbox.state.requests.find((r) => r.path.endsWith('/offramp'));
    expect(held).toMatchObject({ fault: 'timeout', statusCode: null });
    await sandbox.emu('POST', '/reset');
    await expect.poll(() => held?.statusCode).toBe(500);
  });

  it('when a timeout after effect is armed, then the order exists although the client never got the answer', async () => {
    const order = await readyOrder();
    await sandbox.emu('POST', '/faults', { mode: 'timeout', count: 1, pathPrefix: '/offramp', afterEffect: true });
    await expect(post('/offramp', order, 200)).rejects.toThrow(/timeout|aborted/i);
    const found = await sandbox.call('GET', `/offramp?customerId=${order.customerId}&quoteId=${order.quoteId}`);
    expect(found.json()).toHaveLength(1);
    expect(found.json()[0]).toMatchObject({ status: 'CREATED', quoteId: order.quoteId });
    const retry = await sandbox.call('POST', '/offramp', order);
    expect(retry.json()).toMatchObject({ errorCode: 111302, errorMetadata: { reason: 'used' } });
  });

  it('when armed faults are cleared, then calls work again', async () => {
    await sandbox.emu('POST', '/faults', { mode: 'error', count: 5 });
    expect((await sandbox.emu('GET', '/faults')).json().faults).toMatchObject([{ mode: 'error', remaining: 5, pathPrefix: null }]);
    expect((await sandbox.emu('DELETE', '/faults')).statusCode).toBe(204);
    expect((await sandbox.call('GET', '/allConfigs')).statusCode).toBe(200);
    expect((await sandbox.emu('POST', '/faults', { mode: 'explode', count: 0 })).json().errorMetadata.fields).toEqual(['mode', 'count']);
  });
});
