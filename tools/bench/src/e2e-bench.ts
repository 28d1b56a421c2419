import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadavg, machine, measure, percentile, progress } from './common.ts';
import {
  coresBetween,
  countsBetween,
  serviceNames,
  startStack,
  type CpuSample,
  type IoSample,
  type RunningStack,
  type StackCounts,
} from './stack-process.ts';
import { setUpTrader, withdraw, type Trader, type WithdrawalTiming } from './widget-client.ts';

/*
 * npm run bench:e2e [-- --withdrawals 300 --traders 30 --half-seconds 15 --idle-seconds 60]
 *
 * The whole stack as `npm start` runs it (a child process: embedded Postgres and nats-server in a
 * throwaway data directory, the seven services, the Alfred sandbox), then complete withdrawals
 * through the gateway's public API as the widget makes them, Alfred's success through the QA
 * endpoint. Phases: the fresh stack idle (CPU of each process); the traders' setup; `--withdrawals`
 * withdrawals by `--traders` traders at once, each one after another (the maximum rate); new
 * withdrawals arriving at half that rate for `--half-seconds` (p99/p50 when the system is not
 * saturated); then `--idle-seconds` of idle, each process's CPU per 10 s, the last window compared
 * with the fresh stack's. Stops the stack (SIGINT, as Ctrl-C) and prints one JSON line. The
 * maximum-rate phase starts no withdrawal after `--max-phase-seconds` (55): with it the whole run
 * stays under 3 minutes however slow the stack (`maxRate.cutShort` then says so). Per withdrawal
 * of the maximum-rate phase it prints each process's CPU ms and what the servers did
 * (`serverWorkPerWithdrawal`: Postgres transactions from pg_stat_database, JetStream messages
 * stored from the streams' last sequences; see StackCounts in stack-process.ts).
 */

const { values: args } = parseArgs({
  options: {
    withdrawals: { type: 'string', default: '300' },
    traders: { type: 'string', default: '30' },
    'half-seconds': { type: 'string', default: '15' },
    'idle-seconds': { type: 'string', default: '60' },
    'baseline-seconds': { type: 'string', default: '10' },
    /** The maximum-rate phase starts no withdrawal after this long, so that the run stays under 3 minutes however slow the stack. */
    'max-phase-seconds': { type: 'string', default: '55' },
    /** Keeps the throwaway data directory (Postgres, NATS, the stack's log) for a look afterwards. */
    'keep-data': { type: 'boolean', default: false },
    /**
     * Writes a CPU profile (node --cpu-prof) of every Node process of the stack into this directory
     * when it stops, and `pids.json` naming each profile's process; the profiler's own cost inflates
     * the CPU figures of such a run.
     */
    'cpu-prof': { type: 'string' },
  },
});
const withdrawalCount = Number(args.withdrawals);
const traderCount = Number(args.traders);
const halfSeconds = Number(args['half-seconds']);
const idleSeconds = Number(args['idle-seconds']);
const baselineSeconds = Number(args['baseline-seconds']);
const maxPhaseSeconds = Number(args['max-phase-seconds']);
/** What each withdrawal asks: 1,000 MXN by SPEI (about 55 USDT). */
const fiatAmount = '1000.00';
/** Risk's default velocity limit: 20 withdrawals a trader a day. */
const dailyCountLimit = 20;
const idleWindowSeconds = 10;

const ms = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const p = (q: number) => percentile(sorted, q);
  return { p50: p(50), p90: p(90), p99: p(99), max: sorted.at(-1) ?? null, count: sorted.length };
};
const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? measure(a / b, 2) : null);

/** CPU over a window of `seconds`, per process, in cores; `services` sums the seven services. */
async function idleCores(stack: RunningStack, seconds: number): Promise<Record<string, number>> {
  const before = stack.cpu();
  await delay(seconds * 1_000);
  return withServices(coresBetween(before, stack.cpu(), seconds));
}

function withServices(cores: Record<string, number>): Record<string, number> {
  const services = serviceNames.reduce((sum, name) => sum + (cores[name] ?? 0), 0);
  return { ...cores, services: measure(services, 3) };
}

