import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, expect } from 'vitest';
import { riskRpc } from '@offramp/contracts';
import { newId } from '@offramp/kit';
import { eventually } from '@offramp/kit/testing';
import type { paths } from '@offramp/client';
import { startSmtpSink, type SmtpSink } from '@offramp/notifier/testing';
import { startNotifier, startSystem, tokenFor, type System } from './system.ts';

/** A session request's `data`, as the gateway's OpenAPI document (through `@offramp/client`) types it. */
type SessionData = NonNullable<paths['/psp/alfred/session']['post']['requestBody']>['content']['application/json']['data'];

export interface CountryCase {
  country: string;
  route: SessionData['payment_route_id'];
  currency: SessionData['source_currency_id'];
  amount: string;
  type: string;
  fields: (holder: string) => Record<string, string>;
}

/** One valid bank account per supported country, with real check digits (verified by stdnum). */
export const countries: Record<'MX' | 'BR' | 'AR' | 'CO' | 'DO', CountryCase> = {
  MX: {
    country: 'MX',
    route: 'MX_SPEI',
    currency: 'MXN',
    amount: '1000.00',
    type: 'SPEI',
    fields: (h) => ({ accountNumber: '002010077777777771', accountHolderName: h }),
  },
  BR: {
    country: 'BR',
    route: 'BR_PIX',
    currency: 'BRL',
    amount: '100.00',
    type: 'PIX',
    fields: (h) => ({ pixKey: '12345678909', documentNumber: '12345678909', accountName: h }),
  },
  AR: {
    country: 'AR',
    route: 'AR_COELSA',
    currency: 'ARS',
    amount: '20000.00',
    type: 'COELSA',
    fields: (h) => ({ accountType: 'CBU', accountNumber: '2850590940090418135201', accountHolderName: h }),
  },
  CO: {
    country: 'CO',
    route: 'CO_ACH',
    currency: 'COP',
    amount: '100000.00',
    type: 'ACH',
    fields: (h) => ({
      bankName: 'BANCOLOMBIA',
      accountNumber: '1234567890',
      accountType: 'AHORRO',
      accountHolderName: h,
      documentType: 'CC',
      documentNumber: '1020304050',
    }),
  },
  DO: {
    country: 'DO',
    route: 'DO_ACH_DOM',
    currency: 'DOP',
    amount: '1500.00',
    type: 'ACH_DOM',
    fields: (h) => ({ bankName: 'BANCO POPULAR', accountNumber: '7964321005', accountHolderName: h, documentNumber: '00113918205' }),
  },
};

/** A valid CLABE (weights 3, 7, 1; Banxico's check digit) for 17 given digits: a destination of its own. */
export function clabe(first17: string): string {
  const weights = [3, 7, 1];
  const sum = [...first17].reduce((acc, d, i) => acc + ((Number(d) * weights[i % 3]!) % 10), 0);
  return `${first17}${(10 - (sum % 10)) % 10}`;
}

export const newTrader = () => `trader-${newId()}`;

/** QA setup through the dev endpoints: platform KYC, Alfred customer, KYC approved, eligible, funded. */
export async function onboard(sys: System, trader: string, country: string, fundUsdt = '1000'): Promise<string> {
  const seeded = await sys.http('POST', `/psp/alfred/__dev/seed-kyc-and-provision?country=${country}`, { trader, dev: true });
  expect(seeded.status, JSON.stringify(seeded.body)).toBe(200);
  const approved = await sys.http('POST', '/psp/alfred/__dev/approve-kyc', { trader, dev: true });
  expect(approved.status, JSON.stringify(approved.body)).toBe(200);
  await eventually('eligibility', async () => {
    const r = await sys.http('GET', '/psp/alfred/eligibility', { trader });
    return r.status === 200 && r.body?.data.eligible === true;
  });
  if (fundUsdt !== '0') {
    const funded = await sys.http('POST', '/psp/alfred/__dev/fund', { trader, dev: true, body: { amount: fundUsdt, currency: 'USDT' } });
    expect(funded.status, JSON.stringify(funded.body)).toBe(200);
  }
  return kycName(seeded.body?.data);
}

/** The KYC name the dev seed generated (the holder name that satisfies the Travel Rule). */
function kycName(data: unknown): string {
  const text = JSON.stringify(data ?? {});
  const first = /"firstName":"([^"]+)"/.exec(text)?.[1];
  const last = /"lastName":"([^"]+)"/.exec(text)?.[1];
  return first && last ? `${first} ${last}` : 'Test Holder';
}

