/**
 * `npm run bench:idle`: what an idle stack costs, fresh and after load.
 *
 * Starts `npm start` on a data directory and ports of its own (embedded Postgres, its own
 * nats-server), samples the CPU of every process of the stack while it is idle, drives complete
 * withdrawals through the gateway (onboarding, session, initiate, `processing`, Alfred's success,
 * `completed`), then samples again in consecutive windows after the load. Prints one JSON line:
 * the CPU (cores) of each process group (each service, Postgres with all its backends, nats-server)
 * fresh and after the load, the machine and the load average at start and end.
 *
 * Settings (environment): IDLE_TRADERS (10), IDLE_WITHDRAWALS_PER_TRADER (10), IDLE_FRESH_SECONDS
 * (20), IDLE_AFTER_SECONDS (60, in windows of IDLE_WINDOW_SECONDS, 10). The figure the acceptance
 * reads is `after_load.last_30s_total_cores` against `fresh.total_cores`.
 */
import { type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { loadConfig } from '@offramp/kit';
import { httpAnswers200, waitUntil } from './probes.ts';
import { services } from './services.ts';
import { spawnChildStack, stackRunning } from './child-stack.ts';

const settings = loadConfig(
  z.object({
    IDLE_TRADERS: z.coerce.number().int().min(1).max(200).default(10),
    IDLE_WITHDRAWALS_PER_TRADER: z.coerce.number().int().min(1).max(100).default(10),
    IDLE_FRESH_SECONDS: z.coerce.number().int().min(5).max(300).default(20),
    IDLE_AFTER_SECONDS: z.coerce.number().int().min(10).max(600).default(60),
    IDLE_WINDOW_SECONDS: z.coerce.number().int().min(5).max(60).default(10),
  }),
);

/** Linux's clock ticks per second (`getconf CLK_TCK`), the unit of /proc/<pid>/stat's times. */
const clockTicks = 100;
const devSecret = 'idle-cpu-bench-dev-secret';
const loadStart = os.loadavg();
const startedAt = Date.now();

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime: its own CPU and that of its children already reaped. */
  ticks: number;
}

async function readStat(pid: number): Promise<ProcStat | null> {
  try {
    const text = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: the fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const n = (i: number) => Number(fields[i - 3]);
    return { pid, ppid: n(4), ticks: n(14) + n(15) + n(16) + n(17) };
  } catch {
    return null;
  }
}

async function cmdline(pid: number): Promise<string> {
  return fs
    .readFile(`/proc/${pid}/cmdline`, 'utf8')
    .then((s) => s.replaceAll('\0', ' '))
    .catch(() => '');
}

/** Which part of the stack a process is: a service by its entry, Postgres, nats-server, or the stack itself. */
function groupOf(cmd: string, isRoot: boolean): string {
  for (const service of services) if (cmd.includes(service.entry)) return service.name;
  if (/postgres/.test(cmd)) return 'postgres';
  if (/nats-server/.test(cmd)) return 'nats';
  return isRoot ? 'stack' : 'other';
}

/** CPU ticks by group, over every descendant of `root` (a process's group is inherited by what it spawns). */
async function sampleTicks(root: number): Promise<Record<string, number>> {
  const stats: ProcStat[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = await readStat(Number(entry));
    if (s) stats.push(s);
  }
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const byGroup: Record<string, number> = {};
  const rootStat = stats.find((s) => s.pid === root);
  if (!rootStat) throw new Error('the stack is gone');
  const walk = async (s: ProcStat, inherited: string | null) => {
    const own = groupOf(await cmdline(s.pid), s.pid === root);
    const group = inherited && own === 'other' ? inherited : own;
    byGroup[group] = (byGroup[group] ?? 0) + s.ticks;
    for (const c of children.get(s.pid) ?? []) await walk(c, group === 'stack' ? null : group);
  };
  await walk(rootStat, null);
  return byGroup;
}

/** Cores used by each group between two samples. */
function coresBetween(a: Record<string, number>, b: Record<string, number>, seconds: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const group of new Set([...Object.keys(a), ...Object.keys(b)])) {
    out[group] = round(((b[group] ?? 0) - (a[group] ?? 0)) / clockTicks / seconds);
  }
  return out;
}

