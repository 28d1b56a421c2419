import { createWriteStream, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { spawnChildStack, stackRunning } from '@offramp/stack/src/child-stack.ts';
import { services } from '@offramp/stack/src/services.ts';
import { childrenOf, cpuSeconds, memoryMiB, waitFor200 } from './common.ts';

/** The processes of `npm start` the benchmark accounts for: the stack's own list of services. */
export const serviceNames = services.map((s) => s.name);

/** CPU seconds of every process of the stack, by name: the seven services, postgres (its backends too), nats-server, the stack itself. */
export type CpuSample = Record<string, number>;

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
  /** Peak resident memory (MiB) of each service process so far. */
  peakRssMiB(): Record<string, number | null>;
  /** SIGINT, as Ctrl-C: the stack stops the services, then its servers; resolves with how it ended. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; seconds: number }>;
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
    peakRssMiB() {
      return Object.fromEntries(
        Object.entries(pids())
          .filter(([name]) => serviceNames.includes(name))
          .map(([name, pid]) => [name, memoryMiB(pid)?.peak ?? null]),
      );
    },
    async stop() {
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