export async function addAccount(sys: System, trader: string, c: CountryCase, holder: string): Promise<string> {
  const r = await sys.http('POST', '/psp/alfred/fiat-accounts', { trader, body: { type: c.type, fiatAccountFields: c.fields(holder) } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body!.data.fiatAccountId as string;
}

/** A withdrawal session's `data` from the country's main wallet to the account. */
const sessionData = (c: CountryCase, fiatAccountId: string, amount: string): SessionData => ({
  type: 'withdrawal',
  amount,
  source_currency_id: c.currency,
  payment_route_id: c.route,
  wallet_id: 'MAIN',
  fiat_account_id: fiatAccountId,
});

export async function openSession(sys: System, trader: string, c: CountryCase, fiatAccountId: string, amount = c.amount) {
  return sys.http('POST', '/psp/alfred/session', {
    trader,
    body: { data: sessionData(c, fiatAccountId, amount) },
  });
}

/** Session + initiate through the typed client; returns the session id, the withdrawal id and the debited USDT. */
export async function withdraw(sys: System, trader: string, c: CountryCase, fiatAccountId: string, amount = c.amount) {
  const api = sys.client({ trader });
  const session = await api.POST('/psp/alfred/session', {
    body: { data: sessionData(c, fiatAccountId, amount) },
  });
  expect(session.response.status, JSON.stringify(session.error)).toBe(201);
  const sessionId = session.data!.data.session_id;
  const initiated = await api.POST('/psp/alfred/initiate-withdrawal', { body: { session_id: sessionId } });
  expect(initiated.response.status, JSON.stringify(initiated.error)).toBe(200);
  const { status, withdrawal_id: withdrawalId, debited } = initiated.data!.data;
  expect(status).toBe('pending');
  return { sessionId, withdrawalId, debited: debited.amount };
}

export async function withdrawal(sys: System, trader: string, withdrawalId: string) {
  const r = await sys.http('GET', `/psp/alfred/withdrawals/${withdrawalId}`, { trader });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body!.data as {
    status: string;
    timeline: {
      kind: 'transition' | 'refused' | 'note';
      from: string | null;
      to: string;
      actor: string;
      reason: string | null;
      refused_code: string | null;
    }[];
    psp_transaction_id: string | null;
  };
}

/** Polls the withdrawal every 100 ms (tests wait on dozens at once through the gateway) until it reads `status`. */
export async function waitForStatus(sys: System, trader: string, withdrawalId: string, status: string, timeoutMs = 30_000) {
  let last: Awaited<ReturnType<typeof withdrawal>> | undefined;
  return eventually(
    () => `withdrawal ${withdrawalId} to be ${status} (last seen: ${JSON.stringify(last)})`,
    async () => {
      last = await withdrawal(sys, trader, withdrawalId);
      return last.status === status ? last : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

export async function balance(sys: System, trader: string): Promise<{ available: string; held: string }> {
  const { data, error, response } = await sys.client({ trader }).GET('/psp/alfred/balances');
  expect(response.status, JSON.stringify(error)).toBe(200);
  const usdt = data!.data.find((b) => b.currency === 'USDT');
  return { available: usdt?.available ?? '0.000000', held: usdt?.held ?? '0.000000' };
}

/**
 * The balance once nothing is held any more. A terminal status is committed with its ledger
 * command in the same transaction; the ledger applies the command a moment later.
 */
export async function settledBalance(sys: System, trader: string): Promise<{ available: string; held: string }> {
  return eventually(`${trader}'s hold to be settled`, async () => {
    const b = await balance(sys, trader);
    return b.held === '0.000000' ? b : undefined;
  });
}

/** Exact decimal subtraction on 6-decimal strings (USDT), through bigint. */
export function minusUsdt(a: string, b: string): string {
  const toMinor = (s: string) => BigInt(s.replace('.', '').replace(/^0+(?=\d)/, ''));
  const d = toMinor(a) - toMinor(b);
  const digits = d.toString().padStart(7, '0');
  return `${digits.slice(0, -6)}.${digits.slice(-6)}`;
}

/**
 * Alfred's outcome for a processing withdrawal, through the QA endpoint. A 503 (a service did not
 * answer in time: on a loaded machine, with many in flight) is retried as any client retries it;
 * its outcome is unknown, so a retry told that the order already reached its end (409) is done too.
 * Callers assert the withdrawal's end either way.
 */
export async function emitOfframp(sys: System, trader: string, sessionId: string, scenario: 'success' | 'failure') {
  let unknown = false;
  let last = '';
  return eventually(
    () => `emit-offramp of ${sessionId}; last answer: ${last}`,
    async () => {
      const r = await sys.http('POST', '/psp/alfred/__dev/emit-offramp', { trader, dev: true, body: { session_id: sessionId, scenario } });
      last = `${r.status} ${JSON.stringify(r.body)}`;
      if (r.status === 503) {
        unknown = true;
        return undefined;
      }
      if (r.status === 409 && unknown) return { outcome: 'reached after an unknown answer' } as Record<string, unknown>;
      expect(r.status, last).toBe(200);
      return r.body!.data as Record<string, unknown>;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

/** One operator request to `/api/admin<path>` with an admin JWT. */
export const adminRequest = (sys: System, token: string, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) =>
  sys.http(method, `/api/admin${path}`, { token, body });

/** A withdrawal's operator detail (amounts, risk decision, timeline, exceptions); fails unless 200. */
export async function adminWithdrawal<T>(sys: System, token: string, withdrawalId: string): Promise<T> {
  const r = await adminRequest(sys, token, 'GET', `/withdrawals/${withdrawalId}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body!.data as T;
}

/** A trader's live SSE stream: each event's name and data as they arrive; `ready` once the stream is connected. */
export function openEventStream(baseUrl: string, trader: string) {
  const events: { event: string; data: Record<string, unknown> }[] = [];
  let buffer = '';
  const req = httpRequest(`${baseUrl}/psp/alfred/events`, { headers: { authorization: `Bearer ${tokenFor(trader)}` } });
  const ready = new Promise<void>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
          const lines = buffer.slice(0, i).split('\n');
          buffer = buffer.slice(i + 2);
          const field = (name: string) => lines.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
          const event = field('event');
          const data = field('data');
          if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
        }
        if (buffer.includes(': connected') || events.length > 0 || chunk.includes(': connected')) resolve();
      });
    });
    req.end();
  });
  return { ready, events, close: () => void req.destroy() };
}

/** The system with the notifier on an SMTP sink and the gateway listening on a port of its own. */
export interface NotifiedSystem {
  sys: System;
  sink: SmtpSink;
  notifier: Awaited<ReturnType<typeof startNotifier>>;
  baseUrl: string;
}

/** Starts a NotifiedSystem before the calling describe's tests (handed to `onStarted`) and stops it after them. */
export function useNotifiedSystem(opts: Parameters<typeof startSystem>[0], onStarted: (started: NotifiedSystem) => void): void {
  let sys: System | undefined;
  let sink: SmtpSink | undefined;
  let notifier: NotifiedSystem['notifier'] | undefined;
  beforeAll(async () => {
    sys = await startSystem(opts);
    sink = await startSmtpSink();
    notifier = await startNotifier(sys.messaging, { SMTP_URL: sink.url });
    onStarted({ sys, sink, notifier, baseUrl: await sys.gateway.http.app.listen({ port: 0, host: '127.0.0.1' }) });
  });
  afterAll(async () => {
    await notifier?.close();
    await sys?.cleanup();
    await sink?.close();
  });
}

/** A new trader of the country, onboarded and funded, with one fiat account. */
export async function traderWithAccount(sys: System, c: CountryCase, fundUsdt = '1000') {
  const trader = newTrader();
  const holder = await onboard(sys, trader, c.country, fundUsdt);
  const accountId = await addAccount(sys, trader, c, holder);
  return { trader, holder, accountId };
}

/** Such a trader, screened by risk as suspicious: their withdrawals wait in review. */
export async function suspiciousTrader(sys: System, c: CountryCase, note: string) {
  const t = await traderWithAccount(sys, c);
  await sys.call(riskRpc.addScreeningEntry, { kind: 'trader', value: t.trader, verdict: 'suspicious', note, operatorId: 'operator:e2e' });
  return t;
}

/** Such a trader with a withdrawal processing at Alfred; `before` is their balance before it. */
export async function processingWithdrawal(sys: System, c: CountryCase) {
  const t = await traderWithAccount(sys, c);
  const before = await balance(sys, t.trader);
  const w = await withdraw(sys, t.trader, c, t.accountId);
  await waitForStatus(sys, t.trader, w.withdrawalId, 'processing');
  return { ...t, before, ...w };
}

/** Such a trader with a withdrawal Alfred paid out (sandbox success): `completed`. */
export async function completedWithdrawal(sys: System, c: CountryCase) {
  const w = await processingWithdrawal(sys, c);
  await emitOfframp(sys, w.trader, w.sessionId, 'success');
  await waitForStatus(sys, w.trader, w.withdrawalId, 'completed');
  return w;
}
