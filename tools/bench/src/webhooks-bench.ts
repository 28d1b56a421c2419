import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { z } from 'zod';
import { signatureHeader } from '@offramp/alfred-sandbox';
import { connectMessaging, createLogger, deleteStreams, migrate, queryRow, queryRows, type Database } from '@offramp/kit';
import { openPspAlfredDatabase, readPspAlfredDatabaseConfig } from '@offramp/psp-alfred';
import {
  cpuSeconds,
  freePort,
  infra,
  loadavg,
  machine,
  machineBusySeconds,
  measure,
  memoryMiB,
  progress,
  repoRoot,
  runTeardowns,
  spawnNode,
  waitFor200,
  type ChildProcessHandle,
} from './common.ts';
import { startPgCounter } from './pg-counter.ts';

/*
 * npm run bench:webhooks [-- --seconds 10 --connections 32 --warmup 2 --count-webhooks 2000]
 *
 * psp-alfred (its own process, as `npm start` runs it: the real server entry on a throwaway schema
 * and NATS namespace) and a plain Fastify hello-world (another process) are driven in turn by the
 * same load generator (autocannon, in this process) with the same connections and duration: Alfred
 * webhooks signed exactly as the sandbox signs them, against GET / of the hello-world. Then a
 * second psp-alfred, its Postgres connections through a counting proxy, takes a fixed number of
 * webhooks so that the SQL sent per webhook is counted (the relay's statements included). Prints
 * one JSON line.
 */

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    'count-webhooks': { type: 'string', default: '2000' },
    orders: { type: 'string', default: '15000' },
    /** Drives the webhooks at this many per second instead of as fast as they are answered (CPU per webhook at a given load). */
    rate: { type: 'string' },
    /** Skips the hello-world (and the ratio): for comparing CPU per webhook between two builds. */
    'no-hello': { type: 'boolean', default: false },
    /** Writes a CPU profile of the measured psp-alfred (node --cpu-prof) into the run's log directory. */
    'cpu-prof': { type: 'boolean', default: false },
  },
});
const seconds = Number(args.seconds);
const warmupSeconds = Number(args.warmup);
const connections = Number(args.connections);
const countWebhooks = Number(args['count-webhooks']);
const orderCount = Number(args.orders);
const rate = args.rate ? Number(args.rate) : undefined;

const webhookSecret = randomBytes(24).toString('hex');
const webhookPath = '/psp/alfred/webhook';
const chain = ['ON_CHAIN_DEPOSIT_RECEIVED', 'TRADE_COMPLETED', 'FIAT_TRANSFER_INITIATED', 'FIAT_TRANSFER_COMPLETED'] as const;

/**
 * The webhooks of the run, as Alfred sends them: each known order walks the chain (the sandbox's
 * metadata: the deposit's txHash from the first step on, the amounts with the last), one in ten is
 * a redelivery of an earlier webhook (Alfred retries until it sees a 2xx) and one in ten names a
 * reference psp-alfred does not know (kept for later). Orders are visited round-robin, so that the
 * steps of one order are far apart, as they are in life.
 */
function webhookSource(transactionIds: readonly string[]) {
  let sent = 0;
  let step = 0;
  let order = 0;
  const recent: string[] = [];
  const next = (): string => {
    sent++;
    if (sent % 10 === 5 && recent.length > 0) return recent[Math.floor(Math.random() * recent.length)]!;
    if (sent % 10 === 0)
      return JSON.stringify({ referenceId: randomUUID(), eventType: 'OFFRAMP', status: 'TRADE_COMPLETED', metadata: {} });
    const referenceId = transactionIds[order]!;
    const status = chain[step % chain.length]!;
    const metadata: Record<string, string> = { txHash: `0x${referenceId.replaceAll('-', '')}` };
    if (status === 'FIAT_TRANSFER_COMPLETED') Object.assign(metadata, { fromAmount: '50.000000', toAmount: '800.00', toCurrency: 'MXN' });
    order++;
    if (order === transactionIds.length) {
      order = 0;
      step++;
    }
    const body = JSON.stringify({ referenceId, eventType: 'OFFRAMP', status, metadata });
    if (recent.length < 1_000) recent.push(body);
    else recent[sent % 1_000] = body;
    return body;
  };
  return {
    next,
    /** An autocannon request that posts the next webhook, signed now. */
    request: (): autocannon.Request => ({
      method: 'POST',
      path: webhookPath,
      setupRequest: (req) => {
        const body = next();
        const signature = signatureHeader(webhookSecret, body, Math.floor(Date.now() / 1000), 'dot');
        return { ...req, body, headers: { 'content-type': 'application/json', signature } };
      },
    }),
  };
}

