import { randomBytes } from 'node:crypto';
import { migrate, newId, type Database } from '@offramp/kit';
import type { AccountRef } from '@offramp/contracts';
import { migrations, openLedgerDatabase, readLedgerConfig } from '../src/app.ts';
import { applyOperations, type LedgerOperation } from '../src/transfers/transfers.ts';
import { createRecorder, summarize, type LatencySummary } from './latency.ts';
import { usdt } from './throwaway-ledger.ts';

/**
 * The SQL ceiling: the service's work (hold then post, many accounts or one hot account) driven
 * straight at Postgres, without NATS and without the service: `connections` sessions, each sending
 * a batch of holds to `ledger_apply` (the ledger's own statement, through `applyOperations`), then
 * a batch of the posts of those that applied, as the group commit would. `inFlight` pairs are in
 * flight at once, as many as the service's clients keep, so the service's rate divided by this one
 * is the share of the database's rate the service reaches at the same concurrency.
 */
export interface CeilingCase {
  name: string;
  connections: number;
  batch: number;
  seconds: number;
  pairs: number;
  pairsPerSecond: number;
  /** One batch of holds or of posts, statement round trip included. */
  statement: LatencySummary;
}

export interface CeilingOptions {
  databaseUrl: string;
  accounts: number;
  connections: number;
  inFlight: number;
  warmupSeconds: number;
  seconds: number;
}

const amountMinor = 1_000_000n;
const cause = { correlationId: 'ledger-bench-ceiling', causationId: null, traceId: newId() };
const hold = (debit: AccountRef, credit: AccountRef): LedgerOperation => ({
  kind: 'hold',
  request: { id: newId(), debit, credit, amountMinor, metadata: { reason: 'bench' } },
  cause,
});

/** Opens the traders and the hot account with plain SQL, then funds them through `ledger_apply` in large batches. */
async function setUp(db: Database, traders: AccountRef[], hot: AccountRef): Promise<void> {
  const owners = [...traders, hot].map((t) => t.owner);
  await db.em.fork().execute(
    `with opened as (
       insert into accounts (owner, currency, allow_negative, slots) select o, 'USDT', false, 1 from unnest(?::text[]) as o returning id
     ) insert into balances (account_id, slot, allow_negative) select id, 0, false from opened`,
    [`{${owners.map((o) => `"${o}"`).join(',')}}`],
    'run',
  );
  const deposits = usdt('external:deposits');
  const funding = [...traders.map((t) => [t, 1_000_000_000_000n] as const), [hot, 1_000_000_000_000_000n] as const].map(
    ([credit, amount]): LedgerOperation => ({
      kind: 'transfer',
      request: { id: newId(), debit: deposits, credit, amountMinor: amount, metadata: { reason: 'bench-funding' } },
      cause,
    }),
  );
  for (let i = 0; i < funding.length; i += 500) {
    const results = await applyOperations(db.em.fork(), funding.slice(i, i + 500));
    if (results.some((r) => r.outcome !== 'ok')) throw new Error('ceiling: funding failed');
  }
}

async function runCeilingCase(
  db: Database,
  name: string,
  pick: () => [AccountRef, AccountRef],
  o: CeilingOptions,
  signal: AbortSignal,
): Promise<CeilingCase> {
  const batch = Math.max(1, Math.ceil(o.inFlight / o.connections));
  const rec = createRecorder();
  const started = performance.now();
  const from = started + o.warmupSeconds * 1_000;
  const until = from + o.seconds * 1_000;
  let pairs = 0;
  const timed = async (ops: LedgerOperation[]) => {
    const t0 = performance.now();
    const results = await applyOperations(db.em.fork(), ops);
    if (t0 >= from) rec.latency('statement', performance.now() - t0);
    return results;
  };
  const connection = async () => {
    while (performance.now() < until && !signal.aborted) {
      const holds = Array.from({ length: batch }, () => hold(...pick()));
      const placed = await timed(holds);
      const posts = holds
        .filter((_, i) => placed[i]!.outcome === 'ok')
        .map((h): LedgerOperation => ({ kind: 'post', request: { id: newId(), holdId: h.request.id }, cause }));
      const posted = await timed(posts);
      const done = performance.now();
      if (done >= from && done < until) pairs += posted.filter((r) => r.outcome === 'ok').length;
    }
  };
  await Promise.all(Array.from({ length: o.connections }, connection));
  const seconds = Math.max(0.001, (Math.min(performance.now(), until) - from) / 1_000);
  return {
    name,
    connections: o.connections,
    batch,
    seconds: Math.round(seconds * 10) / 10,
    pairs,
    pairsPerSecond: Math.round((pairs / seconds) * 10) / 10,
    statement: rec.latencies().statement ?? summarize([]),
  };
}

export interface SqlCeiling {
  /** Measures one case ("many accounts" or "hot account"), with the options it was opened with. */
  run(name: 'many accounts' | 'hot account', signal: AbortSignal): Promise<CeilingCase>;
  /** Drops the ceiling's schema and closes its connections. */
  close(): Promise<void>;
}

/**
 * Opens the ceiling on a schema of its own, with its accounts opened and funded; each case then
 * runs when asked, so that it can run right after the service's own case, under the same load.
 */
export async function openSqlCeiling(o: CeilingOptions, progress: (line: string) => void): Promise<SqlCeiling> {
  const schema = `ledger_ceiling_${randomBytes(5).toString('hex')}`;
  const config = readLedgerConfig({ DATABASE_URL: o.databaseUrl, DB_SCHEMA: schema, DB_POOL_MAX: String(o.connections + 1) });
  const db = await openLedgerDatabase(config);
  const close = async () => {
    await db.em
      .fork()
      .execute(`drop schema if exists "${schema}" cascade`)
      .catch(() => undefined);
    await db.close();
  };
  try {
    await migrate(db);
    progress(`SQL ceiling on schema ${schema} (${migrations.length} ledger migrations): opening and funding ${o.accounts + 1} accounts`);
    const traders = Array.from({ length: o.accounts }, (_, i) => usdt(`trader:ceiling-${i}`));
    const hot = usdt('trader:ceiling-hot');
    const clearing = usdt('psp:alfred:clearing');
    await setUp(db, traders, hot);
    const picks = {
      'many accounts': (): [AccountRef, AccountRef] => [traders[Math.floor(Math.random() * traders.length)]!, clearing],
      'hot account': (): [AccountRef, AccountRef] => [hot, clearing],
    };
    return {
      run: (name, signal) => {
        progress(`SQL ceiling "${name}": ${o.connections} connections, ${o.warmupSeconds} s warm-up + ${o.seconds} s`);
        return runCeilingCase(db, name, picks[name], o, signal);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
