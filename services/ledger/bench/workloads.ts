import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { RpcError, newId } from '@offramp/kit';
import { ledgerRpc, type AccountRef, type TransferResult } from '@offramp/contracts';
import { createRecorder, type LatencySummary, type Recorder } from './latency.ts';
import type { CallLedger } from './throwaway-ledger.ts';

/** Measurement window on the `performance.now()` clock: warm-up first, then what is reported. */
export interface Window {
  measureFromMs: number;
  endsAtMs: number;
}

export interface CaseResult {
  name: string;
  clients: number;
  accounts: number;
  seconds: number;
  /** Operations (hold pairs or transfers) completed inside the measured window. */
  operations: number;
  opsPerSecond: number;
  latencies: Record<string, LatencySummary>;
  /** Every rpc answer, warm-up included, as `<rpc>:<outcome>` or `<rpc>:error:<code>`. */
  outcomes: Record<string, number>;
  unexpected: number;
  /** This process's CPU time over wall time in the window (2.0 = two cores busy). */
  nodeCpuCores: number;
  /** Share of the window the event loop was busy: near 1 means the process itself is the limit. */
  eventLoopUtilization: number;
  /** All processes on the machine (Postgres, nats-server, this one, anything else) in busy cores. */
  machineBusyCores: number;
}

export interface CaseSpec {
  name: string;
  clients: number;
  accounts: number;
  warmupSeconds: number;
  seconds: number;
  /** One operation of one client; returns once it is done, recording what happened. */
  operation: (rec: Recorder, window: Window) => Promise<void>;
}

/** Busy and total CPU time of the whole machine since boot, summed over cores, in ms. */
function machineCpuMs(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

const inWindow = (w: Window, at: number) => at >= w.measureFromMs && at < w.endsAtMs;

/** Calls one rpc, timing it and recording its outcome; returns null when no answer came back. */
async function timedCall(rec: Recorder, window: Window, kind: string, call: () => Promise<TransferResult>): Promise<TransferResult | null> {
  const started = performance.now();
  try {
    const result = await call();
    const done = performance.now();
    rec.outcome(`${kind}:${result.outcome}`);
    if (inWindow(window, done)) rec.latency(kind, done - started);
    return result;
  } catch (err) {
    rec.outcome(`${kind}:error:${err instanceof RpcError ? err.code : 'other'}`);
    return null;
  }
}

/** A hold from the debit towards the credit account `pickPair` gives, then its post: the two-phase path a payout takes. */
export function holdPair(call: CallLedger, pickPair: () => [AccountRef, AccountRef], amountMinor: bigint): CaseSpec['operation'] {
  return async (rec, window) => {
    const [debit, credit] = pickPair();
    const started = performance.now();
    const hold = await timedCall(rec, window, 'placeHold', () => call(ledgerRpc.placeHold, { id: newId(), debit, credit, amountMinor, metadata: { reason: 'bench' } }));
    if (hold?.outcome !== 'ok' || !hold.transfer) return;
    const holdId = hold.transfer.id;
    const post = await timedCall(rec, window, 'postHold', () => call(ledgerRpc.postHold, { id: newId(), holdId }));
    const done = performance.now();
    if (post?.outcome === 'ok' && inWindow(window, done)) rec.latency('pair', done - started);
  };
}

/** One immediate transfer between two different accounts picked by `pickPair`. */
export function immediateTransfer(call: CallLedger, pickPair: () => [AccountRef, AccountRef], amountMinor: bigint): CaseSpec['operation'] {
  return async (rec, window) => {
    const [debit, credit] = pickPair();
    await timedCall(rec, window, 'transfer', () => call(ledgerRpc.transfer, { id: newId(), debit, credit, amountMinor, metadata: { reason: 'bench' } }));
  };
}

/** The series whose count is the number of completed operations of a case. */
const operationSeries = (latencies: Record<string, LatencySummary>) => latencies.pair ?? latencies.transfer;

/**
 * Runs `spec.clients` loops of `spec.operation` until the window ends (or `signal` aborts), then
 * waits for the operations in flight. Only operations completed inside the window are counted.
 */
export async function runCase(spec: CaseSpec, signal: AbortSignal): Promise<CaseResult> {
  const rec = createRecorder();
  const startedAt = performance.now();
  const window: Window = { measureFromMs: startedAt + spec.warmupSeconds * 1_000, endsAtMs: startedAt + (spec.warmupSeconds + spec.seconds) * 1_000 };
  const client = async () => {
    while (performance.now() < window.endsAtMs && !signal.aborted) await spec.operation(rec, window);
  };
  const loops = Promise.all(Array.from({ length: spec.clients }, client));

  // CPU and event-loop figures cover the measured window only, like the latencies.
  await sleep(Math.max(0, window.measureFromMs - performance.now()), undefined, { signal }).catch(() => undefined);
  const cpuBefore = process.cpuUsage();
  const machineBefore = machineCpuMs();
  const eluBefore = performance.eventLoopUtilization();
  const measuredFrom = performance.now();
  await sleep(Math.max(0, window.endsAtMs - performance.now()), undefined, { signal }).catch(() => undefined);
  const cpu = process.cpuUsage(cpuBefore);
  const machineAfter = machineCpuMs();
  const elu = performance.eventLoopUtilization(eluBefore);
  const measuredMs = Math.max(1, performance.now() - measuredFrom);
  await loops;

  const latencies = rec.latencies();
  const outcomes = rec.outcomes();
  const operations = operationSeries(latencies)?.count ?? 0;
  return {
    name: spec.name,
    clients: spec.clients,
    accounts: spec.accounts,
    seconds: spec.seconds,
    operations,
    opsPerSecond: Math.round((operations / spec.seconds) * 10) / 10,
    latencies,
    outcomes,
    unexpected: Object.entries(outcomes).reduce((n, [name, count]) => (name.endsWith(':ok') ? n : n + count), 0),
    nodeCpuCores: Math.round(((cpu.user + cpu.system) / 1_000 / measuredMs) * 100) / 100,
    eventLoopUtilization: Math.round(elu.utilization * 100) / 100,
    machineBusyCores: Math.round(((machineAfter.busy - machineBefore.busy) / measuredMs) * 100) / 100,
  };
}
