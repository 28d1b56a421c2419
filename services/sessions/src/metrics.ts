import { Counter, Gauge } from 'prom-client';
import type { Metrics } from '@offramp/kit';

/** The service's own figures, on the kit's registry so that `/metrics` shows them. */
export function createSessionsMetrics(metrics: Metrics) {
  return {
    stuck: new Gauge({ name: 'withdrawals_stuck', help: 'Withdrawals flagged as stuck past their SLA, by status', labelNames: ['status'], registers: [metrics.registry] }),
    sweeperActions: new Counter({ name: 'sweeper_actions_total', help: 'What the sweeper moved on, by action', labelNames: ['action'], registers: [metrics.registry] }),
  };
}

export type SessionsMetrics = ReturnType<typeof createSessionsMetrics>;
