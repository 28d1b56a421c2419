import { inTransaction, startDrainLoop, type Database, type Logger } from '@offramp/kit';
import { retryAt, type Backoff } from './partner-webhooks.ts';
import type { PartnerWebhooksMetrics } from './partner-webhooks-metrics.ts';
import { claimDue, recordOutcome, type AttemptResult, type ClaimedDelivery } from './partner-webhooks-store.ts';
import { sendWebhook, urlForLog } from './sender.ts';

export interface PartnerWebhookDispatcherOptions {
  db: Database;
  log: Logger;
  metrics: PartnerWebhooksMetrics;
  backoff: Backoff;
  timeoutMs: number;
  /** Deliveries claimed and sent at once. */
  concurrency: number;
  pollMs: number;
  idlePollMs: number;
}

export interface PartnerWebhookDispatcher {
  /** Look for work now instead of at the next poll (after a commit that recorded deliveries). */
  wake(): void;
  /** Sends what is due now; returns how many attempts were made. */
  flush(): Promise<number>;
  /** Stops polling and lets the attempts in hand finish. */
  stop(): Promise<void>;
}

/**
 * The sender of the partner webhooks: claims up to `concurrency` due deliveries (committed before
 * sending; `skip locked`, so replicas share them), POSTs them at once, records each outcome in its
 * own transaction, and goes on while it finds a full round. Woken after each consumed message's
 * commit; polls for retries coming due (and for partners enabled again) otherwise. A claim leases
 * the delivery for the attempt's timeout and a margin: a process that died mid-attempt leaves it due
 * again then, and it is sent again under the same `webhook-id` (at least once).
 */
export function startPartnerWebhookDispatcher(opts: PartnerWebhookDispatcherOptions): PartnerWebhookDispatcher {
  const log = opts.log.child({ loop: 'partner-webhooks' });
  const leaseMs = opts.timeoutMs + 30_000;

  async function attempt(d: ClaimedDelivery): Promise<void> {
    const result: AttemptResult =
      d.attempts > opts.backoff.maxAttempts
        ? { outcome: 'failed', statusCode: null, error: 'given up: the last attempt did not record its outcome' }
        : await sendWebhook({
            url: d.webhookUrl,
            secret: d.webhookSecret,
            webhookId: d.webhookId,
            body: d.body,
            timeoutMs: opts.timeoutMs,
          });
    const next = result.outcome === 'failed' ? retryAt(new Date(), d.attempts, opts.backoff) : null;
    await inTransaction(opts.db, (em) => recordOutcome(em, d, result, next));
    opts.metrics.attempts.inc({ source: 'dispatcher', outcome: result.outcome === 'delivered' ? 'delivered' : next ? 'retry' : 'failed' });
    if (result.outcome === 'failed') {
      log[next ? 'warn' : 'error'](
        {
          partnerId: d.partnerId,
          deliveryId: d.deliveryId,
          webhookId: d.webhookId,
          url: urlForLog(d.webhookUrl),
          attempts: d.attempts,
          statusCode: result.statusCode,
          error: result.error,
          nextAttemptAt: next?.toISOString() ?? null,
        },
        next ? 'partner webhook not delivered; retrying later' : 'partner webhook given up after its last attempt',
      );
    }
  }

  async function drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const batch = await inTransaction(opts.db, (em) => claimDue(em, opts.concurrency, leaseMs));
      await Promise.all(batch.map((d) => attempt(d)));
      total += batch.length;
      if (batch.length < opts.concurrency || loop.stopped()) return total;
    }
  }

  const loop = startDrainLoop({
    drain,
    pollMs: opts.pollMs,
    idlePollMs: Math.max(opts.pollMs, opts.idlePollMs),
    onError: (err) => log.error({ err }, 'partner webhook loop failed; claimed deliveries are retried when their lease ends'),
  });
  return { wake: loop.wake, flush: loop.flush, stop: () => loop.stop() };
}
