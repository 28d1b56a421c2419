import { Registry, collectDefaultMetrics, Counter, Gauge, Histogram } from 'prom-client';

/** One registry per service process (tests build several apps in one process). */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  // Counted when /metrics is scraped (an idle process counts nothing); a failed count keeps the last figure.
  let countBacklog: (() => Promise<number>) | undefined;
  const outboxBacklog = new Gauge({
    name: 'outbox_backlog',
    help: 'Outbox rows not yet published, counted on scrape',
    registers: [registry],
    async collect() {
      if (!countBacklog) return;
      const n = await countBacklog().catch(() => null);
      if (n !== null) this.set(n);
    },
  });
  return {
    registry,
    outboxBacklog,
    /** The outbox relay says how to count its backlog; the gauge counts on each scrape. */
    sampleOutboxBacklog(count: () => Promise<number>): void {
      countBacklog = count;
    },
    outboxPublished: new Counter({ name: 'outbox_published_total', help: 'Outbox rows published', registers: [registry] }),
    outboxPublishFailures: new Counter({ name: 'outbox_publish_failures_total', help: 'Failed outbox publishes', registers: [registry] }),
    messagesHandled: new Counter({
      name: 'messages_handled_total',
      help: 'Messages consumed, by consumer and result',
      labelNames: ['consumer', 'result'],
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'dead_letters_total',
      help: 'Messages sent to the dead-letter stream',
      labelNames: ['consumer'],
      registers: [registry],
    }),
    consumerPending: new Gauge({
      name: 'consumer_pending_messages',
      help: 'Messages in the stream not yet delivered to the consumer (JetStream num_pending), sampled',
      labelNames: ['consumer'],
      registers: [registry],
    }),
    rpcDuration: new Histogram({
      name: 'rpc_duration_seconds',
      help: 'Time to serve an rpc, by subject and result',
      labelNames: ['subject', 'result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
