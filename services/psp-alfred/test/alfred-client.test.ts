import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decimalToMinor, pspAlfredRpc } from '@offramp/contracts';
import { testLogger } from '@offramp/kit/testing';
import { AlfredUnavailable, createAlfredClient } from '../src/alfred/client.ts';
import { createAlfredTransport } from '../src/alfred/transport.ts';
import { expectOk, startTestPspAlfred, type TestPspAlfred } from './harness.ts';

let t: TestPspAlfred;
beforeAll(async () => {
  t = await startTestPspAlfred();
});
afterAll(async () => {
  await t.cleanup();
});

/** A client with a breaker of its own, so that one test's failures do not open another's. */
function freshClient(opts: { apiSecret?: string } = {}) {
  return createAlfredClient(
    createAlfredTransport({
      baseUrl: t.config.ALFRED_BASE_URL,
      apiKey: t.config.ALFRED_API_KEY,
      apiSecret: opts.apiSecret ?? t.config.ALFRED_API_SECRET,
      timeoutMs: 1_000,
      getRetries: 2,
      breaker: { resetMs: 60_000, errorPercent: 50, volume: 3, windowMs: 10_000 },
      log: testLogger('alfred-client'),
    }),
  );
}

const unknownOrder = '00000000-0000-4000-8000-000000000000';

describe('Alfred client', () => {
  it('when Alfred refuses with 4xx, then the refusal is returned and the breaker stays closed', async () => {
    const client = freshClient();
    try {
      for (let i = 0; i < 6; i++) {
        const answer = await client.getOfframp(unknownOrder);
        expect(answer).toMatchObject({ ok: false, status: 404, error: { errorCode: 111404 } });
      }
      expect(client.breakerState()).toBe('closed');
    } finally {
      client.close();
    }
  });

  it('when a GET meets a 5xx, then it is retried and the answer after it is returned', async () => {
    const client = freshClient();
    try {
      const before = (await t.partnerCalls('GET', `/offramp/${unknownOrder}`)).length;
      await t.emu('POST', '/faults', { mode: 'error', count: 1, pathPrefix: `/offramp/${unknownOrder}` });
      expect(await client.getOfframp(unknownOrder)).toMatchObject({ ok: false, status: 404 });
      expect(await t.partnerCalls('GET', `/offramp/${unknownOrder}`)).toHaveLength(before + 2);
    } finally {
      client.close();
    }
  });

  it('when a POST meets a 5xx, then it is not retried and the caller learns Alfred is unavailable', async () => {
    const client = freshClient();
    try {
      const before = (await t.partnerCalls('POST', '/quotes')).length;
      await t.emu('POST', '/faults', { mode: 'error', count: 1, pathPrefix: '/quotes' });
      const attempt = client.createQuote({ toCurrency: 'MXN', toAmount: '800.00', chain: 'TRON', customerId: unknownOrder });
      await expect(attempt).rejects.toBeInstanceOf(AlfredUnavailable);
      await expect(attempt).rejects.toMatchObject({ reason: 'server_error', status: 500 });
      expect(await t.partnerCalls('POST', '/quotes')).toHaveLength(before + 1);
    } finally {
      client.close();
    }
  });

  it('when calls keep timing out, then the breaker opens and later calls fail fast without reaching Alfred', async () => {
    const client = freshClient();
    try {
      await t.emu('POST', '/faults', { mode: 'timeout', count: 3, pathPrefix: '/quotes', delayMs: 2_000 });
      for (let i = 0; i < 3; i++) {
        await expect(
          client.createQuote({ toCurrency: 'MXN', toAmount: '800.00', chain: 'TRON', customerId: unknownOrder }),
        ).rejects.toMatchObject({ reason: 'timeout' });
      }
      expect(client.breakerState()).toBe('open');
      const before = (await t.partnerCalls('POST', '/quotes')).length;
      await expect(
        client.createQuote({ toCurrency: 'MXN', toAmount: '800.00', chain: 'TRON', customerId: unknownOrder }),
      ).rejects.toMatchObject({ reason: 'breaker_open' });
      expect(await t.partnerCalls('POST', '/quotes')).toHaveLength(before);
    } finally {
      client.close();
    }
  });

  it('when the credentials are wrong, then Alfred answers 401 and nothing is retried', async () => {
    const client = freshClient({ apiSecret: 'wrong' });
    try {
      expect(await client.getOfframp(unknownOrder)).toMatchObject({ ok: false, status: 401, error: { errorCode: 111305 } });
    } finally {
      client.close();
    }
  });
});

