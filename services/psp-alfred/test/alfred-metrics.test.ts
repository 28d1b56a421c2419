import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '@offramp/kit';
import { testLogger } from '@offramp/kit/testing';
import { AlfredUnavailable, createAlfredClient } from '../src/alfred/client.ts';
import { createAlfredTransport } from '../src/alfred/transport.ts';
import { createPspAlfredMetrics } from '../src/metrics.ts';
import { startTestPspAlfred, type TestPspAlfred } from './harness.ts';

let t: TestPspAlfred;
beforeAll(async () => {
  t = await startTestPspAlfred();
});
afterAll(async () => {
  await t.cleanup();
});

/** A client with a breaker of its own (opens after 3 failures) and psp-alfred's metrics on a registry of its own. */
function measuredClient() {
  const client = createAlfredClient(
    createAlfredTransport({
      baseUrl: t.config.ALFRED_BASE_URL,
      apiKey: t.config.ALFRED_API_KEY,
      apiSecret: t.config.ALFRED_API_SECRET,
      timeoutMs: 500,
      getRetries: 1,
      breaker: { resetMs: 60_000, errorPercent: 50, volume: 3, windowMs: 10_000 },
      log: testLogger('alfred-metrics'),
    }),
  );
  const metrics = createMetrics('psp_alfred_metrics_test');
  createPspAlfredMetrics(metrics, client);
  /** The sample `name{labels}` of what /metrics serves (undefined when absent). */
  const value = async (name: string, labels: Record<string, string>) => {
    for (const line of (await metrics.registry.metrics()).split('\n')) {
      const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const found = Object.fromEntries([...m[2]!.matchAll(/([a-z_]+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
      if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3]);
    }
    return undefined;
  };
  return { client, value, exposition: () => metrics.registry.metrics() };
}

const calls = 'alfred_request_duration_seconds_count';
const seconds = 'alfred_request_duration_seconds_sum';
const unknownOrder = '00000000-0000-4000-8000-000000000000';

describe('Alfred client metrics', () => {
  it('when calls are answered, fail with 5xx, time out, or meet the open breaker, then each is counted by path template and outcome', async () => {
    const { client, value, exposition } = measuredClient();
    try {
      // A GET Alfred refuses (404), once after a 500 it retried: two calls, by template, never the id.
      await t.emu('POST', '/faults', { mode: 'error', count: 1, pathPrefix: `/offramp/${unknownOrder}` });
      expect(await client.getOfframp(unknownOrder)).toMatchObject({ ok: false, status: 404 });
      expect(await value(calls, { method: 'GET', endpoint: '/offramp/:transactionId', status: '500' })).toBe(1);
      expect(await value(calls, { method: 'GET', endpoint: '/offramp/:transactionId', status: '404' })).toBe(1);
      expect((await value(seconds, { method: 'GET', endpoint: '/offramp/:transactionId', status: '404' }))!).toBeGreaterThan(0);

      // POSTs that time out until the breaker opens (its window holds the 500 too); then one is refused unsent.
      await t.emu('POST', '/faults', { mode: 'timeout', count: 5, pathPrefix: '/quotes', delayMs: 2_000 });
      const reasons: string[] = [];
      while (!reasons.includes('breaker_open') && reasons.length < 5) {
        const failed = await client.createQuote({ toCurrency: 'MXN', toAmount: '800.00', chain: 'TRON', customerId: unknownOrder }).then(
          () => null,
          (err: unknown) => err,
        );
        expect(failed).toBeInstanceOf(AlfredUnavailable);
        reasons.push((failed as AlfredUnavailable).reason);
      }
      const timeouts = reasons.filter((r) => r === 'timeout').length;
      expect(reasons).toEqual([...Array<string>(timeouts).fill('timeout'), 'breaker_open']);
      expect(timeouts).toBeGreaterThanOrEqual(1);
      expect(await value(calls, { method: 'POST', endpoint: '/quotes', status: 'timeout' })).toBe(timeouts);
      expect(await value('alfred_breaker_rejections_total', { method: 'POST', endpoint: '/quotes' })).toBe(1);
      // Nothing but path templates in the endpoint label: the order id never appears.
      expect(await exposition()).not.toContain(unknownOrder);
    } finally {
      client.close();
    }
  });
});
