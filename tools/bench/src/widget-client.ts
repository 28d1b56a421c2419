import http from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';

/*
 * A trader's side of the widget over the gateway's public HTTP API (docs/api.md): QA setup through
 * the /__dev endpoints, then session, initiate-withdrawal, the event stream (with a poll of the
 * withdrawal every second beside it, as the playground does) and Alfred's success through the QA
 * emit-offramp.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read field by field, as a client does
type Json = Record<string, any>;

export interface Answer {
  status: number;
  body: Json | null;
}

export class UnexpectedAnswer extends Error {}

/**
 * The load generator's connections to the gateway, kept alive between requests. Through node:http
 * rather than fetch: fetch costs about three times the CPU per request, and the generator shares
 * the machine's two cores with the stack it measures.
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** One request to the gateway; `token` as the trader, `dev` adds the dev secret. */
export function request(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  opts: { token?: string; devSecret?: string; body?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.devSecret) headers['x-dev-secret'] = opts.devSecret;
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers, agent, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Json) : null });
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

const expectStatus = (what: string, answer: Answer, status: number): Json => {
  if (answer.status !== status) throw new UnexpectedAnswer(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body!.data as Json;
};

/** A valid CLABE (weights 3, 7, 1; Banxico's check digit) for 17 given digits. */
function clabe(first17: string): string {
  const weights = [3, 7, 1];
  const sum = [...first17].reduce((acc, d, i) => acc + ((Number(d) * weights[i % 3]!) % 10), 0);
  return `${first17}${(10 - (sum % 10)) % 10}`;
}

/** One trader of the run: a JWT, KYC done at Alfred, funded, an MX SPEI account, and its event stream. */
export interface Trader {
  id: string;
  token: string;
  fiatAccountId: string;
  /** Statuses the event stream reported, as `withdrawalId:status`. */
  seen: Set<string>;
  /** Called by the stream on every notification. */
  listeners: Set<() => void>;
  closeStream(): void;
}

export async function setUpTrader(base: string, devSecret: string, id: string, index: number, fundUsdt: string): Promise<Trader> {
  const token = expectStatus('token', await request(base, 'POST', '/psp/alfred/__dev/token', { devSecret, body: { sub: id } }), 200)
    .token as string;
  const as = { token, devSecret };
  const seeded = expectStatus('seed', await request(base, 'POST', '/psp/alfred/__dev/seed-kyc-and-provision?country=MX', as), 200);
  const holder = (seeded.kyc?.kycName as string | undefined) ?? 'Test Holder';
  expectStatus('approve-kyc', await request(base, 'POST', '/psp/alfred/__dev/approve-kyc', as), 200);
  for (let i = 0; ; i++) {
    const eligibility = await request(base, 'GET', '/psp/alfred/eligibility', { token });
    if (eligibility.status === 200 && eligibility.body?.data?.eligible === true) break;
    if (i > 300) throw new UnexpectedAnswer(`eligibility never came: ${JSON.stringify(eligibility.body)}`);
    await delay(100);
  }
  expectStatus('fund', await request(base, 'POST', '/psp/alfred/__dev/fund', { ...as, body: { amount: fundUsdt, currency: 'USDT' } }), 200);
  const account = expectStatus(
    'fiat account',
    await request(base, 'POST', '/psp/alfred/fiat-accounts', {
      token,
      body: {
        type: 'SPEI',
        fiatAccountFields: { accountNumber: clabe(`00201007${String(index).padStart(9, '0')}`), accountHolderName: holder },
      },
    }),
    201,
  );
  const trader: Trader = {
    id,
    token,
    fiatAccountId: account.fiatAccountId as string,
    seen: new Set(),
    listeners: new Set(),
    closeStream: () => undefined,
  };
  trader.closeStream = openStream(base, trader);
  return trader;
}

/**
 * The trader's Server-Sent Events (as the widget reads them); reconnects with Last-Event-ID until
 * closed. Read through node:http, like the requests: the stream's bytes are the gateway's, the
 * parsing here is the generator's own CPU, taken from the machine it measures.
 */
function openStream(base: string, trader: Trader): () => void {
  let closed = false;
  let current: http.ClientRequest | null = null;
  let lastId: string | null = null;
  const notify = (block: string) => {
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('id:')) lastId = line.slice(3).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    if (!data) return;
    try {
      const event = JSON.parse(data) as { withdrawal_id?: string; status?: string };
      if (event.withdrawal_id && event.status) trader.seen.add(`${event.withdrawal_id}:${event.status}`);
    } catch {
      // not a notification
    }
    for (const listener of trader.listeners) listener();
  };
  const connect = () => {
    if (closed) return;
    const headers: Record<string, string> = { authorization: `Bearer ${trader.token}`, accept: 'text/event-stream' };
    if (lastId) headers['last-event-id'] = lastId;
    let retried = false;
    const retry = () => {
      if (retried || closed) return;
      retried = true;
      setTimeout(connect, 500);
    };
    current = http.get(`${base}/psp/alfred/events`, { headers }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        retry();
        return;
      }
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          notify(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      });
      res.on('end', retry);
      res.on('error', retry);
    });
    current.on('error', retry);
  };
  connect();
  return () => {
    closed = true;
    current?.destroy();
  };
}

