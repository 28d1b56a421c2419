import { Webhook } from 'standardwebhooks';
import type { AttemptResult } from './partner-webhooks-store.ts';

/** One POST of a delivery: where, with which `whsec_` secret, under which `webhook-id`, and the exact body. */
export interface WebhookRequest {
  url: string;
  secret: string;
  webhookId: string;
  body: string;
  timeoutMs: number;
}

/**
 * The Standard Webhooks headers of one attempt, signed by the reference implementation
 * (`standardwebhooks`): `webhook-signature` is `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`
 * keyed by the base64-decoded secret after `whsec_`. Every attempt gets a fresh timestamp (and so a
 * fresh signature) under the same id.
 */
export function signedHeaders(req: Pick<WebhookRequest, 'secret' | 'webhookId' | 'body'>, now: Date): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    'webhook-id': req.webhookId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': new Webhook(req.secret).sign(req.webhookId, new Date(timestamp * 1000), req.body),
  };
}

/** A URL as logs may show it: origin and path, never the query (a partner may put a token there) nor credentials. */
export function urlForLog(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

/**
 * POSTs the delivery once. A 2xx answer is delivered; any other status (a redirect is not
 * followed), a network error or no answer within the timeout is a failure worth retrying. The
 * error text never contains the URL or the secret.
 */
export async function sendWebhook(req: WebhookRequest, now = new Date()): Promise<AttemptResult> {
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    return { outcome: 'failed', statusCode: null, error: 'the webhook URL is not a valid URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return { outcome: 'failed', statusCode: null, error: 'the webhook URL is not http(s)' };
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Offramp-Webhooks/1', ...signedHeaders(req, now) },
      body: req.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(req.timeoutMs),
    });
    // The partner's answer body is not used: release the connection without reading it.
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { outcome: 'delivered', statusCode: res.status };
    return { outcome: 'failed', statusCode: res.status, error: `the partner answered ${res.status}` };
  } catch (err) {
    return { outcome: 'failed', statusCode: null, error: networkErrorOf(err, req.timeoutMs) };
  }
}

/** fetch's errors name the cause in `cause.code` (ECONNREFUSED, ENOTFOUND, …); the messages are not shown as they may carry the URL. */
function networkErrorOf(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string') return `network error: ${cause.code}`;
  return 'network error';
}
