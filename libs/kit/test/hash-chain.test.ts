import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  hashChainAtCommit,
  hashChainMigration,
  openDatabase,
  queryRows,
  verifyChain,
  type Database,
  type HashChain,
} from '../src/index.ts';
import { testInfra, uniqueName } from '../src/testing.ts';

/** A small append-only table chained as the services' audit tables are, then linked at commit. */
const chain: HashChain = {
  name: 'test.entries',
  table: 'entries',
  id: 'id',
  head: 'entries_chain_head',
  existingOrder: 'id',
  content: ['r.body'],
};

const entryRow = z.object({ id: z.string(), body: z.string(), chain_seq: z.string().nullable() });
const entries = (db: Database) =>
  queryRows(db.em.fork(), entryRow, 'select id::text as id, body, chain_seq::text as chain_seq from entries order by id');

describe('a hash chain linked at commit (hashChainAtCommit)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  async function setup(): Promise<Database> {
    const schema = uniqueName('chain');
    const db = await openDatabase({ url: testInfra().databaseUrl, schema, migrations: [], poolMax: 4 });
    cleanups.push(async () => {
      await db.em.fork().execute(`drop schema if exists "${schema}" cascade`);
      await db.close();
    });
    const em = db.em.fork();
    await em.execute(`create schema "${schema}"`);
    await em.execute('create table entries (id bigserial primary key, body text not null)');
    await em.execute(`create function entries_immutable() returns trigger language plpgsql as $$
      begin raise exception 'entries are append-only'; end $$`);
    await em.execute(
      'create trigger entries_immutable before update or delete on entries for each row execute function entries_immutable()',
    );
    // One row before the chain exists: chained by the migration itself.
    await em.execute(`insert into entries (body) values ('before the chain')`);
    for (const statement of hashChainMigration(chain, 'entries_immutable')) await em.execute(statement);
    for (const statement of hashChainAtCommit(chain, { fn: 'entries_immutable', message: 'entries are append-only' }))
      await em.execute(statement);
    return db;
  }

  it('when a transaction appends and stays open, then another append commits without waiting for it, and each is linked in commit order', async () => {
    const db = await setup();
    const inserted = Promise.withResolvers<undefined>();
    const release = Promise.withResolvers<undefined>();
    const slow = db.em.fork().transactional(async (em) => {
      await em.execute(`insert into entries (body) values ('slow')`);
      inserted.resolve(undefined);
      await release.promise;
    });
    await inserted.promise;
    // With the head taken at the insert, this would wait for the slow transaction to end.
    await db.em.fork().execute(`insert into entries (body) values ('quick')`);
    const whileOpen = await entries(db);
    expect(whileOpen.map((r) => [r.body, r.chain_seq])).toEqual([
      ['before the chain', '1'],
      ['quick', '2'],
    ]);
    release.resolve(undefined);
    await slow;

    const rows = await entries(db);
    expect(rows.map((r) => [r.body, r.chain_seq])).toEqual([
      ['before the chain', '1'],
      ['slow', '3'],
      ['quick', '2'],
    ]);
    expect(await verifyChain(db.em.fork(), chain)).toMatchObject({ ok: true, entriesChecked: 3, head: { seq: '3' } });
  });

  it('when 40 transactions append at once, some of them two rows and some rolled back, then the committed rows form one chain without gaps', async () => {
    const db = await setup();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        db.em
          .fork()
          .transactional(async (em) => {
            await em.execute('insert into entries (body) values (?)', [`a${i}`]);
            if (i % 3 === 0) await em.execute('insert into entries (body) values (?)', [`b${i}`]);
            if (i % 5 === 0) throw new Error('rolled back');
          })
          .catch((err: unknown) => {
            if ((err as Error).message !== 'rolled back') throw err;
          }),
      ),
    );
    const rows = await entries(db);
    const committed = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 5 !== 0);
    expect(rows).toHaveLength(1 + committed.length + committed.filter((i) => i % 3 === 0).length);
    expect(rows.map((r) => Number(r.chain_seq)).sort((a, b) => a - b)).toEqual(rows.map((_, i) => i + 1));
    // Two rows of one transaction are linked one after the other, in the order inserted.
    for (const i of committed.filter((n) => n % 3 === 0)) {
      const a = rows.find((r) => r.body === `a${i}`)!;
      const b = rows.find((r) => r.body === `b${i}`)!;
      expect(Number(b.chain_seq)).toBe(Number(a.chain_seq) + 1);
    }
    expect(await verifyChain(db.em.fork(), chain)).toMatchObject({ ok: true, entriesChecked: rows.length });
  });

  it('when anything but the link is updated, or a row deleted, then the append-only trigger refuses it; a row slipped in around the chain trigger is named unlinked', async () => {
    const db = await setup();
    await db.em.fork().execute(`insert into entries (body) values ('second')`);
    const em = db.em.fork();
    await expect(em.execute(`update entries set body = 'edited' where body = 'second'`)).rejects.toThrow(/append-only/);
    await expect(em.execute(`update entries set hash = 'x' where body = 'second'`)).rejects.toThrow(/append-only/);
    await expect(em.execute(`update entries set chain_seq = null, prev_hash = null, hash = null where body = 'second'`)).rejects.toThrow(
      /append-only/,
    );
    await expect(em.execute(`delete from entries where body = 'second'`)).rejects.toThrow(/append-only/);
    expect(await verifyChain(db.em.fork(), chain)).toMatchObject({ ok: true, entriesChecked: 2 });

    await em.execute('alter table entries disable trigger entries_chain');
    await em.execute(`insert into entries (body) values ('around the chain')`);
    await em.execute('alter table entries enable trigger entries_chain');
    const slipped = (await entries(db)).find((r) => r.body === 'around the chain')!;
    expect(await verifyChain(db.em.fork(), chain)).toMatchObject({
      ok: false,
      entriesChecked: 2,
      firstBroken: { id: slipped.id, problem: 'unlinked_entry' },
    });
  });
});
