import os from 'node:os';
import { queryRow, type Database, type Messaging } from '@offramp/kit';
import { z } from 'zod';
import type { CheckResult } from '@offramp/contracts';
import type { BenchOptions } from './bench-options.ts';
import type { OutboxState } from './throwaway-ledger.ts';
import type { CaseResult } from './workloads.ts';
import type { CeilingCase } from './sql-ceiling.ts';

/** A case's figures plus the events its writes left unpublished when it ended. */
export type CaseReport = CaseResult & { outboxUnsent: number };

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  node: string;
  postgres: string;
  natsServer: string;
  /** 1-minute load average when the run started: above ~0.5 something else was already busy. */
  loadAverageAtStart: number;
}

/** The headline figures of a run, first in its JSON line. Null where the case did not run. */
export interface Summary {
  /** Hold + post pairs completed per second through the service. */
  pairsPerSecond: { manyAccounts: number | null; hotAccount: number | null };
  pairLatencyMs: { manyAccounts: { p50: number; p99: number } | null; hotAccount: { p50: number; p99: number } | null };
  transfersPerSecond: number | null;
  /** A lone client's hold, one at a time. */
  oneClientHoldMs: { p50: number; p99: number } | null;
  /** The same pairs straight at Postgres (sql-ceiling.ts), and the service's share of that rate. */
  sqlCeilingPairsPerSecond: { manyAccounts: number | null; hotAccount: number | null };
  ratioToCeiling: { manyAccounts: number | null; hotAccount: number | null };
  cpus: number;
  cpuModel: string;
  /** os.loadavg() (1, 5 and 15 minutes) when the run started and when it ended. */
  loadAverage: { start: number[]; end: number[] };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export function summarize(r: {
  machine: Machine;
  cases: CaseResult[];
  ceiling: CeilingCase[];
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
}): Summary {
  const rate = (name: string) => r.cases.find((c) => c.name === name)?.opsPerSecond ?? null;
  const latency = (name: string, series: string) => {
    const l = r.cases.find((c) => c.name === name)?.latencies[series];
    return l ? { p50: l.p50Ms, p99: l.p99Ms } : null;
  };
  const ceiling = (name: string) => r.ceiling.find((c) => c.name === name)?.pairsPerSecond ?? null;
  const ratio = (name: string) => {
    const [service, sql] = [rate(name), ceiling(name)];
    return service !== null && sql ? round2(service / sql) : null;
  };
  return {
    pairsPerSecond: { manyAccounts: rate('many accounts'), hotAccount: rate('hot account') },
    pairLatencyMs: { manyAccounts: latency('many accounts', 'pair'), hotAccount: latency('hot account', 'pair') },
    transfersPerSecond: rate('transfers'),
    oneClientHoldMs: latency('one client', 'placeHold'),
    sqlCeilingPairsPerSecond: { manyAccounts: ceiling('many accounts'), hotAccount: ceiling('hot account') },
    ratioToCeiling: { manyAccounts: ratio('many accounts'), hotAccount: ratio('hot account') },
    cpus: r.machine.cores,
    cpuModel: r.machine.cpuModel,
    loadAverage: { start: r.loadAverageAtStart.map(round2), end: r.loadAverageAtEnd.map(round2) },
  };
}

export interface BenchReport {
  summary: Summary;
  bench: 'ledger';
  startedAt: string;
  machine: Machine;
  options: Omit<BenchOptions, 'databaseUrl' | 'natsUrl'>;
  setupSeconds: number;
  cases: CaseReport[];
  /** The SQL ceiling's cases: the same pairs straight at Postgres. */
  ceiling: CeilingCase[];
  /** Events after the relay was given time to catch up; any left unsent fail the run. */
  outbox: OutboxState;
  check: { ok: boolean; accountsChecked: number; mismatches: number };
  /** Stopped early by a signal or by the run's time budget; figures cover what did run. */
  interrupted: boolean;
  ok: boolean;
}

export async function describeMachine(db: Database, messaging: Messaging): Promise<Machine> {
  const row = await queryRow(db.em.fork(), z.object({ server_version: z.string() }), 'show server_version');
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.arch()}`,
    node: process.version,
    postgres: row?.server_version ?? 'unknown',
    natsServer: messaging.nc.info?.version ?? 'unknown',
    loadAverageAtStart: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

/** Left-aligns text columns and right-aligns numeric ones, two spaces apart. */
function formatRows(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const isNumber = (cell: string) => /^[0-9.]+$/.test(cell);
  return rows
    .map((r) =>
      r
        .map((cell, i) => (isNumber(cell) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const seriesOrder = ['pair', 'placeHold', 'postHold', 'transfer'];

function caseRows(c: CaseReport): string[][] {
  const series = seriesOrder.filter((name) => c.latencies[name]);
  return series.map((name, i) => {
    const l = c.latencies[name]!;
    const head = i === 0 ? [c.name, String(c.clients), String(c.accounts), measure(c.opsPerSecond, 1)] : ['', '', '', ''];
    return [...head, name, String(l.count), measure(l.p50Ms, 1), measure(l.p90Ms, 1), measure(l.p99Ms, 1), measure(l.maxMs, 1)];
  });
}

/** Display of a measurement (latency, rate, cores) with fixed decimals; never used for money. */
const measure = (value: number, decimals: number) =>
  value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals, useGrouping: false });

const percent = (share: number) => `${Math.round(share * 100)}%`;

function cpuLine(c: CaseReport): string {
  const waiting =
    c.cpu.mainThreadWaitingForCpu === null ? '' : `, waiting for a core ${percent(c.cpu.mainThreadWaitingForCpu)} of the time`;
  return (
    `  ${c.name}: bench process ${measure(c.cpu.processCores, 2)} cores (event loop ${percent(c.cpu.eventLoopUtilization)} busy${waiting}); ` +
    `whole machine ${measure(c.cpu.machineBusyCores, 2)} cores busy; outbox backlog at end ${c.outboxUnsent}`
  );
}

function resultLine(r: BenchReport): string {
  if (r.ok) return 'ok';
  if (r.interrupted) return 'INTERRUPTED (figures cover only what ran)';
  return 'FAILED (unexpected outcomes, unpublished events or an inconsistent ledger)';
}

/** The human-readable report: machine, one block of latency rows per case, outcomes, check. */
export function formatReport(r: BenchReport): string {
  const m = r.machine;
  const header = ['case', 'clients', 'accounts', 'ops/s', 'series', 'count', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'];
  const table = formatRows([header, ...r.cases.flatMap(caseRows)]);
  const outcomes = r.cases.map(
    (c) =>
      `  ${c.name}: ${Object.entries(c.outcomes)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
  );
  const load = r.cases.map(cpuLine);
  const ceiling = r.ceiling.map(
    (c) =>
      `  ${c.name}: ${measure(c.pairsPerSecond, 1)} pairs/s (${c.connections} connections, batches of ${c.batch} holds then their posts; ` +
      `statement p50 ${measure(c.statement.p50Ms, 1)} ms, p99 ${measure(c.statement.p99Ms, 1)} ms)`,
  );
  const ratio = (x: number | null) => (x === null ? 'n/a' : measure(x, 2));
  const sum = r.summary;
  return [
    `Ledger benchmark, ${r.startedAt}`,
    `machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}; node ${m.node}; PostgreSQL ${m.postgres}; nats-server ${m.natsServer}; load average at start ${m.loadAverageAtStart}`,
    `run: ${r.options.seconds} s measured after ${r.options.warmupSeconds} s warm-up per case (transfers ${r.options.transferSeconds} s); db pool ${r.options.poolMax}; setup ${r.setupSeconds} s`,
    'ops/s: hold pairs (placeHold then postHold) or transfers completed per second; latencies are client-side, over NATS',
    '',
    table,
    '',
    'outcomes (warm-up included):',
    ...outcomes,
    `cpu of ${m.cores} cores (the bench process holds the ledger and its clients; the machine adds Postgres, nats-server and anything else):`,
    ...load,
    ...(ceiling.length > 0
      ? [
          'SQL ceiling (the same hold + post pairs straight at Postgres through ledger_apply, no NATS, no service, as many pairs in flight as clients):',
          ...ceiling,
          `  service / ceiling: many accounts ${ratio(sum.ratioToCeiling.manyAccounts)}, hot account ${ratio(sum.ratioToCeiling.hotAccount)}`,
        ]
      : []),
    `load average (1, 5, 15 min): ${sum.loadAverage.start.join(' ')} at start, ${sum.loadAverage.end.join(' ')} at end`,
    `events: ${r.outbox.published} published to JetStream, ${r.outbox.unsent} unsent after the relay caught up`,
    `ledger check: ${r.check.ok ? 'consistent' : `INCONSISTENT (${r.check.mismatches} mismatches)`}, ${r.check.accountsChecked} accounts`,
    `result: ${resultLine(r)}`,
  ].join('\n');
}

export const summarizeCheck = (c: CheckResult) => ({ ok: c.ok, accountsChecked: c.accountsChecked, mismatches: c.mismatches.length });
