import { startDrainLoop, type Database, type Logger } from '@offramp/kit';
import { claimDue, recordOutcome, type Channel, type ClaimedDelivery, type DeliveryResult } from './deliveries-store.ts';

/** Sends one delivery. Expected failures are returned; a throw counts as a retryable failure. */
export type Deliver = (delivery: ClaimedDelivery) => Promise<DeliveryResult>;

export interface DispatcherHooks {
  /** Runs after the send, before its outcome is recorded; tests crash there. */
  afterSend?: (delivery: ClaimedDelivery, result: DeliveryResult) => Promise<void> | void;
  /** Called once the outcome of an attempt is recorded. */
  onSettled?: (delivery: ClaimedDelivery, result: DeliveryResult) => void;
}

export interface DispatcherOptions extends DispatcherHooks {
  db: Database;
  log: Logger;
  channel: Channel;
  deliver: Deliver;
  maxAttempts: number;
  leaseMs: number;
  pollMs: number;
  retryBaseMs: number;
  batchSize?: number;
}

export interface Dispatcher {
  /** Look for work now instead of at the next poll (after a commit that recorded deliveries). */
  wake(): void;
  /** Sends what is due now; returns how many deliveries were attempted. Tests call it directly. */
  flush(): Promise<number>;
  /** Stops polling and lets the batch in hand finish. */
  stop(): Promise<void>;
}

const maxRetryDelayMs = 5 * 60_000;

/** When to try again after `attempts` failed attempts, or null when that was the last one. */
export function retryAt(now: Date, attempts: number, opts: { maxAttempts: number; retryBaseMs: number }): Date | null {
  if (attempts >= opts.maxAttempts) return null;
  const delay = Math.min(opts.retryBaseMs * 2 ** Math.max(0, attempts - 1), maxRetryDelayMs);
  return new Date(now.getTime() + delay);
}

/**
 * The sender of one channel: claims due deliveries (committed before sending), sends each, then
 * records the outcome. A crash between send and record leaves the row `sending`; when its lease
 * runs out it is claimed and sent again, with the same content and Message-ID (see README).
 */
export function startDispatcher(opts: DispatcherOptions): Dispatcher {
  const batchSize = opts.batchSize ?? 20;
  const log = opts.log.child({ channel: opts.channel });

  async function attempt(d: ClaimedDelivery): Promise<void> {
    let result: DeliveryResult;
    if (d.attempts > opts.maxAttempts) {
      result = { outcome: 'failed', error: 'given up: the last attempt did not record its outcome' };
    } else if (!d.notification) {
      result = { outcome: 'failed', error: 'the recorded notification does not parse' };
    } else {
      result = await opts.deliver(d).catch((err: unknown): DeliveryResult => ({ outcome: 'retry', error: String(err) }));
      await opts.afterSend?.(d, result);
    }
    const next = result.outcome === 'retry' ? retryAt(new Date(), d.attempts, opts) : null;
    // One statement: committed on its own, without begin and commit around it.
    await recordOutcome(opts.db.em.fork(), d.id, result, next);
    if (result.outcome !== 'sent') log.warn({ deliveryId: d.id, attempts: d.attempts, result }, 'delivery not sent');
    opts.onSettled?.(d, result);
  }

  async function drain(): Promise<number> {
    let total = 0;
    for (;;) {
      // One statement (`update … from (select … for update skip locked)`), committed on its own before
      // anything is sent: a transaction around it only added begin and commit.
      const batch = await claimDue(opts.db.em.fork(), opts.channel, batchSize, opts.leaseMs);
      for (const d of batch) await attempt(d);
      total += batch.length;
      if (batch.length < batchSize || loop.stopped()) return total;
    }
  }

  const loop = startDrainLoop({
    drain,
    pollMs: opts.pollMs,
    onError: (err) => log.error({ err }, 'delivery loop failed; the claimed rows are retried when their lease ends'),
  });
  return { wake: loop.wake, flush: loop.flush, stop: () => loop.stop() };
}
