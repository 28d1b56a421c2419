import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
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

/**
 * The connections webhooks go out on, kept open between deliveries: a webhook costs a request, not
 * a connection (and node:http costs a third of fetch's CPU per request). An idle connection is
 * closed after 4 s, before a receiver with Node's default keep-alive (5 s) closes it under a request.
 */
interface Connections {
  http: http.Agent;
  https: https.Agent;
}

const idleConnectionMs = 4_000;

function openConnections(): Connections {
  return {
    http: new http.Agent({ keepAlive: true, timeout: idleConnectionMs }),
    https: new https.Agent({ keepAlive: true, timeout: idleConnectionMs }),
  };
}

/** POSTs `body` and resolves with the status code; rejects on a network error, after `timeoutMs` in all, or when `signal` aborts. */
function post(
  connections: Connections,
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const request = (secure ? https : http).request(
      target,
      {
        method: 'POST',
        agent: secure ? connections.https : connections.http,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        signal,
      },
      (response) => {
        // The answer's body is read to its end (and dropped) so that the connection can serve the next webhook.
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
        response.on('close', () => {
          if (!response.complete) reject(new Error('the answer was cut short'));
        });
      },
    );
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    request.on('close', () => clearTimeout(timer));
    request.on('error', reject);
    request.end(body);
  });
}

/** One POST of the delivery; a network error or timeout is a failed attempt, a cancellation throws. */
async function attempt(
  deps: DispatcherDeps,
  connections: Connections,
  delivery: WebhookDelivery,
  url: string,
  signal: AbortSignal,
): Promise<WebhookAttempt> {
  const at = deps.now();
  const { webhookSecret, signatureFormat, webhookTimeoutMs } = deps.state.settings;
  // Each attempt is signed afresh so that a late retry still falls inside the receiver's window.
  const signature = signatureHeader(webhookSecret, delivery.rawBody, Math.floor(at.getTime() / 1000), signatureFormat);
  try {
    const statusCode = await post(
      connections,
      url,
      { 'content-type': 'application/json', signature },
      delivery.rawBody,
      webhookTimeoutMs,
      signal,
    );
    return { at: at.toISOString(), statusCode, error: null };
  } catch (err) {
    if (signal.aborted) throw err;
    return { at: at.toISOString(), statusCode: null, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Attempts until a 2xx or the configured number of attempts, backing off between them. A delivery
 * taken over from a saved state goes on from the attempts it already had, the next one at once.
 */
async function deliver(
  deps: DispatcherDeps,
  connections: Connections,
  delivery: WebhookDelivery,
  url: string,
  signal: AbortSignal,
): Promise<void> {
  const { state, log } = deps;
  const first = delivery.attempts.length + 1;
  try {
    for (let n = first; n <= state.settings.webhookMaxAttempts; n++) {
      if (n > first) await sleep(backoffMs(state.settings.webhookRetryBaseDelayMs, n), undefined, { signal });
      const result = await attempt(deps, connections, delivery, url, signal);
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
  let connections = openConnections();

  const enqueue = (delivery: WebhookDelivery, url: string) => {
    const key = `${delivery.body.eventType}:${delivery.body.referenceId}`;
    const signal = cancellation.signal;
    const through = connections;
    const next = (chains.get(key) ?? Promise.resolve()).then(() =>
      signal.aborted ? undefined : deliver(deps, through, delivery, url, signal),
    );
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
      // Reset and close leave no connection open (a closed sandbox must not hold the process).
      connections.http.destroy();
      connections.https.destroy();
      connections = openConnections();
      for (const delivery of deps.state.deliveries) {
        if (delivery.state !== 'pending') continue;
        delivery.state = 'cancelled';
        deps.state.changes.delivery(delivery);
      }
    },
  };
}
