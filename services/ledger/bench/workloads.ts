import { setTimeout as sleep } from 'node:timers/promises';
import { RpcError, newId } from '@offramp/kit';
import { ledgerRpc, type AccountRef, type TransferResult } from '@offramp/contracts';
import { cpuSince, takeCpuSnapshot, type CpuFigures } from './cpu-meter.ts';
import { createRecorder, type LatencySummary, type Recorder } from './latency.ts';
import type { CallLedger } from './throwaway-ledger.ts';

/** Measurement window on the `performance.now()` clock: warm-up first, then what is reported. */
export interface MeasureWindow {
  measureFromMs: number;
  endsAtMs: number;
}

export interface CaseResult {
  name: string;
  clients: number;
  accounts: number;
  /** Seconds actually measured: the planned window, or less when the run was interrupted. */
  seconds: number;
  /** Operations (hold pairs or transfers) completed inside the measured window. */
  operations: number;
  opsPerSecond: number;
  latencies: Record<string, LatencySummary>;
  /** Every rpc answer, warm-up included, as `<rpc>:<outcome>` or `<rpc>:error:<code>`. */
  outcomes: Record<string, number>;
  unexpected: number;
  /** Over the measured window only, like the latencies. */
  cpu: CpuFigures;
}

export interface CaseSpec {
  name: string;
  clients: number;
  accounts: number;
  warmupSeconds: number;
  seconds: number;
  /** One operation of one client; returns once it is done, recording what happened. */
  operation: (rec: Recorder, window: MeasureWindow) => Promise<void>;
}

const inWindow = (w: MeasureWindow, at: number) => at >= w.measureFromMs && at < w.endsAtMs;

/** Calls one rpc, timing it and recording its outcome; returns null when no answer came back. */
async function timedCall(
  rec: Recorder,
  window: MeasureWindow,
  kind: string,
  call: () => Promise<TransferResult>,
): Promise<TransferResult | null> {
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
    const hold = await timedCall(rec, window, 'placeHold', () =>
      call(ledgerRpc.placeHold, { id: newId(), debit, credit, amountMinor, metadata: { reason: 'bench' } }),
    );
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
    await timedCall(rec, window, 'transfer', () =>
      call(ledgerRpc.transfer, { id: newId(), debit, credit, amountMinor, metadata: { reason: 'bench' } }),
    );
  };
}

/** One hold, left pending: the latency of a lone request. */
export function singleHold(call: CallLedger, pickPair: () => [AccountRef, AccountRef], amountMinor: bigint): CaseSpec['operation'] {
  return async (rec, window) => {
    const [debit, credit] = pickPair();
    await timedCall(rec, window, 'placeHold', () =>
      call(ledgerRpc.placeHold, { id: newId(), debit, credit, amountMinor, metadata: { reason: 'bench' } }),
    );
  };
}

/** The series whose count is the number of completed operations of a case. */
const operationSeries = (latencies: Record<string, LatencySummary>) => latencies.pair ?? latencies.transfer ?? latencies.placeHold;

/**
 * Runs `spec.clients` loops of `spec.operation` until the window ends (or `signal` aborts), then
 * waits for the operations in flight. Only operations completed inside the window are counted.
 */
export async function runCase(spec: CaseSpec, signal: AbortSignal): Promise<CaseResult> {
  const rec = createRecorder();
  const startedAt = performance.now();
  const window: MeasureWindow = {
    measureFromMs: startedAt + spec.warmupSeconds * 1_000,
    endsAtMs: startedAt + (spec.warmupSeconds + spec.seconds) * 1_000,
  };
  const client = async () => {
    while (performance.now() < window.endsAtMs && !signal.aborted) await spec.operation(rec, window);
  };
  const loops = Promise.all(Array.from({ length: spec.clients }, client));

  await sleep(Math.max(0, window.measureFromMs - performance.now()), undefined, { signal }).catch(() => undefined);
  const cpuBefore = takeCpuSnapshot();
  await sleep(Math.max(0, window.endsAtMs - performance.now()), undefined, { signal }).catch(() => undefined);
  const cpu = cpuSince(cpuBefore);
  // An interrupted case measured less than planned; its rate is over what it did measure.
  const measuredSeconds = Math.max(0.001, (Math.min(performance.now(), window.endsAtMs) - window.measureFromMs) / 1_000);
  await loops;

  const latencies = rec.latencies();
  const outcomes = rec.outcomes();
  const operations = operationSeries(latencies)?.count ?? 0;
  return {
    name: spec.name,
    clients: spec.clients,
    accounts: spec.accounts,
    seconds: Math.round(measuredSeconds * 10) / 10,
    operations,
    opsPerSecond: Math.round((operations / measuredSeconds) * 10) / 10,
    latencies,
    outcomes,
    unexpected: Object.entries(outcomes).reduce((n, [name, count]) => (name.endsWith(':ok') ? n : n + count), 0),
    cpu,
  };
}