const round = (n: number) => Math.round(n * 1000) / 1000;
const total = (byGroup: Record<string, number>) => round(Object.values(byGroup).reduce((a, b) => a + b, 0));

/** The CPU of each group over `seconds`, measured from two samples (never from the wall clock of a loop). */
async function measure(
  root: number,
  seconds: number,
): Promise<{ seconds: number; by_process: Record<string, number>; total_cores: number }> {
  const before = await sampleTicks(root);
  const t0 = performance.now();
  await delay(seconds * 1000);
  const after = await sampleTicks(root);
  const elapsed = (performance.now() - t0) / 1000;
  const byProcess = coresBetween(before, after, elapsed);
  return { seconds: round(elapsed), by_process: byProcess, total_cores: total(byProcess) };
}

interface Answer {
  status: number;
  data: Record<string, unknown> & { [k: string]: unknown };
}

/** A client of the gateway's widget and QA routes, as the walkthrough uses them. */
function gatewayClient(base: string) {
  return async function call(method: 'GET' | 'POST', url: string, opts: { token?: string; body?: unknown } = {}): Promise<Answer> {
    const headers: Record<string, string> = { 'x-dev-secret': devSecret };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}/psp/alfred${url}`, {
      method,
      headers,
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const json = (await res.json().catch(() => ({}))) as { data?: Record<string, unknown> };
    return { status: res.status, data: json.data ?? {} };
  };
}

type Call = ReturnType<typeof gatewayClient>;

async function expectOk(what: string, answer: Promise<Answer>, status = 200): Promise<Answer['data']> {
  const a = await answer;
  if (a.status !== status) throw new Error(`${what}: HTTP ${a.status} ${JSON.stringify(a.data).slice(0, 300)}`);
  return a.data;
}

/** Polls (every 100 ms) until `check` holds; fails after `timeoutMs` naming what it waited for. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}

/** How long each withdrawal took from initiate's answer to `processing` (risk's decision and the order at Alfred). */
const toProcessingMs: number[] = [];

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? null : Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);
};

/** One trader: onboarded (BR, PIX), funded, then `count` complete withdrawals one after another. */
async function trader(call: Call, i: number, count: number): Promise<void> {
  const sub = `idle-bench-${process.pid}-${i}`;
  const token = String((await expectOk('token', call('POST', '/__dev/token', { body: { sub } }))).token);
  const seeded = await expectOk('seed', call('POST', '/__dev/seed-kyc-and-provision?country=BR', { token }));
  const holder = String((seeded.kyc as { kycName?: string } | undefined)?.kycName ?? 'Test Holder');
  await expectOk('approve-kyc', call('POST', '/__dev/approve-kyc', { token }));
  await until('eligibility', async () => (await call('GET', '/eligibility', { token })).data.eligible === true);
  await expectOk('fund', call('POST', '/__dev/fund', { token, body: { amount: '100000', currency: 'USDT' } }));
  const account = await expectOk(
    'fiat account',
    call('POST', '/fiat-accounts', {
      token,
      body: { type: 'PIX', fiatAccountFields: { pixKey: '12345678909', documentNumber: '12345678909', accountName: holder } },
    }),
    201,
  );
  for (let n = 0; n < count; n++) {
    const session = await expectOk(
      'session',
      call('POST', '/session', {
        token,
        body: {
          data: {
            type: 'withdrawal',
            amount: '100.00',
            source_currency_id: 'BRL',
            payment_route_id: 'BR_PIX',
            wallet_id: 'MAIN',
            fiat_account_id: account.fiatAccountId,
          },
        },
      }),
      201,
    );
    const initiated = await expectOk('initiate', call('POST', '/initiate-withdrawal', { token, body: { session_id: session.session_id } }));
    const id = String(initiated.withdrawal_id);
    const initiatedAt = performance.now();
    const status = async () => String((await call('GET', `/withdrawals/${id}`, { token })).data.status);
    await until(`withdrawal ${id} processing`, async () => (await status()) === 'processing');
    // Seen by a poll every 100 ms: up to that much late.
    toProcessingMs.push(performance.now() - initiatedAt);
    await expectOk(
      'emit-offramp',
      call('POST', '/__dev/emit-offramp', { token, body: { session_id: session.session_id, scenario: 'success' } }),
    );
    await until(`withdrawal ${id} completed`, async () => (await status()) === 'completed');
  }
}

/** The stack's last output, shown when the bench fails. */
let stackOutput = '';
/** The stack's process, stopped at the end whatever happened. */
let stackChild: ChildProcess | undefined;

async function startStack(dataDir: string): Promise<{ child: ChildProcess; gateway: string }> {
  const { child, ports } = await spawnChildStack({
    dataDir,
    env: { DEV_ENDPOINTS: 'true', DEV_SECRET: devSecret, RATE_LIMIT_MAX: '1000000', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    onOutput: (text) => (stackOutput = (stackOutput + text).slice(-20_000)),
  });
  stackChild = child;
  const alive = () => stackRunning(child);
  for (const service of services) {
    await waitUntil(service.name, () => httpAnswers200(`http://127.0.0.1:${ports[service.name]}/readyz`), { timeoutMs: 120_000, alive });
  }
  return { child, gateway: `http://127.0.0.1:${ports.gateway}` };
}

