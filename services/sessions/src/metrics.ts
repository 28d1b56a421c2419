import { Counter, Gauge, Histogram } from 'prom-client';
import type { Metrics } from '@offramp/kit';
import type { TransitionObserver } from './withdrawals/transition.ts';

/** The service's own figures, on the kit's registry so that `/metrics` shows them. */
export function createSessionsMetrics(metrics: Metrics) {
  return {
    stuck: new Gauge({
      name: 'withdrawals_stuck',
      help: 'Withdrawals flagged as stuck past their SLA, by status',
      labelNames: ['status'],
      registers: [metrics.registry],
    }),
    sweeperActions: new Counter({
      name: 'sweeper_actions_total',
      help: 'What the sweeper moved on, by action',
      labelNames: ['action'],
      registers: [metrics.registry],
    }),
    transitions: new Counter({
      name: 'withdrawal_transitions_total',
      help: 'Withdrawal status changes, by from and to',
      labelNames: ['from', 'to'],
      registers: [metrics.registry],
    }),
    timeInState: new Histogram({
      name: 'withdrawal_state_seconds',
      help: 'Time a withdrawal spent in a status, observed when it leaves it',
      labelNames: ['status'],
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600],
      registers: [metrics.registry],
    }),
  };
}

export type SessionsMetrics = ReturnType<typeof createSessionsMetrics>;

/** Counts each status change and times the status it leaves. */
export const transitionObserver =
  (own: SessionsMetrics): TransitionObserver =>
  ({ from, to, secondsInState }) => {
    own.transitions.inc({ from, to });
    own.timeInState.observe({ status: from }, secondsInState);
  };