async function runPhase(
  what: string,
  stack: RunningStack,
  traders: Trader[],
  plan: { count: number; concurrency?: number; ratePerSecond?: number; budgetSeconds?: number },
): Promise<{
  timings: WithdrawalTiming[];
  failures: string[];
  seconds: number;
  cutShort: boolean;
  cpu: { before: CpuSample; after: CpuSample };
  /** This process's own CPU over the phase (the traders' side: requests, event streams), in seconds. */
  generatorCpuSeconds: number;
  io: { before: IoSample; after: IoSample };
  counts: { before: StackCounts; after: StackCounts };
}> {
  const timings: WithdrawalTiming[] = [];
  const failures: string[] = [];
  const one = async (traderIndex: number) => {
    try {
      timings.push(await withdraw(stack.gatewayUrl, stack.devSecret, traders[traderIndex % traders.length]!, fiatAmount));
    } catch (err) {
      failures.push(String(err).slice(0, 300));
    }
  };
  progress(
    `${what}: ${plan.count} withdrawals, ${plan.ratePerSecond ? `arriving at ${measure(plan.ratePerSecond, 2)}/s` : `${plan.concurrency} at once`}`,
  );
  const countsBefore = await stack.counts();
  const before = stack.cpu();
  const ioBefore = stack.io();
  const generatorBefore = process.cpuUsage();
  const started = performance.now();
  if (plan.ratePerSecond) {
    const running: Promise<void>[] = [];
    for (let i = 0; i < plan.count; i++) {
      const due = started + (i * 1_000) / plan.ratePerSecond;
      const wait = due - performance.now();
      if (wait > 0) await delay(wait);
      running.push(one(i));
    }
    await Promise.all(running);
  } else {
    // One worker per trader, each making its withdrawals one after another.
    let next = 0;
    const deadline = started + (plan.budgetSeconds ?? Infinity) * 1_000;
    await Promise.all(
      Array.from({ length: plan.concurrency! }, async (_, worker) => {
        while (next < plan.count && performance.now() < deadline) {
          next++;
          await one(worker);
        }
      }),
    );
  }
  const seconds = (performance.now() - started) / 1_000;
  const after = stack.cpu();
  const ioAfter = stack.io();
  const generator = process.cpuUsage(generatorBefore);
  const counts = { before: countsBefore, after: await stack.counts() };
  return {
    timings,
    failures,
    seconds,
    cutShort: timings.length + failures.length < plan.count,
    cpu: { before, after },
    generatorCpuSeconds: (generator.user + generator.system) / 1e6,
    io: { before: ioBefore, after: ioAfter },
    counts,
  };
}

function summarise(phase: Awaited<ReturnType<typeof runPhase>>) {
  const initiate = ms(phase.timings.map((t) => t.initiateMs));
  const processing = ms(phase.timings.map((t) => t.initiateToProcessingMs));
  const completed = ms(phase.timings.map((t) => t.initiateToCompletedMs));
  return {
    completed: phase.timings.length,
    failed: phase.failures.length,
    /** The phase ran out of its time budget before starting them all. */
    cutShort: phase.cutShort,
    failures: phase.failures.slice(0, 5),
    seconds: measure(phase.seconds, 1),
    withdrawalsPerSecond: measure(phase.timings.length / phase.seconds, 2),
    initiateRetries: phase.timings.reduce((sum, t) => sum + t.initiateRetries, 0),
    initiateMs: { p50: initiate.p50, p90: initiate.p90, p99: initiate.p99, max: initiate.max },
    initiateToProcessingMs: { p50: processing.p50, p90: processing.p90, p99: processing.p99 },
    initiateToCompletedMs: { p50: completed.p50, p90: completed.p90, p99: completed.p99 },
  };
}