interface LoadResult {
  perSecond: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU the target process used during the timed part, in cores. */
  targetCores: number | null;
  /** Its CPU per answered request, in microseconds. */
  targetCpuUsPerRequest: number | null;
  /**
   * The whole machine's CPU per answered request, in microseconds: the target, Postgres, nats-server
   * and the load generator (this process) together; and the generator's own share.
   */
  machineCpuUsPerRequest: number | null;
  generatorCpuUsPerRequest: number;
  /** The whole machine's busy cores during the timed part (of `machine().cpus`). */
  machineCores: number | null;
}

async function drive(
  url: string,
  request: autocannon.Request,
  opts: { seconds: number; amount?: number; rate?: number },
): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections,
    ...(opts.rate ? { overallRate: opts.rate } : {}),
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.seconds }),
    requests: [request],
    timeout: 30,
  });
}

async function load(
  what: string,
  url: string,
  request: autocannon.Request,
  target: ChildProcessHandle,
  rate?: number,
): Promise<LoadResult> {
  if (warmupSeconds > 0) {
    progress(`${what}: ${warmupSeconds} s warm-up`);
    await drive(url, request, { seconds: warmupSeconds, ...(rate ? { rate } : {}) });
  }
  progress(`${what}: ${connections} connections, ${seconds} s${rate ? `, ${rate}/s` : ''}`);
  const cpuBefore = cpuSeconds(target.pid);
  const machineBefore = machineBusySeconds();
  const generatorBefore = process.cpuUsage();
  const started = performance.now();
  const r = await drive(url, request, { seconds, ...(rate ? { rate } : {}) });
  const elapsed = (performance.now() - started) / 1_000;
  const cpuAfter = cpuSeconds(target.pid);
  const machineAfter = machineBusySeconds();
  const generator = process.cpuUsage(generatorBefore);
  const machineSeconds = machineBefore !== null && machineAfter !== null ? machineAfter - machineBefore : null;
  return {
    perSecond: measure(r['2xx'] / r.duration, 1),
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    p50Ms: r.latency.p50,
    p90Ms: r.latency.p90,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    targetCores: cpuBefore !== null && cpuAfter !== null ? measure((cpuAfter - cpuBefore) / elapsed, 2) : null,
    targetCpuUsPerRequest: cpuBefore !== null && cpuAfter !== null ? measure(((cpuAfter - cpuBefore) * 1e6) / r['2xx'], 0) : null,
    machineCpuUsPerRequest: machineSeconds !== null ? measure((machineSeconds * 1e6) / r['2xx'], 0) : null,
    generatorCpuUsPerRequest: measure((generator.user + generator.system) / r['2xx'], 0),
    machineCores: machineSeconds !== null ? measure(machineSeconds / elapsed, 2) : null,
  };
}

