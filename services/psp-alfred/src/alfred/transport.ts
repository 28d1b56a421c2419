import http from 'node:http';
import https from 'node:https';
import CircuitBreaker from 'opossum';
import type { z } from 'zod';
import type { Logger } from '@offramp/kit';
import { alfredErrorBody, type AlfredErrorBody } from './schemas.ts';

/**
 * Alfred could not give an answer: the breaker is open, the call timed out or failed on the
 * network, Alfred answered 5xx, or a 2xx body did not match the contract. On a user path this is
 * PSP_UNAVAILABLE; on the offramp command it means "outcome unknown, try later".
 */
export class AlfredUnavailable extends Error {
  readonly reason: 'breaker_open' | 'timeout' | 'network' | 'server_error' | 'bad_response';
  readonly status: number | null;
  /** True when the request may have reached Alfred (its effect is unknown). */
  readonly maybeReached: boolean;

  constructor(reason: AlfredUnavailable['reason'], message: string, status: number | null = null) {
    super(message);
    this.name = 'AlfredUnavailable';
    this.reason = reason;
    this.status = status;
    this.maybeReached = reason !== 'breaker_open';
  }
}

/** Alfred's answer: the parsed body of a 2xx, or the partner's refusal (a 4xx). */
export type AlfredAnswer<T> = { ok: true; status: number; data: T } | { ok: false; status: number; error: AlfredErrorBody };

export interface AlfredRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** The path template (`/offramp/:transactionId`): the `endpoint` label of the call metrics, never the ids. */
  endpoint: string;
  path: string;
  body?: unknown;
  idempotencyKey?: string;
}

export interface TransportOptions {
  baseUrl: string;
  apiKey: string;
  apiSecret: string;
  timeoutMs: number;
  getRetries: number;
  breaker: { resetMs: number; errorPercent: number; volume: number; windowMs: number };
  log: Logger;
}

interface RawAnswer {
  status: number;
  text: string;
}

/**
 * One HTTP call to Alfred as the metrics see it: its outcome is the HTTP status, `timeout` (no
 * answer in time) or `error` (the network); `breaker_open` when the breaker refused it unsent
 * (then `seconds` is 0). Each retry of a GET is a call of its own.
 */
export interface AlfredCall {
  method: AlfredRequest['method'];
  endpoint: string;
  outcome: string;
  seconds: number;
}

export interface AlfredTransport {
  request<S extends z.ZodType>(req: AlfredRequest, schema: S): Promise<AlfredAnswer<z.output<S>>>;
  breakerState(): 'closed' | 'open' | 'half_open';
  /** Tells `observer` of every call from now on (the service's metrics). */
  observeCalls(observer: (call: AlfredCall) => void): void;
  close(): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The connections to Alfred are node:http's, kept open between calls (about a third of fetch's CPU
 * per request). An idle one is closed after 4 s, before a server with Node's default keep-alive
 * (5 s) may close it under a request.
 */
const idleConnectionMs = 4_000;

/**
 * The HTTP transport to Alfred behind one opossum breaker for the upstream. 5xx, timeouts and
 * network errors count against the breaker; a 4xx is the partner's answer and counts as a success.
 * Only GETs are retried: a POST that may have reached Alfred is never repeated here.
 */
