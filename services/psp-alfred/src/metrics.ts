import { Counter, Gauge, Histogram } from 'prom-client';
import type { Metrics } from '@offramp/kit';
import type { AlfredClient } from './alfred/client.ts';

const breakerCode = { closed: 0, half_open: 1, open: 2 } as const;

/** psp-alfred's own figures, on the kit's registry so that `/metrics` shows them. */
export function createPspAlfredMetrics(metrics: Metrics, alfred: AlfredClient) {
  // Read at scrape time from the breaker itself, so the figure can never drift from opossum's state.
  new Gauge({
    name: 'alfred_breaker_state',
    help: 'Alfred circuit breaker: 0 closed, 1 half-open, 2 open',
    registers: [metrics.registry],
    collect() {
      this.set(breakerCode[alfred.breakerState()]);
    },
  });
  // Every HTTP call to Alfred by method, path template and outcome (HTTP status, `timeout`, `error`);
  // calls the open breaker refused unsent are counted apart.
  const calls = new Histogram({
    name: 'alfred_request_duration_seconds',
    help: 'HTTP calls to Alfred by method, endpoint (path template) and status (HTTP status, timeout or error); _count is the call count',
    labelNames: ['method', 'endpoint', 'status'],
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [metrics.registry],
  });
  const refused = new Counter({
    name: 'alfred_breaker_rejections_total',
    help: 'Calls to Alfred the open circuit breaker refused without sending, by method and endpoint',
    labelNames: ['method', 'endpoint'],
    registers: [metrics.registry],
  });
  alfred.observeCalls(({ method, endpoint, outcome, seconds }) => {
    if (outcome === 'breaker_open') refused.inc({ method, endpoint });
    else calls.observe({ method, endpoint, status: outcome }, seconds);
  });
  return {
    webhookLag: new Histogram({
      name: 'webhook_lag_seconds',
      help: 'Time from Alfred signing a webhook to it being stored',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [metrics.registry],
    }),
  };
}
