import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { EventLoopUtilization } from 'node:perf_hooks';

/**
 * Where the CPU went during a window. On a small machine the ledger, Postgres and nats-server
 * compete for the same cores, and these figures tell a saturated event loop from a starved one.
 */
export interface CpuFigures {
  /** This process's CPU time over wall time (2.0 = two cores busy). */
  processCores: number;
  /** Share of the window the event loop was not idle; time spent waiting for a core counts as busy. */
  eventLoopUtilization: number;
  /** Share of the window the main thread was ready to run but waiting for a core (Linux only, else null). */
  mainThreadWaitingForCpu: number | null;
  /** All processes on the machine in busy cores (Postgres, nats-server, this one, anything else). */
  machineBusyCores: number;
}

interface Snapshot {
  atMs: number;
  process: NodeJS.CpuUsage;
  loop: EventLoopUtilization;
  machine: { busy: number; total: number };
  schedWaitNs: number | null;
}

/**
 * Busy and total time of all cores. /proc/stat is preferred because it also counts softirq and
 * steal time, which loopback networking and virtual machines produce and `os.cpus()` leaves out.
 */
function machineTimes(): { busy: number; total: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((sum, v) => sum + v, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    let busy = 0;
    let total = 0;
    for (const { times } of os.cpus()) {
      const all = times.user + times.nice + times.sys + times.idle + times.irq;
      total += all;
      busy += all - times.idle;
    }
    return { busy, total };
  }
}

/** Nanoseconds the main thread has spent runnable but not running, from the scheduler's own count. */
function mainThreadWaitNs(): number | null {
  try {
    const [, waitNs] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return Number.isFinite(waitNs) ? waitNs! : null;
  } catch {
    return null;
  }
}

export function takeCpuSnapshot(): Snapshot {
  return {
    atMs: performance.now(),
    process: process.cpuUsage(),
    loop: performance.eventLoopUtilization(),
    machine: machineTimes(),
    schedWaitNs: mainThreadWaitNs(),
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export function cpuSince(before: Snapshot): CpuFigures {
  const after = takeCpuSnapshot();
  const wallMs = Math.max(1, after.atMs - before.atMs);
  const processMs = (after.process.user - before.process.user + after.process.system - before.process.system) / 1_000;
  const machineTotal = Math.max(1, after.machine.total - before.machine.total);
  const waitNs = after.schedWaitNs !== null && before.schedWaitNs !== null ? after.schedWaitNs - before.schedWaitNs : null;
  return {
    processCores: round2(processMs / wallMs),
    eventLoopUtilization: round2(performance.eventLoopUtilization(after.loop, before.loop).utilization),
    mainThreadWaitingForCpu: waitNs === null ? null : round2(waitNs / 1e6 / wallMs),
    machineBusyCores: round2(((after.machine.busy - before.machine.busy) / machineTotal) * os.cpus().length),
  };
}