/** Where one withdrawal's time went (ms; client clock for the start, the timeline's for the rest: one machine). */
export interface WithdrawalTiming {
  withdrawalId: string;
  initiateMs: number;
  initiateToProcessingMs: number;
  initiateToCompletedMs: number;
  /** Retries of initiate-withdrawal after a 5xx (outcome unknown). */
  initiateRetries: number;
}

const terminalBad = new Set(['rejected', 'in_review', 'failed']);

/** Waits until the withdrawal reads one of `statuses`: woken by the stream, polled every second beside it. */
async function waitForStatus(base: string, trader: Trader, withdrawalId: string, statuses: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (statuses.some((s) => trader.seen.has(`${withdrawalId}:${s}`))) return;
    const answer = await request(base, 'GET', `/psp/alfred/withdrawals/${withdrawalId}`, { token: trader.token });
    const status = answer.body?.data?.status as string | undefined;
    last = `${answer.status} ${status}`;
    if (status && statuses.includes(status)) return;
    if (status && terminalBad.has(status)) throw new UnexpectedAnswer(`withdrawal ${withdrawalId} is ${status}`);
    await new Promise<void>((resolve) => {
      const wake = () => {
        if (!statuses.some((s) => trader.seen.has(`${withdrawalId}:${s}`))) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve();
      }, 1_000);
      const cleanup = () => {
        clearTimeout(timer);
        trader.listeners.delete(wake);
      };
      trader.listeners.add(wake);
    });
  }
  throw new UnexpectedAnswer(`withdrawal ${withdrawalId} did not reach ${statuses.join('/')} in time (last: ${last})`);
}

/** One complete withdrawal as the widget makes it, Alfred's success driven through the QA endpoint. */
export async function withdraw(base: string, devSecret: string, trader: Trader, fiatAmount: string): Promise<WithdrawalTiming> {
  const session = expectStatus(
    'session',
    await request(base, 'POST', '/psp/alfred/session', {
      token: trader.token,
      body: {
        data: {
          type: 'withdrawal',
          amount: fiatAmount,
          source_currency_id: 'MXN',
          payment_route_id: 'MX_SPEI',
          wallet_id: 'MAIN',
          fiat_account_id: trader.fiatAccountId,
        },
      },
    }),
    201,
  );
  const sessionId = session.session_id as string;
  const started = Date.now();
  let retries = 0;
  let initiated: Answer;
  for (;;) {
    initiated = await request(base, 'POST', '/psp/alfred/initiate-withdrawal', { token: trader.token, body: { session_id: sessionId } });
    // A 5xx is "outcome unknown": the same session again returns the withdrawal or finishes it, never holding twice.
    if (initiated.status < 500 || retries >= 5) break;
    retries++;
  }
  const initiateMs = Date.now() - started;
  const withdrawalId = expectStatus('initiate-withdrawal', initiated, 200).withdrawal_id as string;
  await waitForStatus(base, trader, withdrawalId, ['processing', 'completed'], 120_000);
  let unknown = false;
  for (let attempt = 0; ; attempt++) {
    const emitted = await request(base, 'POST', '/psp/alfred/__dev/emit-offramp', {
      token: trader.token,
      devSecret,
      body: { session_id: sessionId, scenario: 'success' },
    });
    if (emitted.status === 200) break;
    // A 503 (a service did not answer in time) is retried; a 409 after one means the walk did happen.
    if (emitted.status === 409 && unknown) break;
    if (emitted.status === 503 && attempt < 10) {
      unknown = true;
      await delay(250);
      continue;
    }
    throw new UnexpectedAnswer(`emit-offramp: ${emitted.status} ${JSON.stringify(emitted.body)}`);
  }
  await waitForStatus(base, trader, withdrawalId, ['completed'], 120_000);
  const detail = expectStatus(
    'withdrawal',
    await request(base, 'GET', `/psp/alfred/withdrawals/${withdrawalId}`, { token: trader.token }),
    200,
  );
  const timeline = detail.timeline as { kind: string; to: string; at: string }[];
  const at = (status: string) => {
    const entry = timeline.find((t) => t.kind === 'transition' && t.to === status);
    if (!entry) throw new UnexpectedAnswer(`withdrawal ${withdrawalId} has no ${status} transition: ${JSON.stringify(timeline)}`);
    return Date.parse(entry.at);
  };
  return {
    withdrawalId,
    initiateMs,
    initiateToProcessingMs: at('processing') - started,
    initiateToCompletedMs: at('completed') - started,
    initiateRetries: retries,
  };
}
