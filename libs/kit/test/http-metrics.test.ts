import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, createHttpServer, createLogger, createMetrics, sendData, type HttpServer } from '../src/index.ts';

const log = createLogger({ name: 'http-metrics-test', level: 'silent' });

/** A service's HTTP server with a few routes, as a service builds it. */
function server(name: string): HttpServer {
  const http = createHttpServer({ log, metrics: createMetrics(name), readiness: {} });
  http.app.get('/orders/:id', async (request, reply) => sendData(request, reply, { id: (request.params as { id: string }).id }));
  http.app.post('/orders/:id/cancel', async () => {
    throw new AppError('INSUFFICIENT_FUNDS');
  });
  http.app.get('/boom', async () => {
    throw new Error('a bug');
  });
  return http;
}

const countsOf = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('http_request_duration_seconds_count{'))
    .map((l) => {
      const labels = Object.fromEntries([...l.matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      return { ...labels, value: Number(l.split(' ').at(-1)) };
    });

describe('HTTP request metrics of every service (fastify-metrics on the kit registry)', () => {
  let http: HttpServer;
  let other: HttpServer;
  beforeAll(async () => {
    http = server('metrics_test');
    // A second service in the same process (as tests and the e2e system run them): no clash of metric names.
    other = server('metrics_test_other');
    await http.app.ready();
    await other.app.ready();
  });
  afterAll(async () => {
    await http?.app.close();
    await other?.app.close();
  });

  it('when requests are served, then /metrics counts them by method, route pattern and status code, never by URL', async () => {
    for (const id of ['a1', 'b2', 'c3']) expect((await http.app.inject({ url: `/orders/${id}?debug=${id}` })).statusCode).toBe(200);
    expect((await http.app.inject({ method: 'POST', url: '/orders/a1/cancel' })).statusCode).toBe(409);
    expect((await http.app.inject({ url: '/boom' })).statusCode).toBe(500);
    for (const path of ['/nope', '/nope/again', '/orders']) expect((await http.app.inject({ url: path })).statusCode).toBe(404);

    const res = await http.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    const counts = countsOf(res.body);
    expect(counts).toEqual(
      expect.arrayContaining([
        { service: 'metrics_test', method: 'GET', route: '/orders/:id', status_code: '200', value: 3 },
        { service: 'metrics_test', method: 'POST', route: '/orders/:id/cancel', status_code: '409', value: 1 },
        { service: 'metrics_test', method: 'GET', route: '/boom', status_code: '500', value: 1 },
        { service: 'metrics_test', method: 'GET', route: '__unmatched__', status_code: '404', value: 3 },
      ]),
    );
    // No URL, id or query string ever becomes a label value.
    expect(counts.map((c) => c.route).filter((r) => /a1|b2|c3|nope|\?/.test(r!))).toEqual([]);
    // The other service's server counted none of these.
    expect(countsOf((await other.app.inject({ url: '/metrics' })).body).filter((c) => c.route !== '/metrics')).toEqual([]);
  });

  it('when /metrics is scraped, then each metric appears once: the default process metrics are not collected twice', async () => {
    const body = (await http.app.inject({ url: '/metrics' })).body;
    const types = body.split('\n').filter((l) => l.startsWith('# TYPE '));
    expect(types.length).toBe(new Set(types).size);
    expect(types).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(types).toContain('# TYPE http_request_duration_seconds histogram');
    // The plugin's summary is not served (the histogram is the one figure).
    expect(body).not.toContain('http_request_summary_seconds');
  });
});