async function stopStack(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'offramp-idle-cpu-'));
// Embedded Postgres runs as the postgres user when we are root: it must reach its directory.
await fs.chmod(dataDir, 0o755);
// Interrupted: the stack (and its Postgres and nats-server) stops with us, its data removed.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void (async () => {
      if (stackChild) await stopStack(stackChild);
      await fs.rm(dataDir, { recursive: true, force: true });
      process.exit(130);
    })();
  });
}
let stack: Awaited<ReturnType<typeof startStack>> | undefined;
try {
  stack = await startStack(dataDir);
  const root = stack.child.pid!;
  // The start's own work (migrations done, first polls) settles before the fresh figure.
  await delay(5_000);
  const fresh = await measure(root, settings.IDLE_FRESH_SECONDS);

  const call = gatewayClient(stack.gateway);
  const loadStarted = performance.now();
  await Promise.all(Array.from({ length: settings.IDLE_TRADERS }, (_, i) => trader(call, i, settings.IDLE_WITHDRAWALS_PER_TRADER)));
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const withdrawals = settings.IDLE_TRADERS * settings.IDLE_WITHDRAWALS_PER_TRADER;

  // After the load: consecutive windows, so the return to idle is visible.
  const windows: Awaited<ReturnType<typeof measure>>[] = [];
  for (let t = 0; t < settings.IDLE_AFTER_SECONDS; t += settings.IDLE_WINDOW_SECONDS)
    windows.push(await measure(root, settings.IDLE_WINDOW_SECONDS));
  const lastWindows = windows.slice(-Math.max(1, Math.round(30 / settings.IDLE_WINDOW_SECONDS)));
  const lastByProcess: Record<string, number> = {};
  for (const w of lastWindows)
    for (const [group, cores] of Object.entries(w.by_process))
      lastByProcess[group] = (lastByProcess[group] ?? 0) + cores / lastWindows.length;
  for (const group of Object.keys(lastByProcess)) lastByProcess[group] = round(lastByProcess[group]!);

  const cpus = os.cpus();
  process.stdout.write(
    `${JSON.stringify({
      bench: 'idle-cpu',
      machine: { cpus: cpus.length, model: cpus[0]?.model ?? 'unknown' },
      load: {
        withdrawals,
        traders: settings.IDLE_TRADERS,
        seconds: round(loadSeconds),
        per_second: round(withdrawals / loadSeconds),
        initiate_to_processing_ms: { p50: percentile(toProcessingMs, 50), p99: percentile(toProcessingMs, 99) },
      },
      fresh,
      after_load: {
        windows: windows.map((w) => ({ total_cores: w.total_cores, by_process: w.by_process })),
        last_30s_total_cores: total(lastByProcess),
        last_30s_by_process: lastByProcess,
      },
      after_minus_fresh_cores: round(total(lastByProcess) - fresh.total_cores),
      loadavg: { start: loadStart, end: os.loadavg() },
      wall_seconds: round((Date.now() - startedAt) / 1000),
    })}\n`,
  );
} catch (err) {
  process.stderr.write(`bench:idle failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.stderr.write(`last output of the stack:\n${stackOutput.slice(-5_000)}\n`);
  process.exitCode = 1;
} finally {
  if (stackChild) await stopStack(stackChild);
  await fs.rm(dataDir, { recursive: true, force: true });
}