describe('quote', () => {
  it('when a fiat amount is quoted, then the USDT side is exactly Alfred fromAmount in minor units', async () => {
    const { traderId } = await t.readyTrader('MX');
    const quote = await expectOk(t.call(pspAlfredRpc.quote, { traderId, fiatCurrency: 'MXN', fiatAmount: '800.00' }));
    const atAlfred = t.sandbox.state.quotes.get(quote.quoteId)!;
    expect(atAlfred).toMatchObject({ toCurrency: 'MXN', toAmount: '800.00', chain: 'TRON', paymentMethodType: 'BANK' });
    expect(quote).toEqual({
      quoteId: atAlfred.quoteId,
      fiatAmount: '800.00',
      fiatCurrency: 'MXN',
      cryptoAmountMinor: decimalToMinor(atAlfred.fromAmount, 6),
      rate: atAlfred.rate,
      fees: atAlfred.fees,
      expiresAt: new Date(atAlfred.expiration).toISOString(),
    });
  });

  it('when the amount is outside Alfred limits, then LIMIT_EXCEEDED with the bound as a decimal string (Alfred sends a JSON number)', async () => {
    const { traderId } = await t.readyTrader('MX');
    expect(await t.call(pspAlfredRpc.quote, { traderId, fiatCurrency: 'MXN', fiatAmount: '100.00' })).toMatchObject({
      ok: false,
      error: { code: 'LIMIT_EXCEEDED', details: { partnerCode: 111426, currency: 'USDT', min: '10.000000' } },
    });
    expect(await t.call(pspAlfredRpc.quote, { traderId, fiatCurrency: 'MXN', fiatAmount: '5000000.00' })).toMatchObject({
      ok: false,
      error: { code: 'LIMIT_EXCEEDED', details: { partnerCode: 111426, currency: 'USDT', max: '50000.000000' } },
    });
  });

  it('when the trader is not eligible, then the eligibility refusal and no quote at Alfred', async () => {
    const before = (await t.partnerCalls('POST', '/quotes')).length;
    expect(await t.call(pspAlfredRpc.quote, { traderId: 'nobody', fiatCurrency: 'MXN', fiatAmount: '800.00' })).toMatchObject({
      ok: false,
      error: { code: 'USER_NOT_VERIFIED' },
    });
    expect(await t.partnerCalls('POST', '/quotes')).toHaveLength(before);
  });
});

describe('Alfred transport on a failing network', () => {
  /** A transport to `baseUrl` (a local server that misbehaves), with a breaker of its own. */
  const transportTo = (baseUrl: string) =>
    createAlfredTransport({
      baseUrl,
      apiKey: 'test-key',
      apiSecret: 'test-secret',
      timeoutMs: 300,
      getRetries: 0,
      breaker: { resetMs: 60_000, errorPercent: 50, volume: 3, windowMs: 10_000 },
      log: testLogger('alfred-transport'),
    });
  const post = { method: 'POST', endpoint: '/quotes', path: '/quotes', body: { a: 1 } } as const;
  const listening = async (server: net.Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  };
  const closing = (server: net.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

  it('when nothing listens, then the call is a network failure, told to the metrics as error', async () => {
    const server = net.createServer();
    const url = await listening(server);
    await closing(server);
    const transport = transportTo(url);
    const calls: string[] = [];
    transport.observeCalls((call) => calls.push(call.outcome));
    try {
      await expect(transport.request(post, z.unknown())).rejects.toMatchObject({ name: 'AlfredUnavailable', reason: 'network' });
      expect(calls).toEqual(['error']);
    } finally {
      transport.close();
    }
  });

  it('when the connection is reset before an answer, then the call is a network failure that may have reached Alfred', async () => {
    const server = net.createServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    const url = await listening(server);
    const transport = transportTo(url);
    try {
      await expect(transport.request(post, z.unknown())).rejects.toMatchObject({ reason: 'network', maybeReached: true });
    } finally {
      transport.close();
      await closing(server);
    }
  });

  it('when the answer starts but its body never ends, then the call times out after the timeout', async () => {
    const sockets = new Set<net.Socket>();
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a":');
    });
    server.on('connection', (s) => sockets.add(s));
    const url = await listening(server);
    const transport = transportTo(url);
    const calls: string[] = [];
    transport.observeCalls((call) => calls.push(call.outcome));
    const started = performance.now();
    try {
      await expect(transport.request(post, z.unknown())).rejects.toMatchObject({ reason: 'timeout' });
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
      expect(calls).toEqual(['timeout']);
    } finally {
      transport.close();
      for (const s of sockets) s.destroy();
      await closing(server);
    }
  });

  it('when no answer comes at all, then the call times out, and the same transport answers the next call', async () => {
    let answered = 0;
    const sockets = new Set<net.Socket>();
    const server = http.createServer((req, res) => {
      req.resume();
      if (req.url === '/slow') return;
      answered++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ key: req.headers['api-key'] ?? null }));
    });
    server.on('connection', (s) => sockets.add(s));
    const url = await listening(server);
    const transport = transportTo(url);
    try {
      await expect(transport.request({ method: 'GET', endpoint: '/slow', path: '/slow' }, z.unknown())).rejects.toMatchObject({
        reason: 'timeout',
      });
      for (let i = 0; i < 3; i++)
        expect(await transport.request({ method: 'GET', endpoint: '/ok', path: '/ok' }, z.object({ key: z.string() }))).toEqual({
          ok: true,
          status: 200,
          data: { key: 'test-key' },
        });
      expect(answered).toBe(3);
    } finally {
      transport.close();
      for (const s of sockets) s.destroy();
      await closing(server);
    }
  });
});
