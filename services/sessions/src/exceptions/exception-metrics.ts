import { Gauge } from 'prom-client';
import { exceptionKinds } from '@offramp/contracts';
import type { Database, Logger, Metrics } from '@offramp/kit';
import { countOpen } from './exceptions-store.ts';

/**
 * `exceptions_open{kind}`, read from the table on each scrape: the table is the truth and several
 * replicas all report the same figure (alert on `max`, not `sum`). Every kind is reported, 0 when
 * none is open, so that an alert sees the series before the first exception. A failed read keeps
 * the last figures rather than failing the scrape.
 */
export function exceptionsOpenGauge(metrics: Metrics, db: Database, log: Logger): Gauge {
  return new Gauge({
    name: 'exceptions_open',
    help: 'Open exceptions (money and the partner or the ledger disagree), by kind; sampled from the table on scrape',
    labelNames: ['kind'],
    registers: [metrics.registry],
    async collect() {
      try {
        const counts = new Map((await countOpen(db.em.fork())).map((c) => [c.kind, c.n]));
        for (const kind of new Set<string>([...exceptionKinds, ...counts.keys()])) this.set({ kind }, counts.get(kind) ?? 0);
      } catch (err) {
        log.warn({ err }, 'exceptions_open: could not read the open exceptions; keeping the last figures');
      }
    },
  });
}