/** psp-alfred's server entry as `npm start` runs it, on the bench's schema and namespace; its reconciler off the seeded orders. */
function startPspAlfred(opts: {
  port: number;
  databaseUrl: string;
  schema: string;
  namespace: string;
  logFile: string;
  cpuProfileDir?: string;
}) {
  return spawnNode({
    name: 'psp-alfred',
    args: opts.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`] : [],
    script: path.join(repoRoot, 'services/psp-alfred/src/server.ts'),
    logFile: opts.logFile,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: opts.databaseUrl,
      DB_SCHEMA: opts.schema,
      NATS_URL: infra.natsUrl,
      NATS_NAMESPACE: opts.namespace,
      PORT: String(opts.port),
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      MIGRATE_ON_START: 'false',
      // No Alfred is needed to take webhooks: nothing listens there, and the reconciler (which
      // would ask it about the seeded orders) waits an hour before looking at them.
      ALFRED_BASE_URL: 'http://127.0.0.1:9/api/v1/third-party-service/penny',
      ALFRED_API_KEY: 'bench-key',
      ALFRED_API_SECRET: 'bench-secret',
      ALFRED_WEBHOOK_SECRET: webhookSecret,
      RECONCILE_AFTER_SECONDS: '3600',
      UNKNOWN_REFERENCE_AFTER_SECONDS: '3600',
    },
  });
}

/** Orders psp-alfred knows (state created, Alfred's id stored), as a create-offramp leaves them. */
async function seedOrders(db: Database, count: number): Promise<string[]> {
  const rows = await queryRows(
    db.em.fork(),
    z.object({ transaction_id: z.string() }),
    `insert into offramps (withdrawal_id, trader_id, fiat_account_id, crypto_amount_minor, fiat_currency, fiat_amount, state, attempts,
       transaction_id, alfred_status, deposit_address, chain, sent_amount_minor, status_at)
     select gen_random_uuid(), 'trader-bench-' || (i % 30), 'fa-bench-' || (i % 30), 50000000, 'MXN', '800.00', 'created', 1,
       gen_random_uuid()::text, 'CREATED', 'TBenchDepositAddress', 'TRON', 50000000, now()
     from generate_series(1, ?) as i
     returning transaction_id`,
    [count],
  );
  return rows.map((r) => r.transaction_id);
}

async function outboxUnsent(db: Database): Promise<number> {
  const row = await queryRow(db.em.fork(), z.object({ n: z.number() }), 'select count(*)::int as n from outbox where sent_at is null');
  return row?.n ?? 0;
}

/** Waits for the relay to publish what the run wrote; returns how long that took (s), or null past `timeoutMs`. */
async function outboxDrained(db: Database, timeoutMs: number): Promise<number | null> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if ((await outboxUnsent(db)) === 0) return measure((performance.now() - started) / 1_000, 2);
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

async function outcomes(db: Database) {
  const rows = await queryRows(
    db.em.fork(),
    z.object({ outcome: z.string(), n: z.number(), duplicates: z.number() }),
    'select outcome, count(*)::int as n, sum(duplicates)::int as duplicates from partner_events group by outcome',
  );
  const byOutcome = Object.fromEntries(rows.map((r) => [r.outcome, r.n]));
  return { ...byOutcome, duplicates: rows.reduce((sum, r) => sum + r.duplicates, 0) };
}

/** Log lines of a child at warn or above (pino levels 40+), at most `limit`. */
function warnings(logFile: string, limit = 5): string[] {
  try {
    return readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((line) => /"level":(4|5|6)0/.test(line))
      .slice(0, limit)
      .map((line) => line.slice(0, 400));
  } catch {
    return [];
  }
}

async function main() {
  const startedAt = new Date().toISOString();
  const loadStart = loadavg();
  const suffix = randomBytes(5).toString('hex');
  const schema = `bench_psp_${suffix}`;
  const namespace = `bench_${suffix}`;
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'bench-webhooks-'));
  const log = createLogger({ name: 'bench', level: 'warn' });
  const teardowns: [string, () => Promise<unknown>][] = [];
  let failures: string[] = [];
  try {
    progress(`schema ${schema}, namespace ${namespace}, logs in ${logDir}`);
    const db = await openPspAlfredDatabase(readPspAlfredDatabaseConfig({ DATABASE_URL: infra.databaseUrl, DB_SCHEMA: schema }));
    teardowns.push(['close database', () => db.close()]);
    teardowns.push(['drop schema', () => db.em.fork().execute(`drop schema if exists "${schema}" cascade`)]);
    await migrate(db);
    const messaging = await connectMessaging({ url: infra.natsUrl, name: 'bench-webhooks', namespace, log });
    teardowns.push(['close nats', () => messaging.nc.drain()]);
    teardowns.push(['delete streams', () => deleteStreams(messaging)]);
    progress(`seeding ${orderCount} created orders`);
    const transactionIds = await seedOrders(db, orderCount);
    const source = webhookSource(transactionIds);

    const helloPort = await freePort();
    const hello = spawnNode({
      name: 'hello-world',
      script: path.join(import.meta.dirname, 'hello-world.ts'),
      logFile: path.join(logDir, 'hello-world.log'),
      env: { PATH: process.env.PATH, PORT: String(helloPort) },
    });
    teardowns.push(['stop hello-world', () => hello.stop()]);
    const pspPort = await freePort();
    const pspLog = path.join(logDir, 'psp-alfred.log');
    const psp = startPspAlfred({
      port: pspPort,
      databaseUrl: infra.databaseUrl,
      schema,
      namespace,
      logFile: pspLog,
      ...(args['cpu-prof'] ? { cpuProfileDir: logDir } : {}),
    });
    teardowns.push(['stop psp-alfred', () => psp.stop()]);
    await waitFor200(`http://127.0.0.1:${helloPort}/`, { timeoutMs: 30_000, alive: hello.running, what: 'hello-world' });
    await waitFor200(`http://127.0.0.1:${pspPort}/readyz`, { timeoutMs: 60_000, alive: psp.running, what: 'psp-alfred' });

    const helloWorld = args['no-hello']
      ? null
      : await load('hello-world', `http://127.0.0.1:${helloPort}`, { method: 'GET', path: '/' }, hello);
    const webhooks = await load('webhooks', `http://127.0.0.1:${pspPort}`, source.request(), psp, rate);
    const backlogAtEnd = await outboxUnsent(db);
    const drainSeconds = await outboxDrained(db, 60_000);
    const stored = await outcomes(db);
    const pspMemory = memoryMiB(psp.pid);
    const pspWarnings = warnings(pspLog);
    await psp.stop();

    // Counting: a second psp-alfred on the same schema, its connections through the counting proxy.
    progress(`counting SQL over ${countWebhooks} webhooks (a psp-alfred behind a counting proxy)`);
    const pg = new URL(infra.databaseUrl);
    const counter = await startPgCounter({ host: pg.hostname, port: Number(pg.port || 5432) });
    teardowns.push(['close counting proxy', () => counter.close()]);
    const counted = new URL(infra.databaseUrl);
    counted.hostname = '127.0.0.1';
    counted.port = String(counter.port);
    const countingPort = await freePort();
    const counting = startPspAlfred({
      port: countingPort,
      databaseUrl: counted.toString(),
      schema,
      namespace,
      logFile: path.join(logDir, 'psp-alfred-counting.log'),
    });
    teardowns.push(['stop counting psp-alfred', () => counting.stop()]);
    await waitFor200(`http://127.0.0.1:${countingPort}/readyz`, { timeoutMs: 60_000, alive: counting.running, what: 'psp-alfred' });
    await drive(`http://127.0.0.1:${countingPort}`, source.request(), { seconds: 0, amount: 200 });
    await outboxDrained(db, 30_000);
    counter.reset();
    await drive(`http://127.0.0.1:${countingPort}`, source.request(), { seconds: 0, amount: countWebhooks });
    await outboxDrained(db, 30_000);
    const counts = counter.counts();
    const perWebhook = (n: number) => measure(n / countWebhooks, 2);

    const result = {
      bench: 'webhooks',
      startedAt,
      machine: machine(),
      loadavgStart: loadStart,
      loadavgEnd: loadavg(),
      connections,
      seconds,
      ...(rate ? { rate } : {}),
      mix: { newStatusOfAKnownOrder: 0.8, redelivery: 0.1, unknownReference: 0.1 },
      webhooksPerSecond: webhooks.perSecond,
      helloWorldPerSecond: helloWorld?.perSecond ?? null,
      ratio: helloWorld ? measure(webhooks.perSecond / helloWorld.perSecond, 3) : null,
      webhookLatencyMs: { p50: webhooks.p50Ms, p90: webhooks.p90Ms, p99: webhooks.p99Ms, max: webhooks.maxMs },
      helloWorldLatencyMs: helloWorld && { p50: helloWorld.p50Ms, p90: helloWorld.p90Ms, p99: helloWorld.p99Ms, max: helloWorld.maxMs },
      sqlPerWebhook: {
        roundTrips: perWebhook(counts.roundTrips),
        statements: perWebhook(counts.statements),
        transactionControl: perWebhook(counts.transactionControl),
        webhooks: countWebhooks,
      },
      webhooks: {
        requests: webhooks.requests,
        non2xx: webhooks.non2xx,
        errors: webhooks.errors,
        timeouts: webhooks.timeouts,
        pspAlfredCores: webhooks.targetCores,
        pspAlfredCpuUsPerWebhook: webhooks.targetCpuUsPerRequest,
        machineCores: webhooks.machineCores,
        machineCpuUsPerWebhook: webhooks.machineCpuUsPerRequest,
        generatorCpuUsPerWebhook: webhooks.generatorCpuUsPerRequest,
        pspAlfredRssMiB: pspMemory,
        stored,
        outboxUnsentAtEnd: backlogAtEnd,
        outboxDrainSeconds: drainSeconds,
        warnings: pspWarnings,
      },
      helloWorld: helloWorld && {
        requests: helloWorld.requests,
        non2xx: helloWorld.non2xx,
        errors: helloWorld.errors,
        cores: helloWorld.targetCores,
        cpuUsPerRequest: helloWorld.targetCpuUsPerRequest,
        machineCores: helloWorld.machineCores,
        machineCpuUsPerRequest: helloWorld.machineCpuUsPerRequest,
        generatorCpuUsPerRequest: helloWorld.generatorCpuUsPerRequest,
      },
    };
    await counting.stop();
    failures = await runTeardowns(teardowns.splice(0));
    process.stdout.write(`${JSON.stringify({ ...result, teardownFailures: failures })}\n`);
  } finally {
    failures = await runTeardowns(teardowns);
    if (failures.length > 0) progress(`teardown failures: ${failures.join('; ')}`);
  }
}

await main();
