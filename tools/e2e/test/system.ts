import { createHmac } from 'node:crypto';
import { callRpc, migrate, queryRow, type Database, type Messaging } from '@offramp/kit';
import { eventually, testInfra, testLogger, testMessaging, uniqueName, waitUntilQuiet } from '@offramp/kit/testing';
import { ledgerRpc, riskRpc, type RpcDef } from '@offramp/contracts';
import { basePath, buildSandbox, signatureHeader } from '@offramp/alfred-sandbox';
import { buildLedger, openLedgerDatabase, readLedgerConfig } from '@offramp/ledger';
import { buildRisk, openRiskDatabase, readRiskConfig } from '@offramp/risk';
import { buildSessions, openSessionsDatabase, readSessionsConfig } from '@offramp/sessions';
import { buildPspAlfred, openPspAlfredDatabase, readPspAlfredConfig, type PspAlfredHooks } from '@offramp/psp-alfred';
import { buildGateway, readGatewayConfig } from '@offramp/gateway';
import { createGatewayClient, type GatewayClient } from '@offramp/client';
import { openApiChecker } from '@offramp/kit/testing-openapi';
import type { OpenAPIV3_1 } from 'openapi-types';
import { z } from 'zod';
import { assertConforms } from './conformance.ts';

export const jwtSecret = 'e2e-jwt-secret-that-is-long-enough-0123456789';
export const devSecret = 'e2e-dev-secret-0123456789';
const issuer = 'offramp-e2e';
const audience = 'offramp';
const webhookSecret = 'e2e-webhook-secret';
const alfredKey = { key: 'e2e-key', secret: 'e2e-secret' };

