import { createWriteStream, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { connectMessaging, createLogger, openDatabase, queryRow, type Database, type Messaging } from '@offramp/kit';
import { spawnChildStack, stackRunning } from '@offramp/stack/src/child-stack.ts';
import { services } from '@offramp/stack/src/services.ts';
import { childrenOf, cpuSeconds, ioCounts, memoryMiB, waitFor200 } from './common.ts';

/** The processes of `npm start` the benchmark accounts for: the stack's own list of services. */
export const serviceNames = services.map((s) => s.name);

/** CPU seconds of every process of the stack, by name: the seven services, postgres (its backends too), nats-server, the stack itself. */
export type CpuSample = Record<string, number>;
/** Per process: read and write system calls and context switches so far (`ioCounts`); Postgres's live backends summed. */
export type IoSample = Record<string, { reads: number; writes: number; switches: number }>;

/** utime + stime + cutime + cstime: a process and the children it has reaped (postgres's ended backends). */
function cpuWithReaped(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return null;
  }
}

export interface RunningStack {
  gatewayUrl: string;
  devSecret: string;
  /** Seconds from the spawn to every service answering /readyz. */
  startSeconds: number;
  pids(): Record<string, number>;
  cpu(): CpuSample;
  io(): IoSample;
  /** Peak resident memory (MiB) of each service process so far. */
  peakRssMiB(): Record<string, number | null>;
  /** What the stack's Postgres and JetStream have done so far (counters that only grow); see StackCounts. */
  counts(): Promise<StackCounts>;
  /** SIGINT, as Ctrl-C: the stack stops the services, then its servers; resolves with how it ended. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; seconds: number }>;
}

/**
 * Counters of the stack's servers, read between two moments for what happened in between:
 * - `pgTransactions`: xact_commit + xact_rollback of the stack's database in pg_stat_database.
 *   Backends publish their counts when a transaction ends but at most once a second (after 10 s
 *   when idle), so a reading can lack about the last second's transactions.
 * - `jetstreamMessages`: per stream (the KV buckets' too), the sequence of its last message, which
 *   grows by one per message stored whatever its retention later removes. The stack's nats-server
 *   runs without a monitoring port, so the server's own in_msgs (core requests and replies too) is
 *   not available; rpcs over core NATS are not counted.
 */
export interface StackCounts {
  pgTransactions: number;
  jetstreamMessages: Record<string, number>;
}

/** The stack's embedded Postgres: its user, password and database (tools/stack/src/postgres.ts). */
const stackDatabaseUrl = (port: number) => `postgres://postgres:postgres@127.0.0.1:${port}/offramp`;

/** Opens a connection to the stack's Postgres and NATS on first use, to read their counters. */
function stackCounters(ports: Record<string, number>) {
  let opened: Promise<{ db: Database; messaging: Messaging }> | undefined;
  const open = async () => {
    const log = createLogger({ name: 'bench-e2e', level: 'silent' });
    const db = await openDatabase({ url: stackDatabaseUrl(ports.postgres!), schema: 'public', migrations: [], poolMax: 1 });
    const messaging = await connectMessaging({ url: `nats://127.0.0.1:${ports.nats}`, name: 'bench-e2e-counters', log });
    return { db, messaging };
  };
  return {
    async read(): Promise<StackCounts> {
      const { db, messaging } = await (opened ??= open());
      const row = await queryRow(
        db.em.fork(),
        z.object({ transactions: z.string() }),
        'select (xact_commit + xact_rollback)::text as transactions from pg_stat_database where datname = current_database()',
      );
      const jetstreamMessages: Record<string, number> = {};
      for await (const stream of messaging.jsm.streams.list()) jetstreamMessages[stream.config.name] = stream.state.last_seq;
      return { pgTransactions: Number(row?.transactions ?? 0), jetstreamMessages };
    },
    async close() {
      if (!opened) return;
      const { db, messaging } = await opened.catch(() => ({ db: null, messaging: null }));
      await messaging?.nc.close().catch(() => undefined);
      await db?.close().catch(() => undefined);
    },
  };
}

/** What the stack's servers did between two readings: Postgres transactions, and JetStream messages stored in all and per stream. */
export function countsBetween(before: StackCounts, after: StackCounts) {
  const perStream = Object.fromEntries(
    Object.entries(after.jetstreamMessages).map(([name, last]) => [name, last - (before.jetstreamMessages[name] ?? 0)]),
  );
  return {
    pgTransactions: after.pgTransactions - before.pgTransactions,
    jetstreamMessages: Object.values(perStream).reduce((sum, n) => sum + n, 0),
    jetstreamMessagesPerStream: perStream,
  };
}

/**
 * `npm start` (tools/stack/src/start.ts) as a child process, exactly as a developer runs it but with
 * a throwaway data directory (its own embedded Postgres cluster and nats-server store) and ports of
 * its own, the QA endpoints on, and the gateway's per-trader rate limit lifted (one client drives
 * many withdrawals per trader). Its output goes to `logFile`.
 */
export async function startStack(opts: {
  dataDir: string;
  logFile: string;
  devSecret: string;
  timeoutMs: number;
  /** Set on the stack's environment on top of the benchmark's own (e.g. NODE_OPTIONS for CPU profiles). */
  env?: NodeJS.ProcessEnv;
}): Promise<RunningStack> {
  const started = performance.now();
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  // The stack's own servers, never ones from the environment: the run must not touch anyone's data.
  const {
    child: proc,
    ports,
    exited,
  } = await spawnChildStack({
    dataDir: opts.dataDir,
    env: { DEV_ENDPOINTS: 'true', DEV_SECRET: opts.devSecret, RATE_LIMIT_MAX: '1000000', ...opts.env },
    unset: ['NATS_NAMESPACE'],
    onOutput: (text) => log.write(text),
  });
  void exited.then(() => log.end());
  const stackPid = proc.pid!;
  const running = () => stackRunning(proc);
  const killOnExit = () => void (running() && proc.kill('SIGKILL'));
  process.on('exit', killOnExit);

  const pids = (): Record<string, number> => {
    const found: Record<string, number> = { stack: stackPid };
    for (const child of childrenOf(stackPid)) {
      const name = services.find((service) => child.cmdline.includes(service.entry))?.name;
      if (name) found[name] = child.pid;
      else if (/\bpostgres\b/.test(child.cmdline) && child.cmdline.includes(' -D ')) found.postgres = child.pid;
      else if (child.cmdline.includes('nats-server')) found.nats = child.pid;
    }
    return found;
  };

  try {
    for (const name of serviceNames) {
      await waitFor200(`http://127.0.0.1:${ports[name]}/readyz`, {
        timeoutMs: opts.timeoutMs,
        alive: running,
        what: `the stack's ${name}`,
      });
    }
  } catch (err) {
    if (running()) proc.kill('SIGINT');
    await Promise.race([exited, delay(20_000, undefined, { ref: false })]);
    throw new Error(`${String(err)}; see ${opts.logFile}`);
  }
  const startSeconds = Math.round((performance.now() - started) / 100) / 10;
  const counters = stackCounters(ports);

  return {
    gatewayUrl: `http://127.0.0.1:${ports.gateway}`,
    devSecret: opts.devSecret,
    startSeconds,
    pids,
    cpu() {
      const sample: CpuSample = {};
      for (const [name, pid] of Object.entries(pids())) {
        if (name === 'postgres') {
          // The postmaster with the backends it has reaped, plus the live ones.
          let total = cpuWithReaped(pid) ?? 0;
          for (const backend of childrenOf(pid)) total += cpuSeconds(backend.pid) ?? 0;
          sample[name] = total;
        } else sample[name] = cpuSeconds(pid) ?? 0;
      }
      return sample;
    },
    io() {
      const sample: IoSample = {};
      for (const [name, pid] of Object.entries(pids())) {
        const processes = name === 'postgres' ? [pid, ...childrenOf(pid).map((backend) => backend.pid)] : [pid];
        const total = { reads: 0, writes: 0, switches: 0 };
        for (const counts of processes.map(ioCounts)) {
          total.reads += counts?.reads ?? 0;
          total.writes += counts?.writes ?? 0;
          total.switches += counts?.switches ?? 0;
        }
        sample[name] = total;
      }
      return sample;
    },
    peakRssMiB() {
      return Object.fromEntries(
        Object.entries(pids())
          .filter(([name]) => serviceNames.includes(name))
          .map(([name, pid]) => [name, memoryMiB(pid)?.peak ?? null]),
      );
    },
    counts: () => counters.read(),
    async stop() {
      await counters.close();
      const stopping = performance.now();
      if (running()) proc.kill('SIGINT');
      const timedOut = await Promise.race([exited.then(() => false), delay(60_000, true, { ref: false })]);
      if (timedOut && running()) proc.kill('SIGKILL');
      const exit = await exited;
      process.off('exit', killOnExit);
      return { ...exit, seconds: Math.round((performance.now() - stopping) / 100) / 10 };
    },
  };
}

/** CPU used between two samples, in cores, per process and in all. */
export function coresBetween(before: CpuSample, after: CpuSample, seconds: number): Record<string, number> {
  const out: Record<string, number> = {};
  let total = 0;
  for (const [name, value] of Object.entries(after)) {
    const used = Math.max(0, value - (before[name] ?? value));
    out[name] = Math.round((used / seconds) * 1000) / 1000;
    total += used;
  }
  out.total = Math.round((total / seconds) * 1000) / 1000;
  return out;
}
