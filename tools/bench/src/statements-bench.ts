import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { openDatabase, queryRows, type Database } from '@offramp/kit';
import { freePort, loadavg, machine, measure, progress } from './common.ts';
import { startStack } from './stack-process.ts';
import { setUpTrader, withdraw } from './widget-client.ts';

/*
 * npm run bench:statements [-- --withdrawals 60 --traders 10 --top 30]
 *
 * Where the database's work per withdrawal goes. The whole stack as `npm start` runs it (as
 * bench:e2e does), its embedded Postgres with pg_stat_statements loaded (EMBEDDED_PG_OPTIONS);
 * `--withdrawals` complete withdrawals by `--traders` traders at once; then, per withdrawal: the
 * transactions committed, the statements executed and their execution and planning time, and the
 * statements that cost the most (pg_stat_statements groups the same statement with other
 * constants). Counts do not depend on the machine's load; times do (compare them within one run).
 * Prints a table and one JSON line.
 */

const { values: args } = parseArgs({
  options: {
    withdrawals: { type: 'string', default: '60' },
    traders: { type: 'string', default: '10' },
    top: { type: 'string', default: '30' },
  },
});
const withdrawalCount = Number(args.withdrawals);
const traderCount = Number(args.traders);
const top = Number(args.top);

const statementRow = z.object({
  query: z.string(),
  calls: z.coerce.number(),
  exec_ms: z.number(),
  plan_ms: z.number(),
  plans: z.coerce.number(),
  rows: z.coerce.number(),
});
const totalsRow = z.object({ calls: z.coerce.number(), exec_ms: z.number(), plan_ms: z.number() });
const xactRow = z.object({ commits: z.coerce.number(), rollbacks: z.coerce.number() });

const statementsSql = `select query, sum(calls)::text as calls, sum(total_exec_time)::float8 as exec_ms,
    sum(total_plan_time)::float8 as plan_ms, sum(plans)::text as plans, sum(rows)::text as rows
  from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
  group by query order by sum(total_exec_time + total_plan_time) desc`;
const xactSql = `select xact_commit::text as commits, xact_rollback::text as rollbacks from pg_stat_database where datname = current_database()`;

const oneLine = (sql: string, width: number) => {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
};

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadStart = loadavg();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-statements-'));
  // Postgres runs as its own system user when this runs as root: it must reach its data directory.
  chmodSync(dataDir, 0o755);
  const pgPort = await freePort();
  progress(`data and logs in ${dataDir}`);
  const stack = await startStack({
    dataDir,
    logFile: path.join(dataDir, 'stack.log'),
    devSecret: randomBytes(16).toString('hex'),
    timeoutMs: 120_000,
    env: {
      EMBEDDED_PG_PORT: String(pgPort),
      EMBEDDED_PG_OPTIONS: 'shared_preload_libraries=pg_stat_statements pg_stat_statements.track=all pg_stat_statements.track_planning=on',
    },
  });
  let db: Database | null = null;
  try {
    db = await openDatabase({ url: `postgres://postgres:postgres@127.0.0.1:${pgPort}/offramp`, schema: 'public', migrations: [] });
    const em = () => db!.em.fork();
    await em().execute('create extension if not exists pg_stat_statements');
    const suffix = randomBytes(3).toString('hex');
    progress(`setting up ${traderCount} traders`);
    const traders = await Promise.all(
      Array.from({ length: traderCount }, (_, i) => setUpTrader(stack.gatewayUrl, stack.devSecret, `stmts-${suffix}-${i}`, i, '5000')),
    );
    await em().execute('select pg_stat_statements_reset()');
    const [before] = await queryRows(em(), xactRow, xactSql);
    progress(`${withdrawalCount} withdrawals, ${traderCount} at once`);
    let next = 0;
    await Promise.all(
      traders.map(async (trader) => {
        while (next < withdrawalCount) {
          next++;
          await withdraw(stack.gatewayUrl, stack.devSecret, trader, '1000.00');
        }
      }),
    );
    const [after] = await queryRows(em(), xactRow, xactSql);
    const statements = await queryRows(em(), statementRow, statementsSql);
    const [totals] = await queryRows(
      em(),
      totalsRow,
      `select coalesce(sum(calls), 0)::text as calls, coalesce(sum(total_exec_time), 0)::float8 as exec_ms,
         coalesce(sum(total_plan_time), 0)::float8 as plan_ms
       from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())`,
    );
    const per = (n: number, digits = 1) => measure(n / withdrawalCount, digits);
    const summary = {
      transactions: per(after!.commits - before!.commits + after!.rollbacks - before!.rollbacks),
      statements: per(totals!.calls),
      execMs: per(totals!.exec_ms, 2),
      planMs: per(totals!.plan_ms, 2),
    };
    const rows = statements.slice(0, top).map((s) => ({
      callsPerWithdrawal: per(s.calls, 2),
      msPerWithdrawal: per(s.exec_ms + s.plan_ms, 3),
      meanExecMs: measure(s.exec_ms / Math.max(1, s.calls), 3),
      meanPlanMs: measure(s.plan_ms / Math.max(1, s.plans || 1), 3),
      query: oneLine(s.query, 200),
    }));
    process.stdout.write(
      `per withdrawal: ${summary.transactions} transactions, ${summary.statements} statements, ` +
        `${summary.execMs} ms executing and ${summary.planMs} ms planning (pg_stat_statements; the stack's own setup excluded)\n\n`,
    );
    process.stdout.write('calls/w   ms/w  mean exec  mean plan  statement\n');
    for (const r of rows)
      process.stdout.write(
        `${String(r.callsPerWithdrawal).padStart(7)} ${String(r.msPerWithdrawal).padStart(6)} ${String(r.meanExecMs).padStart(10)} ${String(r.meanPlanMs).padStart(10)}  ${oneLine(r.query, 110)}\n`,
      );
    process.stdout.write(
      `${JSON.stringify({
        bench: 'statements',
        startedAt,
        machine: machine(),
        loadavgStart: loadStart,
        loadavgEnd: loadavg(),
        withdrawals: withdrawalCount,
        traders: traderCount,
        perWithdrawal: summary,
        top: rows,
      })}\n`,
    );
  } finally {
    await db?.close();
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
