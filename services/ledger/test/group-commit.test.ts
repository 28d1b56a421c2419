import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { newId, queryRows, RpcError, type Database } from '@offramp/kit';
import { eventually } from '@offramp/kit/testing';
import { ledgerRpc, type TransferResult } from '@offramp/contracts';
import { createLedgerBatcher, type LedgerBatcherOptions } from '../src/transfers/batcher.ts';
import type { LedgerOperation } from '../src/transfers/transfers.ts';
import { account as usdt, clearing, deposits, move, request, resolve } from './operations.ts';
import { openLedgerDatabase } from '../src/app.ts';
import { startTestLedger, type TestLedger } from './harness.ts';

const pidRow = z.object({ pid: z.number() });
const countRow = z.object({ n: z.number() });

/** An advisory lock key of this test run only, so what waits on it is ours. */
const lockKey = () => 1 + Math.floor(Math.random() * 2_000_000_000);

describe('ledger group commit', () => {
  let ledger: TestLedger;
  // The test's own connections (locks it holds, sessions it terminates, triggers it installs): a
  // session the test terminates must never be one the test itself reuses from the ledger's pool.
  let control: Database;
  beforeAll(async () => {
    ledger = await startTestLedger({ poolMax: 20, dbTimeouts: { acquireMs: 60_000 } });
    control = await openLedgerDatabase(ledger.config);
  });
  afterAll(async () => {
    await control?.close();
    await ledger?.cleanup();
  });
  const controlRows = <S extends z.ZodType>(row: S, sql: string, params: unknown[] = []) => queryRows(control.em.fork(), row, sql, params);
  const controlRun = async (sql: string) => void (await control.em.fork().execute(sql, [], 'run'));

  /** A batcher on the test ledger's database, recording each batch it ran. */
  function batcher(opts: Partial<LedgerBatcherOptions> = {}) {
    const batches: { size: number; committed: boolean }[] = [];
    const retries: string[] = [];
    const b = createLedgerBatcher({
      db: ledger.db,
      maxBatch: 256,
      maxInFlight: 1,
      onApplied: () => ledger.app.relay.wake(),
      onBatch: (size, committed) => void batches.push({ size, committed }),
      onRetry: (state) => void retries.push(state),
      ...opts,
    });
    return Object.assign(b, { batches, retries });
  }

  async function trader(amountMinor: bigint) {
    const owner = `trader:${newId()}`;
    await ledger.fund(owner, amountMinor);
    return owner;
  }

  const balance = async (owner: string) => (await ledger.call(ledgerRpc.getBalances, { owner, currency: 'USDT' })).balances[0]!;

  /** The backends waiting for the advisory lock `key` (held by the test). */
  async function waiters(key: number): Promise<number[]> {
    const rows = await controlRows(
      pidRow,
      "select pid from pg_locks where locktype = 'advisory' and objid = ? and not granted and database = (select oid from pg_database where datname = current_database())",
      [key],
    );
    return rows.map((r) => r.pid);
  }
  const waitersOn = (key: number) =>
    eventually(`a backend waiting on advisory lock ${key}`, async () => {
      const pids = await waiters(key);
      return pids.length > 0 ? pids : undefined;
    });

  /** Holds the advisory lock `key` in a transaction of its own until `release()`. */
  async function holdLock(key: number) {
    const held = Promise.withResolvers<undefined>();
    const release = Promise.withResolvers<undefined>();
    const done = control.em.fork().transactional(async (em) => {
      await em.execute('select pg_advisory_xact_lock(?)', [key]);
      held.resolve(undefined);
      await release.promise;
    });
    await held.promise;
    return async () => {
      release.resolve(undefined);
      await done;
    };
  }

  it('when requests arrive together, then they leave in one batch and each gets its own answer', async () => {
    const t = await trader(1_000n);
    const hold = request(t, clearing, 600n);
    const postId = newId();
    const ops: [LedgerOperation, string][] = [
      ...Array.from({ length: 20 }, (_, i): [LedgerOperation, string] => [move('hold', hold), i === 0 ? 'ok' : 'exists']),
      [move('hold', request(t, clearing, 401n)), 'insufficient_funds'],
      [move('transfer', { ...request(t, clearing, 1n), credit: { owner: 'psp:alfred:clearing', currency: 'MXN' } }), 'currency_mismatch'],
      [resolve('post', postId, hold.id), 'ok'],
      [resolve('void', newId(), hold.id), 'hold_already_posted'],
      [move('transfer', request(t, clearing, 400n)), 'ok'],
    ];
    const ledgerBatcher = batcher();
    const results = await Promise.all(ops.map(([op]) => ledgerBatcher.submit(op)));
    // One batch: the currency mismatch is answered before it, without the database.
    expect(ledgerBatcher.batches).toEqual([{ size: ops.length - 1, committed: true }]);
    expect(results.map((r) => r.outcome)).toEqual(ops.map(([, outcome]) => outcome));
    expect(results.slice(0, 20).every((r) => r.transfer?.id === hold.id && r.transfer.holdStatus === 'pending')).toBe(true);
    expect(results[22]!.transfer).toMatchObject({ id: postId, kind: 'post', holdId: hold.id, amountMinor: 600n });
    expect(results[23]!.transfer).toEqual(results[22]!.transfer);
    expect(await balance(t)).toMatchObject({ postedMinor: 0n, pendingDebitsMinor: 0n, availableMinor: 0n });
    expect(await ledger.call(ledgerRpc.check, {})).toMatchObject({ ok: true, mismatches: [] });
  });

  it('when 1,000 holds race through two batchers in small batches on an account funded for exactly 100, then exactly 100 are ok and 900 insufficient', async () => {
    const t = await trader(100n * 10_000n);
    const [one, two] = [batcher({ maxBatch: 32, maxInFlight: 3 }), batcher({ maxBatch: 7, maxInFlight: 4 })];
    const results = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => (i % 2 ? one : two).submit(move('hold', request(t, clearing, 10_000n)))),
    );
    const count = (o: string) => results.filter((r) => r.outcome === o).length;
    expect(count('ok')).toBe(100);
    expect(count('insufficient_funds')).toBe(900);
    expect(one.batches.length + two.batches.length).toBeLessThan(1_000);
    expect(await balance(t)).toMatchObject({ availableMinor: 0n, pendingDebitsMinor: 100n * 10_000n });
    expect(await ledger.call(ledgerRpc.check, {})).toMatchObject({ ok: true, mismatches: [] });
  });

  it('when the database session of a batch is terminated in the middle of it, then nothing of it is visible, each request is refused as unavailable, and retries apply exactly once', async () => {
    const t = await trader(1_000_000n);
    const before = await balance(t);
    const key = lockKey();
    // Stalls every ledger_apply of this schema after it wrote its transfers and balances, before its outbox rows.
    await controlRun(`create function stall_batch() returns trigger language plpgsql as $$
      begin perform pg_advisory_xact_lock_shared(${key}); return null; end $$`);
    await controlRun('create trigger stall_batch before insert on outbox for each statement execute function stall_batch()');
    const release = await holdLock(key);
    const requests = Array.from({ length: 40 }, () => request(t, clearing, 1_000n));
    const settled = requests.map((r) =>
      ledger.call(ledgerRpc.placeHold, r).then(
        (result): TransferResult | RpcError => result,
        (err: unknown) => (err instanceof RpcError ? err : Promise.reject(err)),
      ),
    );
    let answered = 0;
    for (const p of settled) void p.then(() => answered++);
    let terminated = 0;
    try {
      // Every batch stalls in the middle; each is ended by terminating its session, until all are answered.
      await eventually(
        () => `every request to be answered (${answered} of ${requests.length}, after ${terminated} terminations)`,
        async () => {
          for (const pid of await waiters(key)) {
            const [row] = await controlRows(z.object({ ok: z.boolean() }), 'select pg_terminate_backend(?) as ok', [pid]);
            if (row?.ok) terminated++;
          }
          return answered === requests.length;
        },
        { timeoutMs: 60_000 },
      );
    } finally {
      await release();
      await controlRun('drop trigger stall_batch on outbox');
      await controlRun('drop function stall_batch()');
    }

    const answers = await Promise.all(settled);
    expect(terminated).toBeGreaterThan(0);
    expect(answers.every((a) => a instanceof RpcError && a.code === 'PSP_UNAVAILABLE')).toBe(true);
    const ids = requests.map((r) => r.id);
    const visible = await controlRows(countRow, 'select count(*)::int as n from transfers where id = any(?::uuid[])', [
      `{${ids.join(',')}}`,
    ]);
    expect(visible[0]!.n).toBe(0);
    const events = await controlRows(countRow, "select count(*)::int as n from outbox where envelope->'payload'->>'id' = any(?::text[])", [
      `{${ids.join(',')}}`,
    ]);
    expect(events[0]!.n).toBe(0);
    expect(await balance(t)).toEqual(before);
    expect(await ledger.call(ledgerRpc.check, {})).toMatchObject({ ok: true, mismatches: [] });

    const retried = await Promise.all(requests.map((r) => ledger.call(ledgerRpc.placeHold, r)));
    expect(retried.every((r) => r.outcome === 'ok')).toBe(true);
    const again = await Promise.all(requests.map((r) => ledger.call(ledgerRpc.placeHold, r)));
    expect(again.every((r) => r.outcome === 'exists')).toBe(true);
    expect((await balance(t)).pendingDebitsMinor).toBe(before.pendingDebitsMinor + 40n * 1_000n);
    const stored = await controlRows(countRow, "select count(*)::int as n from outbox where envelope->'payload'->>'id' = any(?::text[])", [
      `{${ids.join(',')}}`,
    ]);
    expect(stored[0]!.n).toBe(40);
    expect(await ledger.call(ledgerRpc.check, {})).toMatchObject({ ok: true, mismatches: [] });
  });

  it('when a statement of a batch fails in the middle of it, then every request of that batch fails and nothing of it is applied', async () => {
    const t = await trader(1_000_000n);
    const before = await balance(t);
    await controlRun(`create function fail_batch() returns trigger language plpgsql as $$
      begin raise exception 'injected fault in the middle of a batch'; end $$`);
    await controlRun('create trigger fail_batch before insert on outbox for each statement execute function fail_batch()');
    const ledgerBatcher = batcher();
    const requests = Array.from({ length: 20 }, () => request(t, clearing, 1_000n));
    const results = await Promise.allSettled(requests.map((r) => ledgerBatcher.submit(move('hold', r)))).finally(async () => {
      await controlRun('drop trigger fail_batch on outbox');
      await controlRun('drop function fail_batch()');
    });
    expect(ledgerBatcher.batches).toEqual([{ size: 20, committed: false }]);
    expect(results.every((r) => r.status === 'rejected' && String(r.reason).includes('injected fault'))).toBe(true);
    expect(await balance(t)).toEqual(before);
    const retried = await Promise.all(requests.map((r) => ledgerBatcher.submit(move('hold', r))));
    expect(retried.every((r) => r.outcome === 'ok')).toBe(true);
    expect((await balance(t)).pendingDebitsMinor).toBe(before.pendingDebitsMinor + 20n * 1_000n);
    expect(await ledger.call(ledgerRpc.check, {})).toMatchObject({ ok: true, mismatches: [] });
  });

  describe('races between concurrent batches that only a retry of the whole batch decides', () => {
    let key: number;
    let release: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      key = lockKey();
      // Stalls a batch right after it stored a transfer marked { stall: 'yes' }, its transaction still open.
      await controlRun(`create function stall_marked() returns trigger language plpgsql as $$
        begin if new.metadata->>'stall' = 'yes' then perform pg_advisory_xact_lock_shared(${key}); end if; return null; end $$`);
      await controlRun('create trigger stall_marked after insert on transfers for each row execute function stall_marked()');
    });
    afterAll(async () => {
      await release?.();
      await controlRun('drop trigger if exists stall_marked on transfers');
    });

    /** Waits until a backend other than `stalled` waits for a lock another transaction holds (a row or an index entry). */
    const waitingOnATransaction = (stalled: number[]) =>
      eventually('the second batch to wait for the first', async () => {
        const rows = await controlRows(
          pidRow,
          "select pid from pg_stat_activity where wait_event_type = 'Lock' and wait_event in ('transactionid', 'tuple') and query like '%ledger_apply%' and datname = current_database()",
        );
        return rows.some((r) => !stalled.includes(r.pid));
      });

    it('when another batch stores the same transfer id on other accounts while this one runs, then this batch is retried and answers exists_with_different_fields', async () => {
      const [t1, t2, t3] = [await trader(1_000n), await trader(1_000n), await trader(0n)];
      const first = batcher();
      const second = batcher();
      release = await holdLock(key);
      const id = newId();
      const mine = first.submit(move('transfer', { ...request(t1, deposits, 10n, id), metadata: { stall: 'yes' } }));
      const stalled = await waitersOn(key);
      const theirs = second.submit(move('transfer', request(t2, usdt(t3), 20n, id)));
      await waitingOnATransaction(stalled);
      await release();
      release = undefined;
      expect((await mine).outcome).toBe('ok');
      const answer = await theirs;
      expect(answer.outcome).toBe('exists_with_different_fields');
      expect(answer.transfer).toMatchObject({ id, amountMinor: 10n, debit: usdt(t1) });
      expect(second.retries).toEqual(['23505']);
      expect(await ledger.available(t2)).toBe(1_000n);
      expect(await ledger.call(ledgerRpc.check, {})).toMatchObject({ ok: true, mismatches: [] });
    });

    it('when a post names a hold that another batch places while this one waits for its locks, then this batch is retried and the post applies', async () => {
      const t = await trader(1_000n);
      const first = batcher();
      const second = batcher();
      release = await holdLock(key);
      const hold = { ...request(t, clearing, 100n), metadata: { stall: 'yes' } };
      const placed = first.submit(move('hold', hold));
      const stalled = await waitersOn(key);
      // One batch: a transfer on the trader's slot (held by the stalled hold) and the post of that hold.
      const transfer = second.submit(move('transfer', request(t, deposits, 1n)));
      const post = second.submit(resolve('post', newId(), hold.id));
      await waitingOnATransaction(stalled);
      await release();
      release = undefined;
      expect((await placed).outcome).toBe('ok');
      expect((await transfer).outcome).toBe('ok');
      const posted = await post;
      expect(posted.outcome).toBe('ok');
      // The hold's clearing slot was not among the first attempt's locks.
      expect(second.retries).toEqual(['40001']);
      expect(second.batches).toEqual([{ size: 2, committed: true }]);
      expect(await balance(t)).toMatchObject({ postedMinor: 899n, pendingDebitsMinor: 0n });
      expect(await ledger.call(ledgerRpc.check, {})).toMatchObject({ ok: true, mismatches: [] });
    });
  });
});