async function main() {
  const startedAt = new Date().toISOString();
  const loadStart = loadavg();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-e2e-'));
  // As root, Postgres runs as the postgres user, which must be able to reach its data directory.
  chmodSync(dataDir, 0o755);
  const logFile = path.join(dataDir, 'stack.log');
  progress(`starting the stack (npm start) in ${dataDir}; its output in ${logFile}`);
  const profileDir = args['cpu-prof'] === undefined ? undefined : path.resolve(args['cpu-prof']);
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const stack = await startStack({
    dataDir,
    logFile,
    devSecret: randomBytes(16).toString('hex'),
    timeoutMs: 120_000,
    env: profileDir ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profileDir}`.trim() } : {},
  });
  if (profileDir) writeFileSync(path.join(profileDir, 'pids.json'), `${JSON.stringify(stack.pids())}\n`);
  let stopped: Awaited<ReturnType<RunningStack['stop']>> | null = null;
  const closers: (() => void)[] = [];
  try {
    progress(`stack ready in ${stack.startSeconds} s; the fresh stack idle for ${baselineSeconds} s`);
    await delay(2_000);
    const fresh = await idleCores(stack, baselineSeconds);

    progress(`setting up ${traderCount} traders (KYC at Alfred, funds, a SPEI account, the event stream)`);
    const setupStarted = performance.now();
    const suffix = randomBytes(3).toString('hex');
    const traders = await Promise.all(
      Array.from({ length: traderCount }, (_, i) => setUpTrader(stack.gatewayUrl, stack.devSecret, `bench-${suffix}-${i}`, i, '5000')),
    );
    closers.push(...traders.map((t) => t.closeStream));
    const setupSeconds = measure((performance.now() - setupStarted) / 1_000, 1);

    const max = await runPhase('maximum rate', stack, traders, {
      count: withdrawalCount,
      concurrency: traderCount,
      budgetSeconds: maxPhaseSeconds,
    });
    const maxSummary = summarise(max);
    const loadCores = withServices(coresBetween(max.cpu.before, max.cpu.after, max.seconds));
    const cpuSeconds = Object.fromEntries(
      Object.entries(max.cpu.after).map(([name, value]) => [name, measure(value - (max.cpu.before[name] ?? value), 2)]),
    );
    // What one withdrawal costs each process: robust to a busy machine, unlike the rate.
    const cpuMsPerWithdrawal = Object.fromEntries(
      Object.entries(cpuSeconds).map(([name, seconds]) => [
        name,
        max.timings.length > 0 ? measure((seconds * 1_000) / max.timings.length, 1) : null,
      ]),
    );
    // What one withdrawal costs the servers, in counts that do not depend on how busy the machine is.
    const done = max.timings.length;
    const counted = countsBetween(max.counts.before, max.counts.after);
    const perWithdrawal = (n: number) => (done > 0 ? measure(n / done, 1) : null);
    const serverWork = {
      /** xact_commit + xact_rollback of the stack's database (pg_stat_database), over the phase. */
      pgTransactionsPerWithdrawal: perWithdrawal(counted.pgTransactions),
      /** Messages stored by JetStream over the phase: the growth of every stream's last sequence (KV buckets included). */
      jetstreamMessagesPerWithdrawal: perWithdrawal(counted.jetstreamMessages),
      jetstreamMessagesPerStream: Object.fromEntries(
        Object.entries(counted.jetstreamMessagesPerStream)
          .filter(([, n]) => n > 0)
          .map(([name, n]) => [name, perWithdrawal(n)]),
      ),
      /**
       * Per process, over the phase: write and read system calls (Postgres's socket writes are
       * send(2), not counted there) and context switches, each a process put to sleep or woken.
       */
      syscallsPerWithdrawal: Object.fromEntries(
        Object.entries(max.io.after).map(([name, after]) => {
          const before = max.io.before[name] ?? after;
          return [
            name,
            {
              writes: perWithdrawal(after.writes - before.writes),
              reads: perWithdrawal(after.reads - before.reads),
              switches: perWithdrawal(after.switches - before.switches),
            },
          ];
        }),
      ),
      pgTransactions: counted.pgTransactions,
      jetstreamMessages: counted.jetstreamMessages,
    };
    progress(
      `CPU ms per withdrawal: ${Object.entries(cpuMsPerWithdrawal)
        .map(([name, value]) => `${name} ${value}`)
        .join(', ')}; per withdrawal: Postgres transactions ${serverWork.pgTransactionsPerWithdrawal}, ` +
        `JetStream messages stored ${serverWork.jetstreamMessagesPerWithdrawal}`,
    );

    // Half the maximum rate, for a fixed time; no trader past risk's daily count.
    const halfRate = maxSummary.withdrawalsPerSecond / 2;
    const perTraderLeft = dailyCountLimit - Math.ceil(withdrawalCount / traderCount) - 1;
    const halfCount = Math.max(1, Math.min(Math.round(halfRate * halfSeconds), perTraderLeft * traderCount));
    const half = halfRate > 0 ? await runPhase('half rate', stack, traders, { count: halfCount, ratePerSecond: halfRate }) : null;
    const halfSummary = half && summarise(half);
    const peakRss = stack.peakRssMiB();
    for (const close of closers) close();

    progress(`idle for ${idleSeconds} s (CPU per ${idleWindowSeconds} s window)`);
    const windows: Record<string, number>[] = [];
    for (let elapsed = 0; elapsed < idleSeconds; elapsed += idleWindowSeconds) {
      windows.push(await idleCores(stack, Math.min(idleWindowSeconds, idleSeconds - elapsed)));
    }
    const afterLoad = windows.at(-1) ?? {};

    progress('stopping the stack (SIGINT)');
    stopped = await stack.stop();
    const services = Object.fromEntries(
      [...serviceNames, 'postgres', 'nats', 'stack'].map((name) => [
        name,
        {
          cpuSeconds: cpuSeconds[name] ?? null,
          cpuMsPerWithdrawal: cpuMsPerWithdrawal[name] ?? null,
          cores: loadCores[name] ?? null,
          maxRssMiB: peakRss[name] ?? null,
          freshIdleCores: fresh[name] ?? null,
          idleCoresAfterLoad: afterLoad[name] ?? null,
        },
      ]),
    );
    const result = {
      bench: 'e2e',
      startedAt,
      machine: machine(),
      loadavgStart: loadStart,
      loadavgEnd: loadavg(),
      stackStartSeconds: stack.startSeconds,
      setupSeconds,
      traders: traderCount,
      withdrawals: withdrawalCount,
      concurrency: traderCount,
      withdrawalsPerSecond: maxSummary.withdrawalsPerSecond,
      initiateMs: maxSummary.initiateMs,
      initiateToProcessingMs: maxSummary.initiateToProcessingMs,
      initiateToCompletedMs: maxSummary.initiateToCompletedMs,
      maxRate: maxSummary,
      halfRate: halfSummary && {
        ratePerSecond: measure(halfRate, 2),
        ...halfSummary,
        initiateP99OverP50: ratio(halfSummary.initiateMs.p99, halfSummary.initiateMs.p50),
        completedP99OverP50: ratio(halfSummary.initiateToCompletedMs.p99, halfSummary.initiateToCompletedMs.p50),
      },
      cpuCoresUnderLoad: {
        services: loadCores.services,
        total: loadCores.total,
        /** The load generator (this process), which shares the machine. */
        generator: measure(max.generatorCpuSeconds / max.seconds, 3),
      },
      serverWorkPerWithdrawal: serverWork,
      idle: {
        freshCores: { services: fresh.services, total: fresh.total },
        afterLoadCores: { services: afterLoad.services, total: afterLoad.total, afterSeconds: idleSeconds },
        servicesOverFresh: measure((afterLoad.services ?? 0) - (fresh.services ?? 0), 3),
        withinATenthOfACore: (afterLoad.services ?? 0) - (fresh.services ?? 0) <= 0.1,
        servicesPerWindow: windows.map((w) => w.services),
      },
      services,
      stop: stopped,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const close of closers) close();
    if (!stopped) await stack.stop();
    if (!args['keep-data']) rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
