import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { executeBound, inTransaction, migrate, openDatabase, queryRow, queryRows, queryRowsBound, type Database } from '../src/index.ts';
import { testInfra, uniqueName } from '../src/testing.ts';
import { countingDatabaseUrl } from '../../../tools/bench/src/pg-counter.ts';

describe('queryRows', () => {
  let db: Database;
  const schema = uniqueName('sql');
  beforeAll(async () => {
    db = await openDatabase({ url: testInfra().databaseUrl, schema, migrations: [], poolMax: 2 });
    await migrate(db);
  });
  afterAll(async () => {
    await db.em.fork().execute(`drop schema if exists "${schema}" cascade`);
    await db.close();
  });

  const row = z.object({ n: z.coerce.bigint(), tags: z.array(z.string()) });

  it('when the rows have the expected shape, then they come back parsed', async () => {
    const rows = await queryRows(db.em.fork(), row, `select 12345678901234567890::numeric::text as n, '["a","b"]'::jsonb as tags`);
    expect(rows).toEqual([{ n: 12345678901234567890n, tags: ['a', 'b'] }]);
    expect(await queryRow(db.em.fork(), row, 'select 1::text as n, ?::jsonb as tags where false', ['[]'])).toBeNull();
  });

  it('when a row does not have the expected shape, then the query fails naming the field', async () => {
    await expect(queryRows(db.em.fork(), row, `select 1 as n, '{"a":1}'::jsonb as tags`)).rejects.toThrow(/tags/);
    await expect(queryRow(db.em.fork(), row, `select 1::text as n, '[]'::jsonb as tags from generate_series(1, 2)`)).rejects.toThrow(
      'expected at most one row, got 2',
    );
  });

  it("when parameters are bound ($n), then values that would need escaping come back as sent, rows are parsed as queryRows parses them, and the statements are part of the caller's transaction", async () => {
    const text = `quote ' backslash \\ ${'x'.repeat(10_000)}`;
    const [got] = await queryRowsBound(db.em.fork(), z.object({ t: z.string() }), 'select $1::text as t', [text]);
    expect(got!.t).toBe(text);
    await expect(queryRowsBound(db.em.fork(), row, `select 1 as n, '{"a":1}'::jsonb as tags`, [])).rejects.toThrow(/tags/);

    await db.em.fork().execute('create table bound_t (v text)');
    await expect(
      inTransaction(db, async (em) => {
        await executeBound(em, 'insert into bound_t (v) values ($1)', [text]);
        expect(await queryRowsBound(em, z.object({ n: z.number() }), 'select count(*)::int as n from bound_t', [])).toEqual([{ n: 1 }]);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await queryRowsBound(db.em.fork(), z.object({ n: z.number() }), 'select count(*)::int as n from bound_t', [])).toEqual([
      { n: 0 },
    ]);
  });

  it('when a bound statement runs, then its connection keeps it as a named prepared statement, runs it again without parsing and without planning it again; a failing one leaves the connection usable', async () => {
    const sql = 'select $1::int + 1 as n';
    const prepared = z.object({ name: z.string(), generic_plans: z.coerce.number(), custom_plans: z.coerce.number() });
    const plans = await inTransaction(db, async (em) => {
      for (let i = 0; i < 8; i++) expect(await queryRowsBound(em, z.object({ n: z.number() }), sql, [i])).toEqual([{ n: i + 1 }]);
      return queryRowsBound(em, prepared, 'select name, generic_plans, custom_plans from pg_prepared_statements where statement = $1', [
        sql,
      ]);
    });
    expect(plans).toHaveLength(1);
    expect(plans[0]!.name).toMatch(/^offramp_[0-9]+$/);
    expect(plans[0]!.generic_plans + plans[0]!.custom_plans).toBe(8);
    // One generic plan from the first run on (plan_cache_mode), never one for the values.
    expect(plans[0]!.custom_plans).toBe(0);

    await db.em.fork().execute('create table prepared_t (v text)');
    await expect(executeBound(db.em.fork(), 'select no_such_column from prepared_t where v = $1', ['x'])).rejects.toThrow(/no_such_column/);
    await db.em.fork().execute('alter table prepared_t add column w int');
    for (let i = 0; i < 4; i++)
      expect(
        await queryRowsBound(db.em.fork(), z.object({ n: z.number() }), 'select count(*)::int as n from prepared_t where v = $1', ['x']),
      ).toEqual([{ n: 0 }]);
  });

  it('when a migration changes what a prepared statement returns, then the connection that prepared it fails that call and is dropped, and the next call prepares it afresh on a new connection', async () => {
    // One connection, so that the second call would meet the same prepared statement.
    const single = await openDatabase({ url: testInfra().databaseUrl, schema, migrations: [], poolMax: 1 });
    try {
      await single.em.fork().execute('create table stale_t (v int); insert into stale_t values (7)');
      const sql = 'select v, pg_backend_pid() as pid from stale_t where v = $1';
      const read = () => queryRowsBound(single.em.fork(), z.object({ v: z.coerce.number(), pid: z.number() }), sql, [7]);
      const [before] = await read();
      expect(before!.v).toBe(7);
      await single.em.fork().execute('alter table stale_t alter column v type bigint');
      await expect(read()).rejects.toThrow(/cached plan must not change result type/);
      const [after] = await read();
      expect(after!.v).toBe(7);
      expect(after!.pid).not.toBe(before!.pid);
      // In a transaction too: it fails, rolls back, and the next one runs on a new connection.
      await single.em.fork().execute('alter table stale_t alter column v type numeric');
      await expect(
        inTransaction(single, async (em) => {
          await executeBound(em, 'insert into stale_t (v) values ($1)', [8]);
          return queryRowsBound(em, z.object({ v: z.coerce.number(), pid: z.number() }), sql, [7]);
        }),
      ).rejects.toThrow(/cached plan must not change result type/);
      const [last] = await read();
      expect(last!.v).toBe(7);
      expect(last!.pid).not.toBe(after!.pid);
      expect(await queryRowsBound(single.em.fork(), z.object({ n: z.number() }), 'select count(*)::int as n from stale_t', [])).toEqual([
        { n: 1 },
      ]);
    } finally {
      await single.close();
    }
  });

  it('when statements with parameters are sent, then the messages of each (parse, bind, describe, execute, sync) leave in one write', async () => {
    const { counter, url } = await countingDatabaseUrl(testInfra().databaseUrl);
    const counted = await openDatabase({ url, schema, migrations: [], poolMax: 1 });
    try {
      const one = z.object({ n: z.number() });
      // Warm: the connection is open, and a statement prepared on it once.
      await queryRowsBound(counted.em.fork(), one, 'select $1::int as n', [0]);
      counter.reset();
      for (let i = 0; i < 20; i++) {
        expect(await queryRowsBound(counted.em.fork(), one, 'select $1::int as n', [i])).toEqual([{ n: i }]);
        expect(await queryRowsBound(counted.em.fork(), one, `select $1::int + ${i} as n`, [i])).toEqual([{ n: 2 * i }]);
      }
      // Without parameters, a bound text is prepared all the same.
      for (let i = 0; i < 5; i++) expect(await queryRowsBound(counted.em.fork(), one, 'select 7 as n', [])).toEqual([{ n: 7 }]);
      const counts = counter.counts();
      expect(counts.roundTrips).toBe(45);
      // The second text is new every time: parsed every time; the first never again.
      expect(counts.parsed).toBe(21);
      expect(counts.packets).toBe(45);
    } finally {
      await counted.close();
      await counter.close();
    }
  });

  it('when a bound statement is first sent inside a failed transaction, then it fails with that transaction and runs on the same connection afterwards', async () => {
    const single = await openDatabase({ url: testInfra().databaseUrl, schema, migrations: [], poolMax: 1 });
    try {
      const sql = 'select $1::int * 3 as n';
      await expect(
        inTransaction(single, async (em) => {
          await em.execute('select 1/0').catch(() => undefined);
          // Postgres refuses the statement's parse: the transaction is aborted.
          return queryRowsBound(em, z.object({ n: z.number() }), sql, [1]);
        }),
      ).rejects.toThrow(/current transaction is aborted/);
      expect(await queryRowsBound(single.em.fork(), z.object({ n: z.number() }), sql, [2])).toEqual([{ n: 6 }]);
      expect(await queryRowsBound(single.em.fork(), z.object({ n: z.number() }), sql, [3])).toEqual([{ n: 9 }]);
    } finally {
      await single.close();
    }
  });
});
