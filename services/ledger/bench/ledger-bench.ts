import os from 'node:os';
import { ledgerRpc, type AccountRef } from '@offramp/contracts';
import { OptionsError, readBenchOptions, type BenchOptions } from './bench-options.ts';
import { describeMachine, formatReport, summarize, summarizeCheck, type BenchReport, type CaseReport } from './report.ts';
import { openSqlCeiling, type CeilingCase, type SqlCeiling } from './sql-ceiling.ts';
import {
  drainOutbox,
  fundingSource,
  openFundedTraders,
  openSystemAccounts,
  readOutbox,
  startThrowawayLedger,
  usdt,
  type ThrowawayLedger,
} from './throwaway-ledger.ts';
import { holdPair, immediateTransfer, runCase, singleHold, type CaseSpec } from './workloads.ts';

/*
 * Ledger throughput and latency over the real path: clients call the ledger's rpcs over NATS, the
 * ledger (in this process) writes to Postgres. Right after the many-accounts and the hot-account
 * case, the SQL ceiling of each: the same hold-and-post work driven straight at Postgres
 * (sql-ceiling.ts), which says how much of the database's rate the service reaches. The last line
 * of the output is the whole report as JSON, its headline figures first (`summary`). Usage and
 * flags: see bench-options.ts.
 */

const amountMinor = 1_000_000n;
// Funding far above what a run can spend, so every hold is expected to succeed.
const traderFundingMinor = 1_000_000_000_000n;
const hotFundingMinor = 1_000_000_000_000_000n;
const outboxDrainMs = 15_000;

const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const randomIndex = (length: number) => Math.floor(Math.random() * length);

/** Two different accounts, so a transfer never debits and credits the same one. */
function pickTwo<T>(items: readonly T[]): [T, T] {
  const first = randomIndex(items.length);
  const second = (first + 1 + randomIndex(items.length - 1)) % items.length;
  return [items[first]!, items[second]!];
}

/** The accounts of a run: trader `i` also has clearing account `i`, for the case without a shared row. */
interface Accounts {
  traders: AccountRef[];
  hot: AccountRef;
  clearing: AccountRef;
  ownClearing: AccountRef[];
}

function benchAccounts(count: number): Accounts {
  return {
    traders: Array.from({ length: count }, (_, i) => usdt(`trader:bench-${i}`)),
    hot: usdt('trader:bench-hot'),
    clearing: usdt('psp:alfred:clearing'),
    ownClearing: Array.from({ length: count }, (_, i) => usdt(`psp:alfred:clearing:bench-${i}`)),
  };
}

async function openAccounts(ledger: ThrowawayLedger, a: Accounts, concurrency: number, signal: AbortSignal): Promise<void> {
  await openSystemAccounts(ledger.call, [fundingSource, a.clearing, ...a.ownClearing], concurrency);
  await openFundedTraders(
    ledger.call,
    a.traders.map((t) => t.owner),
    traderFundingMinor,
    concurrency,
    signal,
  );
  await openFundedTraders(ledger.call, [a.hot.owner], hotFundingMinor, 1, signal);
}

/**
 * The cases in the order they run. Every hold also credits a clearing account: in "many accounts"
 * all holds share `psp:alfred:clearing`, as in production; "own clearing" gives each trader its own
 * to show what sharing that system account costs. `--transfer-seconds 0` skips transfers. "one
 * client" places holds one at a time: the latency of a lone request (`--latency-seconds 0` skips it).
 */
function caseSpecs(ledger: ThrowawayLedger, o: BenchOptions, a: Accounts): CaseSpec[] {
  const base = { clients: o.clients, warmupSeconds: o.warmupSeconds, seconds: o.seconds };
  const n = a.traders.length;
  const sharedClearing = (): [AccountRef, AccountRef] => [a.traders[randomIndex(n)]!, a.clearing];
  const ownClearing = (): [AccountRef, AccountRef] => {
    const i = randomIndex(n);
    return [a.traders[i]!, a.ownClearing[i]!];
  };
  const specs: CaseSpec[] = [
    { ...base, name: 'many accounts', accounts: n, operation: holdPair(ledger.call, sharedClearing, amountMinor) },
    { ...base, name: 'hot account', accounts: 1, operation: holdPair(ledger.call, () => [a.hot, a.clearing], amountMinor) },
    { ...base, name: 'own clearing', accounts: n, operation: holdPair(ledger.call, ownClearing, amountMinor) },
  ];
  if (o.transferSeconds > 0 && n >= 2) {
    specs.push({
      ...base,
      name: 'transfers',
      accounts: n,
      seconds: o.transferSeconds,
      operation: immediateTransfer(ledger.call, () => pickTwo(a.traders), amountMinor),
    });
  }
  if (o.latencySeconds > 0) {
    specs.push({
      name: 'one client',
      clients: 1,
      accounts: n,
      warmupSeconds: Math.min(1, o.warmupSeconds),
      seconds: o.latencySeconds,
      operation: singleHold(ledger.call, sharedClearing, amountMinor),
    });
  }
  return specs;
}

