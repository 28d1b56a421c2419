import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerRpc } from '@offramp/contracts';
import { eventually } from '@offramp/kit/testing';
import { startSystem, type System } from './system.ts';
import { completedWithdrawal, countries } from './flows.ts';

/** One sample of a Prometheus text exposition: name, labels and value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (match[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

type AppName = keyof ReturnType<System['apps']>;

async function scrape(sys: System, app: AppName): Promise<Sample[]> {
  const res = await sys.apps()[app].http.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return parseMetrics(res.body);
}

/** The value of the one sample with this name and these labels (undefined when absent). */
const valueOf = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('metrics: the domain figures on /metrics after a withdrawal through the whole system', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => sys?.cleanup());

  it('when a withdrawal completes, then transitions, time in state, webhook lag, breaker state, outbox backlog and consumer lag are reported', async () => {
    await completedWithdrawal(sys, countries.MX);

    const sessions = await scrape(sys, 'sessions');
    expect(valueOf(sessions, 'withdrawal_transitions_total', { from: 'pending', to: 'approved' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(sessions, 'withdrawal_transitions_total', { from: 'approved', to: 'processing' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(sessions, 'withdrawal_transitions_total', { from: 'processing', to: 'completed' })).toBeGreaterThanOrEqual(1);
    for (const status of ['pending', 'approved', 'processing']) {
      expect(valueOf(sessions, 'withdrawal_state_seconds_count', { status }), status).toBeGreaterThanOrEqual(1);
      expect(valueOf(sessions, 'withdrawal_state_seconds_sum', { status }), status).toBeGreaterThanOrEqual(0);
    }
    // Nothing stuck: the withdrawal finished well inside its SLA.
    expect(sessions.filter((s) => s.name === 'withdrawals_stuck').every((s) => s.value === 0)).toBe(true);

    const psp = await scrape(sys, 'psp');
    expect(valueOf(psp, 'alfred_breaker_state')).toBe(0);
    const lagCount = valueOf(psp, 'webhook_lag_seconds_count')!;
    expect(lagCount).toBeGreaterThanOrEqual(1);
    // Signature timestamps are whole seconds: a fresh webhook lags by less than a few seconds.
    expect(valueOf(psp, 'webhook_lag_seconds_sum')! / lagCount).toBeLessThan(5);

    for (const app of ['ledger', 'risk', 'sessions', 'psp'] as const) {
      const backlog = await eventually(`${app} outbox drained`, async () => {
        const value = valueOf(await scrape(sys, app), 'outbox_backlog');
        return value === 0 ? value : undefined;
      });
      expect(backlog, app).toBe(0);
      expect(valueOf(await scrape(sys, app), 'outbox_published_total'), app).toBeGreaterThanOrEqual(1);
    }

    // Sampled every 5s; the consumers that the saga went through are caught up.
    for (const [app, consumer] of [
      ['sessions', 'sessions-psp-alfred'],
      ['sessions', 'sessions-risk'],
      ['psp', 'psp-alfred-commands'],
      ['ledger', 'ledger-commands'],
    ] as const) {
      const pending = await eventually(`${consumer} caught up`, async () => {
        const value = valueOf(await scrape(sys, app), 'consumer_pending_messages', { consumer });
        return value === 0 ? value : undefined;
      });
      expect(pending, consumer).toBe(0);
    }
    // The hold is posted by the ledger's rpc before `completed` commits: answered, nothing dead-lettered.
    const posted = valueOf(await scrape(sys, 'ledger'), 'rpc_duration_seconds_count', {
      subject: ledgerRpc.postHold.subject,
      result: 'ok',
    });
    expect(posted).toBeGreaterThanOrEqual(1);
    for (const app of ['ledger', 'risk', 'sessions', 'psp'] as const) {
      expect(
        (await scrape(sys, app)).filter((s) => s.name === 'dead_letters_total').every((s) => s.value === 0),
        app,
      ).toBe(true);
    }
  });
  it('when a withdrawal goes through the gateway, then HTTP metrics by route pattern and status, and Alfred calls by endpoint and status, are reported', async () => {
    const { trader, withdrawalId } = await completedWithdrawal(sys, countries.MX);
    expect((await sys.http('GET', '/psp/alfred/no-such-route', { trader })).status).toBe(404);

    const gateway = await scrape(sys, 'gateway');
    const served = (method: string, route: string, status: string) =>
      valueOf(gateway, 'http_request_duration_seconds_count', { method, route, status_code: status });
    for (const [method, route, status] of [
      ['POST', '/psp/alfred/fiat-accounts', '201'],
      ['POST', '/psp/alfred/session', '201'],
      ['POST', '/psp/alfred/initiate-withdrawal', '200'],
      ['GET', '/psp/alfred/withdrawals/:id', '200'],
      ['POST', '/psp/alfred/__dev/emit-offramp', '200'],
    ] as const) {
      expect(served(method, route, status), `${method} ${route} ${status}`).toBeGreaterThanOrEqual(1);
    }
    // The route label is the pattern: no withdrawal id, no query string, and an unmatched URL is one value.
    const routes = new Set(gateway.filter((s) => s.name === 'http_request_duration_seconds_count').map((s) => s.labels.route!));
    expect([...routes].filter((r) => r.includes(withdrawalId) || r.includes('?'))).toEqual([]);
    expect(routes).not.toContain('/psp/alfred/no-such-route');
    expect(served('GET', '__unmatched__', '404')).toBeGreaterThanOrEqual(1);
    expect(valueOf(gateway, 'event_streams_open')).toBe(0);

    // psp-alfred: its own HTTP routes (Alfred's webhook) and its calls to Alfred by path template.
    const psp = await scrape(sys, 'psp');
    expect(
      valueOf(psp, 'http_request_duration_seconds_count', { method: 'POST', route: '/psp/alfred/webhook', status_code: '200' }),
    ).toBeGreaterThanOrEqual(1);
    // The sandbox answers 201 to each create, as Alfred documents.
    const alfred = (method: string, endpoint: string, status: string) =>
      valueOf(psp, 'alfred_request_duration_seconds_count', { method, endpoint, status });
    expect(alfred('POST', '/customers/create', '201')).toBeGreaterThanOrEqual(1);
    expect(alfred('POST', '/fiatAccounts', '201')).toBeGreaterThanOrEqual(1);
    expect(alfred('POST', '/quotes', '201')).toBeGreaterThanOrEqual(1);
    expect(alfred('POST', '/offramp', '201')).toBeGreaterThanOrEqual(1);
    const endpoints = psp.filter((s) => s.name === 'alfred_request_duration_seconds_count').map((s) => s.labels.endpoint!);
    // Templates only: no customer, submission or order id in a label.
    expect(endpoints.filter((e) => !/^(\/[A-Za-z]+|\/:[A-Za-z]+)+$/.test(e))).toEqual([]);
  });
});
