import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@offramp/kit';
import { appendBounded, type SandboxState } from '../state.ts';
import { signatureHeader } from './signature.ts';

export const webhookEventTypes = ['KYC', 'KYB', 'ONRAMP', 'OFFRAMP'] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

/** The webhook body. It carries no event id: receivers dedupe on (eventType, referenceId, status). */
export interface WebhookEvent {
  referenceId: string;
  eventType: WebhookEventType;
  status: string;
  metadata: Record<string, unknown> | null;
}

export interface WebhookAttempt {
  at: string;
  statusCode: number | null;
  error: string | null;
}

export interface WebhookDelivery {
  deliveryId: string;
  url: string | null;
  body: WebhookEvent;
  rawBody: string;
  state: 'pending' | 'delivered' | 'failed' | 'skipped' | 'cancelled';
  delivered: boolean;
  skippedBecause: string | null;
  attempts: WebhookAttempt[];
  createdAt: string;
}

export interface WebhookDispatcher {
  /** Records the event and sends it after every earlier event of the same reference. */
  send(event: WebhookEvent): WebhookDelivery;
  /** Resolves once nothing is pending or being retried. */
  idle(): Promise<void>;
  /** Abandons pending deliveries and retries (reset and close). */
  cancelAll(): void;
}

/** Backoff between attempts doubles from the base delay and never exceeds fifteen minutes. */
const maxBackoffMs = 15 * 60_000;
export const backoffMs = (baseMs: number, attempt: number) => Math.min(maxBackoffMs, baseMs * 2 ** Math.max(0, attempt - 2));

interface DispatcherDeps {
  state: SandboxState;
  now: () => Date;
  log: Logger;
  /** Told after every attempt, so that a kept state records the delivery's progress. */
  changed?: () => void;
}

/** One POST of the delivery; a network error or timeout is a failed attempt, a cancellation throws. */
async function attempt(deps: DispatcherDeps, delivery: WebhookDelivery, url: string, signal: AbortSignal): Promise<WebhookAttempt> {
  const at = deps.now();
  const { webhookSecret, signatureFormat, webhookTimeoutMs } = deps.state.settings;
  // Each attempt is signed afresh so that a late retry still falls inside the receiver's window.
  const signature = signatureHeader(webhookSecret, delivery.rawBody, Math.floor(at.getTime() / 1000), signatureFormat);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', signature },
      body: delivery.rawBody,
      signal: AbortSignal.any([signal, AbortSignal.timeout(webhookTimeoutMs)]),
    });
    await response.arrayBuffer();
    return { at: at.toISOString(), statusCode: response.status, error: null };
  } catch (err) {
    if (signal.aborted) throw err;
    return { at: at.toISOString(), statusCode: null, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Attempts until a 2xx or the configured number of attempts, backing off between them. A delivery
 * taken over from a saved state goes on from the attempts it already had, the next one at once.
 */
async function deliver(deps: DispatcherDeps, delivery: WebhookDelivery, url: string, signal: AbortSignal): Promise<void> {
  const { state, log } = deps;
  const first = delivery.attempts.length + 1;
  try {
    for (let n = first; n <= state.settings.webhookMaxAttempts; n++) {
      if (n > first) await sleep(backoffMs(state.settings.webhookRetryBaseDelayMs, n), undefined, { signal });
      const result = await attempt(deps, delivery, url, signal);
      delivery.attempts.push(result);
      state.changes.delivery(delivery);
      if (result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300) {
        delivery.state = 'delivered';
        delivery.delivered = true;
        deps.changed?.();
        log.debug({ deliveryId: delivery.deliveryId, referenceId: delivery.body.referenceId, attempts: n }, 'webhook delivered');
        return;
      }
      deps.changed?.();
      log.warn(
        { deliveryId: delivery.deliveryId, attempt: n, statusCode: result.statusCode, error: result.error },
        'webhook attempt failed',
      );
    }
    delivery.state = 'failed';
  } catch {
    delivery.state = 'cancelled';
  }
  state.changes.delivery(delivery);
  deps.changed?.();
}

function newDelivery(deps: DispatcherDeps, event: WebhookEvent): WebhookDelivery {
  const { webhookDelivery, webhookUrl } = deps.state.settings;
  const skippedBecause = !webhookDelivery ? 'webhook delivery is off' : webhookUrl === null ? 'no webhook url is configured' : null;
  return {
    deliveryId: randomUUID(),
    url: webhookUrl,
    body: event,
    rawBody: JSON.stringify(event),
    state: skippedBecause ? 'skipped' : 'pending',
    delivered: false,
    skippedBecause,
    attempts: [],
    createdAt: deps.now().toISOString(),
  };
}

/**
 * Sends webhooks in the background, one reference at a time, in the order the events happened.
 * Deliveries already pending in the state (restored from a saved state) are sent on at once.
 */
export function createWebhookDispatcher(deps: DispatcherDeps): WebhookDispatcher {
  const chains = new Map<string, Promise<void>>();
  let cancellation = new AbortController();

  const enqueue = (delivery: WebhookDelivery, url: string) => {
    const key = `${delivery.body.eventType}:${delivery.body.referenceId}`;
    const signal = cancellation.signal;
    const next = (chains.get(key) ?? Promise.resolve()).then(() => (signal.aborted ? undefined : deliver(deps, delivery, url, signal)));
    chains.set(key, next);
    void next.finally(() => {
      if (chains.get(key) === next) chains.delete(key);
    });
  };

  for (const delivery of deps.state.deliveries) {
    if (delivery.state === 'pending' && delivery.url !== null) enqueue(delivery, delivery.url);
  }

  return {
    send(event) {
      const delivery = newDelivery(deps, event);
      appendBounded(deps.state.deliveries, delivery);
      deps.state.changes.delivery(delivery);
      if (delivery.state === 'pending' && delivery.url !== null) enqueue(delivery, delivery.url);
      return delivery;
    },
    async idle() {
      while (chains.size > 0) await Promise.all([...chains.values()]);
    },
    cancelAll() {
      cancellation.abort();
      cancellation = new AbortController();
      for (const delivery of deps.state.deliveries) {
        if (delivery.state !== 'pending') continue;
        delivery.state = 'cancelled';
        deps.state.changes.delivery(delivery);
      }
    },
  };
}