/** Upper bound on a whole run, generous for setup; past it the run is aborted and cleaned up. */
function runBudgetMs(o: BenchOptions): number {
  const perCase = o.warmupSeconds + o.seconds + o.timeoutMs / 1_000;
  const transfers = o.warmupSeconds + o.transferSeconds + o.timeoutMs / 1_000;
  const latency = o.latencySeconds > 0 ? 1 + o.latencySeconds + o.timeoutMs / 1_000 : 0;
  const ceiling = o.ceilingSeconds > 0 ? 30 + 2 * (o.warmupSeconds + o.ceilingSeconds + o.timeoutMs / 1_000) : 0;
  return (120 + o.accounts / 25 + 3 * perCase + transfers + latency + ceiling + outboxDrainMs / 1_000) * 1_000;
}

async function runBench(ledger: ThrowawayLedger, o: BenchOptions, signal: AbortSignal): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = os.loadavg();
  const machine = await describeMachine(ledger.db, ledger.serverMessaging);
  const setupStarted = performance.now();
  const accounts = benchAccounts(o.accounts);
  progress(`opening ${2 * o.accounts + 3} accounts and funding ${o.accounts + 1} traders on schema ${ledger.schema}`);
  await openAccounts(ledger, accounts, o.clients, signal);
  const setupSeconds = Math.round((performance.now() - setupStarted) / 100) / 10;

  // The SQL ceiling's cases run right after the service's case of the same name, under the same load.
  const sqlCeiling: SqlCeiling | null =
    o.ceilingSeconds > 0
      ? await openSqlCeiling(
          {
            databaseUrl: o.databaseUrl,
            accounts: o.accounts,
            connections: o.ceilingConnections,
            inFlight: o.clients,
            warmupSeconds: o.warmupSeconds,
            seconds: o.ceilingSeconds,
          },
          progress,
        )
      : null;
  const cases: CaseReport[] = [];
  const ceiling: CeilingCase[] = [];
  try {
    for (const spec of caseSpecs(ledger, o, accounts)) {
      if (signal.aborted) break;
      progress(`case "${spec.name}": ${spec.clients} clients, ${spec.warmupSeconds} s warm-up + ${spec.seconds} s`);
      const result = await runCase(spec, signal);
      cases.push({ ...result, outboxUnsent: (await readOutbox(ledger.db)).unsent });
      if (sqlCeiling && (spec.name === 'many accounts' || spec.name === 'hot account') && !signal.aborted)
        ceiling.push(await sqlCeiling.run(spec.name, signal));
    }
  } finally {
    await sqlCeiling?.close();
  }
  progress('waiting for the outbox relay, then checking the ledger');
  const outbox = await drainOutbox(ledger, outboxDrainMs);
  const check = await ledger.call(ledgerRpc.check, {});
  for (const m of check.mismatches.slice(0, 10)) progress(`mismatch ${m.kind} ${m.owner ?? ''} ${m.detail}`);
  const { databaseUrl: _db, natsUrl: _nats, ...options } = o;
  const interrupted = signal.aborted;
  const ok =
    check.ok &&
    outbox.unsent === 0 &&
    !interrupted &&
    cases.every((c) => c.unexpected === 0 && c.operations > 0) &&
    ceiling.every((c) => c.pairs > 0);
  const summary = summarize({ machine, cases, ceiling, loadAverageAtStart, loadAverageAtEnd: os.loadavg() });
  return {
    summary,
    bench: 'ledger',
    startedAt,
    machine,
    options,
    setupSeconds,
    cases,
    ceiling,
    outbox,
    check: summarizeCheck(check),
    interrupted,
    ok,
  };
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = readBenchOptions(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof OptionsError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  const controller = new AbortController();
  const abort = (why: string) => {
    progress(`stopping: ${why}`);
    controller.abort();
  };
  process.once('SIGINT', () => abort('interrupted'));
  process.once('SIGTERM', () => abort('terminated'));
  const budgetMs = runBudgetMs(options);
  setTimeout(() => abort(`run exceeded its ${Math.round(budgetMs / 1_000)} s budget`), budgetMs).unref();

  const ledger = await startThrowawayLedger(options);
  let report: BenchReport;
  try {
    report = await runBench(ledger, options, controller.signal);
  } finally {
    progress(`removing schema ${ledger.schema} and namespace ${ledger.namespace}`);
    const failures = await ledger.stop();
    for (const f of failures) progress(`cleanup failed: ${f}`);
  }
  process.stdout.write(`${formatReport(report)}\n${JSON.stringify(report)}\n`);
  return report.ok ? 0 : 1;
}

const code = await main().catch((err: unknown) => {
  process.stderr.write(`ledger bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
});
process.exitCode = code;
// Anything still holding the event loop after cleanup (a stray socket) must not keep a finished run alive.
setTimeout(() => process.exit(code), 2_000).unref();