export function createAlfredTransport(opts: TransportOptions): AlfredTransport {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const secure = base.startsWith('https:');
  const agent = secure
    ? new https.Agent({ keepAlive: true, timeout: idleConnectionMs })
    : new http.Agent({ keepAlive: true, timeout: idleConnectionMs });
  const breaker = new CircuitBreaker((req: AlfredRequest) => send(req), {
    // Timeouts are enforced by aborting the request itself, not by opossum racing it.
    timeout: false,
    resetTimeout: opts.breaker.resetMs,
    errorThresholdPercentage: opts.breaker.errorPercent,
    volumeThreshold: opts.breaker.volume,
    rollingCountTimeout: opts.breaker.windowMs,
    rollingCountBuckets: 10,
  });
  breaker.on('open', () => opts.log.warn('alfred breaker opened'));
  breaker.on('halfOpen', () => opts.log.info('alfred breaker half-open'));
  breaker.on('close', () => opts.log.info('alfred breaker closed'));
  let observe: (call: AlfredCall) => void = () => {};

  /** `sendOnce`, told to the observer with its outcome and duration. */
  async function send(req: AlfredRequest): Promise<RawAnswer> {
    const started = performance.now();
    let outcome = 'error';
    try {
      const raw = await sendOnce(req);
      outcome = String(raw.status);
      return raw;
    } catch (err) {
      if (err instanceof AlfredUnavailable)
        outcome = err.reason === 'timeout' ? 'timeout' : err.status !== null ? String(err.status) : 'error';
      throw err;
    } finally {
      observe({ method: req.method, endpoint: req.endpoint, outcome, seconds: (performance.now() - started) / 1000 });
    }
  }

  /**
   * One request and its whole answer within `timeoutMs`: no answer in time is `timeout`, a failure
   * before the answer began (refused, reset, DNS) is `network`, an answer whose body does not
   * arrive whole in time is `timeout` too; a 5xx is `server_error`.
   */
  function sendOnce(req: AlfredRequest): Promise<RawAnswer> {
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    const headers: Record<string, string> = { 'api-key': opts.apiKey, 'api-secret': opts.apiSecret, accept: 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    if (req.idempotencyKey) headers['idempotency-key'] = req.idempotencyKey;
    const what = `${req.method} ${req.path}`;
    return new Promise<RawAnswer>((resolve, reject) => {
      let answered = false;
      let timedOut = false;
      // The first outcome settles the promise; the later events of a torn-down request change nothing.
      const failed = () => {
        clearTimeout(timer);
        if (answered) reject(new AlfredUnavailable('timeout', `${what}: body not received in time`));
        else reject(new AlfredUnavailable(timedOut ? 'timeout' : 'network', `${what}: ${timedOut ? 'timed out' : 'network error'}`));
      };
      let request: http.ClientRequest;
      try {
        request = (secure ? https : http).request(`${base}${req.path}`, { method: req.method, headers, agent }, (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', failed);
          res.on('close', () => {
            if (!res.complete) failed();
          });
          res.on('end', () => {
            clearTimeout(timer);
            const status = res.statusCode ?? 0;
            if (status >= 500) reject(new AlfredUnavailable('server_error', `${what}: ${status}`, status));
            else resolve({ status, text: Buffer.concat(chunks).toString('utf8') });
          });
        });
      } catch {
        // An unusable URL: as fetch would have it, a network error.
        reject(new AlfredUnavailable('network', `${what}: network error`));
        return;
      }
      // Timeouts are enforced by tearing the request down (connection, answer and body alike).
      const timer = setTimeout(() => {
        timedOut = true;
        request.destroy(new Error('timed out'));
      }, opts.timeoutMs);
      request.on('error', failed);
      request.end(body);
    });
  }

  async function fire(req: AlfredRequest): Promise<RawAnswer> {
    try {
      return await breaker.fire(req);
    } catch (err) {
      if (err instanceof AlfredUnavailable) throw err;
      if ((err as { code?: string }).code === 'EOPENBREAKER') {
        observe({ method: req.method, endpoint: req.endpoint, outcome: 'breaker_open', seconds: 0 });
        throw new AlfredUnavailable('breaker_open', 'alfred breaker is open');
      }
      throw err;
    }
  }

  async function fireWithRetries(req: AlfredRequest): Promise<RawAnswer> {
    const attempts = req.method === 'GET' ? opts.getRetries + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fire(req);
      } catch (err) {
        const retryable = err instanceof AlfredUnavailable && err.reason !== 'breaker_open';
        if (!retryable || attempt >= attempts) throw err;
        opts.log.warn({ path: req.path, attempt, reason: err.reason }, 'alfred GET failed, retrying');
        await sleep(100 * 2 ** (attempt - 1));
      }
    }
  }

  return {
    async request(req, schema) {
      const raw = await fireWithRetries(req);
      const json = parseJson(raw.text);
      if (raw.status >= 400) {
        const error = alfredErrorBody.safeParse(json);
        return { ok: false, status: raw.status, error: error.success ? error.data : { errorCode: 0, errorMessage: `HTTP ${raw.status}` } };
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        opts.log.error(
          { path: req.path, status: raw.status, issues: parsed.error.issues.map((i) => i.path.join('.')) },
          'alfred answer does not match the contract',
        );
        throw new AlfredUnavailable('bad_response', `${req.method} ${req.path}: unexpected answer`, raw.status);
      }
      return { ok: true, status: raw.status, data: parsed.data };
    },
    breakerState: () => (breaker.opened ? 'open' : breaker.halfOpen ? 'half_open' : 'closed'),
    observeCalls: (observer) => void (observe = observer),
    close: () => {
      breaker.shutdown();
      agent.destroy();
    },
  };
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
