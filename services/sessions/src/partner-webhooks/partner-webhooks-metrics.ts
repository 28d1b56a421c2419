import { Counter, Gauge } from 'prom-client';
import type { Database, Logger, Metrics } from '@offramp/kit';
import { countPending } from './partner-webhooks-store.ts';

/**
 * `partner_webhook_attempts_total{source, outcome}`: every attempt, by the dispatcher or an
 * operator's replay, `delivered`, `retry` (failed, tried again later) or `failed` (given up).
 * `partner_webhook_deliveries_pending{state}`: pending deliveries read from the table on each scrape,
 * `due` (sent now or after their backoff) or `held` (the partner disabled or without a webhook URL);
 * a failed read keeps the last figures rather than failing the scrape.
 */
export function createPartnerWebhooksMetrics(metrics: Metrics, db: Database, log: Logger) {
  return {
    attempts: new Counter({
      name: 'partner_webhook_attempts_total',
      help: 'Webhook attempts to partners, by source (dispatcher, replay) and outcome (delivered, retry, failed: given up)',
      labelNames: ['source', 'outcome'],
      registers: [metrics.registry],
    }),
    pending: new Gauge({
      name: 'partner_webhook_deliveries_pending',
      help: 'Pending webhook deliveries to partners, due (sent now or after their backoff) or held (partner disabled or without a URL); sampled on scrape',
      labelNames: ['state'],
      registers: [metrics.registry],
      async collect() {
        try {
          const { due, held } = await countPending(db.em.fork());
          this.set({ state: 'due' }, due);
          this.set({ state: 'held' }, held);
        } catch (err) {
          log.warn({ err }, 'partner_webhook_deliveries_pending: could not read the deliveries; keeping the last figures');
        }
      },
    }),
  };
}

export type PartnerWebhooksMetrics = ReturnType<typeof createPartnerWebhooksMetrics>;
