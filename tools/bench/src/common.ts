import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePorts } from '@offramp/stack/src/child-stack.ts';

/** The repository root (tools/bench/src -> ../../..). */
export const repoRoot = path.resolve(import.meta.dirname, '../../..');

/** Where the benchmarks find Postgres and NATS: the environment, else the conventional local services the tests use. */
export const infra = {
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  natsUrl: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
};

/** Progress goes to stderr; stdout carries only the one JSON line of figures. */
export const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const round = (value: number, decimals: number) => Math.round(value * 10 ** decimals) / 10 ** decimals;
/** A measurement (a rate, a latency, cores) rounded for display; never used for money. */
export const measure = round;

/** The machine and how busy it is now: every benchmark prints it at its start and end. */
export function machine() {
  return {
    cpus: os.availableParallelism(),
    model: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
  };
}

export const loadavg = () => os.loadavg().map((l) => round(l, 2));

/** A TCP port nobody listens on right now. */
export const freePort = async (): Promise<number> => (await freePorts(1))[0]!;

export interface ChildProcessHandle {
  name: string;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** Sends `signal`, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns `node <script>` as a child of this process, its stdout and stderr appended to `logFile`
 * (written by the kernel, so reading a busy service's log costs this process nothing).
 */
export function spawnNode(opts: {
  name: string;
  script: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  args?: string[];
}): ChildProcessHandle {
  const fd = openSync(opts.logFile, 'a');
  const proc = spawn(process.execPath, [...(opts.args ?? []), opts.script], { cwd: repoRoot, env: opts.env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (proc.pid === undefined) throw new Error(`${opts.name}: could not be spawned`);
  const running = () => proc.exitCode === null && proc.signalCode === null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const killOnExit = () => void (running() && proc.kill('SIGKILL'));
  process.on('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  return {
    name: opts.name,
    pid: proc.pid,
    exited,
    running,
    async stop(signal = 'SIGTERM', graceMs = 15_000) {
      if (running()) proc.kill(signal);
      const timedOut = await Promise.race([exited.then(() => false), delay(graceMs, true, { ref: false })]);
      if (timedOut && running()) proc.kill('SIGKILL');
      return exited;
    },
  };
}

/** Waits until `url` answers 200 (a /readyz), failing after `timeoutMs` or when `alive` turns false. */
export async function waitFor200(url: string, opts: { timeoutMs: number; alive?: () => boolean; what: string }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (opts.alive && !opts.alive()) throw new Error(`${opts.what} exited before it was ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${opts.what} was not ready within ${opts.timeoutMs} ms (${url})`);
    await delay(100);
  }
}

const clockTicks = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used, from /proc; null once it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return null;
  }
}

/**
 * A process's read and write system calls (syscr, syscw of /proc/<pid>/io: Node's and NATS's
 * socket writes are write/writev, Postgres's are send, which that count leaves out) and its
 * context switches over all its threads (each a sleep or a preemption: a message that wakes a
 * process costs one); null once it is gone.
 */
export function ioCounts(pid: number): { reads: number; writes: number; switches: number } | null {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (key: string) => Number(new RegExp(`^${key}: (\\d+)`, 'm').exec(io)?.[1] ?? 0);
    let switches = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
        for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)/gm)) switches += Number(m[1]);
      } catch {
        // the thread ended meanwhile
      }
    }
    return { reads: field('syscr'), writes: field('syscw'), switches };
  } catch {
    return null;
  }
}

/**
 * CPU seconds the whole machine has spent busy so far, over all its cores (/proc/stat's first line:
 * every state but idle and iowait); null where there is no /proc.
 */
export function machineBusySeconds(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
    return (user + nice + system + irq + softirq + steal) / clockTicks;
  } catch {
    return null;
  }
}

/** A process's peak and current resident memory in MiB (VmHWM, VmRSS), from /proc; null once it is gone. */
export function memoryMiB(pid: number): { peak: number; current: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { peak: round(kb('VmHWM') / 1024, 1), current: round(kb('VmRSS') / 1024, 1) };
  } catch {
    return null;
  }
}

/** The direct children of a process (pid and command line), from /proc. */
export function childrenOf(pid: number): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      out.push({ pid: Number(entry), cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim() });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The p-th percentile (0..100) of ascending `sorted`, nearest rank; null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Runs the teardowns newest first, each on its own; returns what failed instead of throwing. */
export async function runTeardowns(teardowns: [string, () => Promise<unknown>][]): Promise<string[]> {
  const failures: string[] = [];
  for (const [name, run] of [...teardowns].reverse()) {
    try {
      await run();
    } catch (err) {
      failures.push(`${name}: ${String(err)}`);
    }
  }
  return failures;
}