/** A signed trader (or operator) JWT, as the exchange's identity provider would issue it. */
export function tokenFor(sub: string, extra: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, iss: issuer, aud: audience, iat: now, exp: now + 3600, ...extra })}`;
  return `${input}.${createHmac('sha256', jwtSecret).update(input).digest('base64url')}`;
}

type Closer = () => Promise<unknown>;
/** A parsed JSON answer, untyped on purpose: each test checks the fields it reads. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
type JsonAnswer = Record<string, any>;

async function database<C extends { DB_SCHEMA: string }>(
  config: C,
  open: (c: C) => Promise<Database>,
  closers: Closer[],
): Promise<Database> {
  const db = await open(config);
  await migrate(db);
  closers.push(async () => {
    await db.em.fork().execute(`drop schema if exists "${config.DB_SCHEMA}" cascade`);
    await db.close();
  });
  return db;
}

export type System = Awaited<ReturnType<typeof startSystem>>;

/**
 * The whole system in one process: ledger, risk, sessions, psp-alfred and the gateway on real
 * Postgres (a schema each) and real NATS (a namespace of their own), with the Alfred sandbox on a
 * local port sending its signed webhooks to psp-alfred's webhook port. Tests drive it over HTTP.
 */
export async function startSystem(
  opts: {
    env?: Record<string, string>;
    /** A Postgres of the test's own (one it may break) instead of the shared one. */ databaseUrl?: string;
    /** psp-alfred's offramp test seams (a gate between Alfred's answer and the store of its id). */ pspOfframpHooks?: PspAlfredHooks['offramp'];
  } = {},
) {
  const { natsUrl } = testInfra();
  const databaseUrl = opts.databaseUrl ?? testInfra().databaseUrl;
  const closers: Closer[] = [];
  const messaging = await testMessaging('e2e');
  const base = { DATABASE_URL: databaseUrl, NATS_URL: natsUrl, NATS_NAMESPACE: messaging.namespace, DB_POOL_MAX: '5', ...opts.env };
  const log = (name: string) => testLogger(name);

  const sandbox = buildSandbox({
    apiKey: alfredKey.key,
    apiSecret: alfredKey.secret,
    log: log('alfred-sandbox'),
    settings: { webhookSecret, webhookRetryBaseDelayMs: 50 },
  });
  const sandboxUrl = await sandbox.app.listen({ port: 0, host: '127.0.0.1' });

  // DEV_RPCS: the gateway's QA funding (DEV_ENDPOINTS below) is the ledger's QA rpc.
  const ledgerConfig = readLedgerConfig({ ...base, DB_SCHEMA: uniqueName('e2e_ledger'), DEV_RPCS: 'true' });
  const ledgerDb = await database(ledgerConfig, (c) => openLedgerDatabase(c), closers);
  const ledger = await buildLedger({ config: ledgerConfig, db: ledgerDb, messaging, log: log('ledger') });
  const riskConfig = readRiskConfig({ ...base, DB_SCHEMA: uniqueName('e2e_risk') });
  const riskDb = await database(riskConfig, (c) => openRiskDatabase(c), closers);
  const risk = await buildRisk({ config: riskConfig, db: riskDb, messaging, log: log('risk') });
  const sessionsConfig = readSessionsConfig({ ...base, DB_SCHEMA: uniqueName('e2e_sessions'), SWEEPER_INTERVAL_MS: '500' });
  const sessionsDb = await database(sessionsConfig, (c) => openSessionsDatabase(c), closers);
  let sessions = await buildSessions({ config: sessionsConfig, db: sessionsDb, messaging, log: log('sessions') });
  const pspConfig = readPspAlfredConfig({
    ...base,
    DB_SCHEMA: uniqueName('e2e_psp'),
    ALFRED_BASE_URL: `${sandboxUrl}${basePath}`,
    ALFRED_API_KEY: alfredKey.key,
    ALFRED_API_SECRET: alfredKey.secret,
    ALFRED_WEBHOOK_SECRET: webhookSecret,
    ALFRED_TIMEOUT_MS: '1000',
    ALFRED_BREAKER_RESET_MS: '1000',
    ALFRED_BREAKER_VOLUME: '3',
    RECONCILE_AFTER_SECONDS: '1',
    RECONCILE_INTERVAL_MS: '300',
  });
  const pspDb = await database(pspConfig, (c) => openPspAlfredDatabase(c), closers);
  const psp = await buildPspAlfred({
    config: pspConfig,
    db: pspDb,
    messaging,
    log: log('psp-alfred'),
    hooks: {
      consumer: { backoffMs: [200, 400, 800] },
      devSettleMs: 3_000,
      ...(opts.pspOfframpHooks ? { offramp: opts.pspOfframpHooks } : {}),
    },
  });
  const pspUrl = await psp.http.app.listen({ port: 0, host: '127.0.0.1' });
  await sandbox.app.inject({ method: 'PUT', url: '/__emu/config', payload: { webhookUrl: `${pspUrl}/psp/alfred/webhook` } });

  const gatewayConfig = readGatewayConfig({
    NATS_URL: natsUrl,
    NATS_NAMESPACE: messaging.namespace,
    JWT_SECRET: jwtSecret,
    JWT_ISSUER: issuer,
    JWT_AUDIENCE: audience,
    DEV_ENDPOINTS: 'true',
    DEV_SECRET: devSecret,
    RATE_LIMIT_MAX: '10000',
    RPC_TIMEOUT_MS: '10000',
    // The single-operator contract (every action at once, 200); four-eyes.test.ts turns it on.
    FOUR_EYES: 'false',
    ...opts.env,
  });
  const gateway = await buildGateway({ config: gatewayConfig, messaging, log: log('gateway') });
  // Every exchange the tests have with the gateway is checked against the document it serves.
  const served = await gateway.http.app.inject({ method: 'GET', url: '/docs/json' });
  if (served.statusCode !== 200) throw new Error(`the gateway's /docs/json answered ${served.statusCode}: ${served.body.slice(0, 300)}`);
  const conformance = openApiChecker(served.json() as OpenAPIV3_1.Document);
  /** A fetch that goes to the gateway in-process (inject), with the same conformance check as `http`. */
  const injectFetch = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const path = `${url.pathname}${url.search}`;
    const text = request.body === null ? undefined : await request.text();
    const res = await gateway.http.app.inject({
      method: request.method as 'GET',
      url: path,
      headers: Object.fromEntries(request.headers),
      ...(text === undefined ? {} : { payload: text }),
    });
    assertConforms(conformance, request.method, path, res, text === undefined ? {} : { body: text });
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers))
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : String(value));
    return new Response([101, 204, 205, 304].includes(res.statusCode) ? null : res.rawPayload, { status: res.statusCode, headers });
  };

  const call = <D extends RpcDef>(def: D, req: z.output<D['request']>) => callRpc(messaging, def, req, { timeoutMs: 20_000 });
  const databases = { ledger: ledgerDb, risk: riskDb, sessions: sessionsDb, psp: pspDb };
  return {
    messaging: messaging as Messaging,
    /** Each service's database (its own schema), for backlog reads. */
    databases,
    /**
     * Waits until the system has nothing left to do: every service's outbox drained and every
     * durable consumer of the namespace (the notifier's too, when started) with nothing pending
     * (the kit's waitUntilQuiet). Whatever a message could still cause has happened by then.
     * Timers are not covered: sessions' sweeper and psp-alfred's reconciler act on withdrawals
     * still `approved`/`processing` (and orders whose status has not moved for a second); a test
     * asserting that nothing happened says why they cannot act, or waits for their effect.
     */
    async quiet(opts: { timeoutMs?: number } = {}) {
      await waitUntilQuiet({ databases: Object.values(databases), messaging, ...opts });
    },
    sandbox,
    gateway,
    call,
    /** One HTTP request to the gateway as `trader` (omit for none); `dev` adds the dev secret. */
    async http(
      method: 'GET' | 'POST' | 'PUT' | 'DELETE',
      url: string,
      opts: { trader?: string; body?: unknown; dev?: boolean; token?: string; headers?: Record<string, string> } = {},
    ) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.trader || opts.token) headers.authorization = `Bearer ${opts.token ?? tokenFor(opts.trader!)}`;
      if (opts.dev) headers['x-dev-secret'] = devSecret;
      const res = await gateway.http.app.inject({
        method,
        url,
        headers,
        ...(opts.body === undefined ? {} : { payload: opts.body as object }),
      });
      assertConforms(conformance, method, url, res, opts.body === undefined ? {} : { body: opts.body });
      return { status: res.statusCode, body: res.body ? (res.json() as JsonAnswer) : null };
    },
    /** The served OpenAPI document's checker (for exchanges made another way, e.g. a raw stream). */
    conformance,
    /**
     * The typed client (`@offramp/client`) as `trader` (or with `token`; `dev` adds the dev
     * secret), its requests going to the gateway in-process and checked like `http`'s.
     */
    client(opts: { trader?: string; token?: string; dev?: boolean } = {}): GatewayClient {
      const token = opts.token ?? (opts.trader ? tokenFor(opts.trader) : undefined);
      return createGatewayClient({
        baseUrl: 'http://gateway.in-process',
        ...(token ? { token } : {}),
        ...(opts.dev ? { headers: { 'x-dev-secret': devSecret } } : {}),
        fetch: injectFetch,
      });
    },
    emu: async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: object) => {
      const res = await sandbox.app.inject({ method, url: `/__emu${path}`, ...(body === undefined ? {} : { payload: body }) });
      return res.body ? (res.json() as JsonAnswer) : null;
    },
    /** A webhook exactly as Alfred signs it, posted to psp-alfred's webhook port; answers the HTTP status. */
    async sendWebhook(body: object, opts: { secret?: string; at?: number } = {}) {
      const raw = JSON.stringify(body);
      const signature = signatureHeader(opts.secret ?? webhookSecret, raw, opts.at ?? Math.floor(Date.now() / 1000), 'dot');
      const res = await fetch(`${pspUrl}/psp/alfred/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', signature },
        body: raw,
      });
      return res.status;
    },
    /** Marks the trader's Alfred customer bridged or not at the sandbox (decides the BANK_USA failure path). */
    async markBridged(trader: string, bridged: boolean) {
      const row = await queryRow(
        pspDb.em.fork(),
        z.object({ customer_id: z.string() }),
        'select customer_id from traders where trader_id = ?',
        [trader],
      );
      const res = await sandbox.app.inject({ method: 'PUT', url: `/__emu/customers/${row!.customer_id}`, payload: { bridged } });
      if (res.statusCode !== 200) throw new Error(`could not mark ${trader} bridged: ${res.body}`);
    },
    /** The operator's freeze switch (its HTTP route comes with the operator API). */
    async freeze(frozen: boolean, country?: string) {
      await call(riskRpc.setFreeze, { frozen, ...(country ? { country } : {}), reason: 'e2e test', operatorId: 'operator:e2e' });
    },
    async ledgerCheck() {
      return call(ledgerRpc.check, {});
    },
    /** Stops sessions like a crash-free restart would and builds it again on the same schema. */
    async restartSessions() {
      await sessions.close();
      sessions = await buildSessions({ config: sessionsConfig, db: sessionsDb, messaging, log: log('sessions') });
    },
    async stopSessions() {
      await sessions.close();
    },
    async startSessions() {
      sessions = await buildSessions({ config: sessionsConfig, db: sessionsDb, messaging, log: log('sessions') });
    },
    /** The service apps, for tests that read their /metrics (sessions is rebuilt on restart). */
    apps: () => ({ ledger, risk, sessions, psp, gateway }),
    async cleanup() {
      await gateway.close();
      await sessions.close();
      await psp.close();
      await risk.close();
      await ledger.close();
      await sandbox.close();
      for (const close of closers.reverse()) await close();
      await messaging.cleanup();
    },
  };
}

/**
 * The notifier on the system's NATS namespace and a schema of its own (`env` adds SMTP_URL and
 * the like). Separate from `startSystem` so that only the tests that need it pay for it; its
 * durable consumer reads the EVENTS stream from the start, so it may start after the others.
 */
export async function startNotifier(messaging: Messaging, env: Record<string, string> = {}) {
  const { buildNotifier, openNotifierDatabase, readNotifierConfig } = await import('@offramp/notifier');
  const { databaseUrl, natsUrl } = testInfra();
  const base = {
    DATABASE_URL: databaseUrl,
    NATS_URL: natsUrl,
    NATS_NAMESPACE: messaging.namespace,
    DB_POOL_MAX: '3',
    DELIVERY_POLL_MS: '200',
  };
  const config = readNotifierConfig({ ...base, DB_SCHEMA: uniqueName('e2e_notifier'), ...env });
  const closers: Closer[] = [];
  const db = await database(config, (c) => openNotifierDatabase(c), closers);
  const notifier = await buildNotifier({ config, db, messaging, log: testLogger('notifier') });
  return {
    notifier,
    db,
    /**
     * Waits until the notifier can send nothing more, so "only one e-mail" can be asserted: the
     * system and the notifier quiet (every event handled, every outbox drained), every delivery in a
     * final state (sent, failed or skipped: no sender claims it again), then one more pass of
     * each sender, the pass their poll timer runs, and a NATS round trip for a push sent by then.
     */
    async quiet(system: System) {
      await waitUntilQuiet({ databases: [...Object.values(system.databases), db], messaging });
      await eventually(
        'every delivery in a final state',
        async () => (await db.em.fork().execute("select 1 from deliveries where status in ('pending', 'sending')")).length === 0,
      );
      for (const d of Object.values(notifier.dispatchers)) await d.flush();
      await messaging.nc.flush();
    },
    async close() {
      await notifier.close();
      for (const close of closers) await close();
    },
  };
}
