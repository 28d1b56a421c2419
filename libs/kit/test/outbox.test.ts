import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineMessage, eventSubject, minorUnits, streams } from '@offramp/contracts';
import {
  createMetrics,
  enqueue,
  inTransaction,
  migrate,
  openDatabase,
  queryRows,
  startOutboxRelay,
  type Database,
  type Messaging,
} from '../src/index.ts';
import { readStream, testInfra, testLogger, testMessaging, uniqueName } from '../src/testing.ts';

const note = defineMessage(eventSubject('outbox-test', 'note'), z.object({ n: z.number().int(), amount: minorUnits }));

describe('the outbox relay', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  async function setup(): Promise<{ db: Database; messaging: Messaging }> {
    const messaging = await testMessaging('outbox');
    cleanups.push(() => messaging.cleanup());
    const schema = uniqueName('outbox');
    const db = await openDatabase({ url: testInfra().databaseUrl, schema, migrations: [], poolMax: 4 });
    await migrate(db);
    cleanups.push(async () => {
      await db.em.fork().execute(`drop schema if exists "${schema}" cascade`);
      await db.close();
    });
    return { db, messaging };
  }

  const write = (db: Database, from: number, count: number) =>
    inTransaction(db, async (em) => {
      for (let n = from; n < from + count; n++)
        await enqueue(em, note, { n, amount: 10n ** 20n + BigInt(n) }, { correlationId: `c-${n}`, traceId: `t-${n}` });
    });
  const counts = (db: Database) =>
    queryRows(
      db.em.fork(),
      z.object({ unsent: z.number(), sent: z.number() }),
      'select count(*) filter (where sent_at is null)::int as unsent, count(*) filter (where sent_at is not null)::int as sent from outbox',
    ).then((rows) => rows[0]);

  it('when more rows wait than a batch holds, then each is published once, in order, with its envelope and headers, and marked sent', async () => {
    const { db, messaging } = await setup();
    const relay = startOutboxRelay({ db, messaging, log: testLogger('outbox'), pollMs: 600_000, batchSize: 16 });
    cleanups.push(() => relay.stop());
    await write(db, 0, 50);

    // Whichever drains took them (the timed one at start, this flush), every row is out once.
    await relay.flush();
    expect(await counts(db)).toEqual({ unsent: 0, sent: 50 });
    const published = await readStream(messaging, streams.events.name, note.subject);
    expect(published.map((m) => (m.data as { payload: { n: number } }).payload.n)).toEqual(Array.from({ length: 50 }, (_, n) => n));
    // The envelope as written (bigint as its exact decimal string), its id the message id.
    const first = published[0]!;
    expect(first.data).toMatchObject({ correlationId: 'c-0', traceId: 't-0', payload: { n: 0, amount: '100000000000000000000' } });
    expect(first.id).toBe((first.data as { id: string }).id);
    const stored = await messaging.jsm.streams.getMessage(messaging.streamName(streams.events.name), { seq: 1 });
    expect({ trace: stored?.header.get('trace-id'), correlation: stored?.header.get('correlation-id') }).toEqual({
      trace: 't-0',
      correlation: 'c-0',
    });
  });

  it('when sent rows are older than the retention, then the cleanup deletes them in batches and keeps unsent and recent rows', async () => {
    const { db, messaging } = await setup();
    const relay = startOutboxRelay({ db, messaging, log: testLogger('outbox'), pollMs: 600_000, retentionMs: 3_600_000, cleanupBatch: 7 });
    cleanups.push(() => relay.stop());
    await relay.flush();
    await write(db, 0, 30);
    await relay.flush();
    // 20 of them were sent two hours ago; 10 just now; then 5 more wait unsent.
    await db.em
      .fork()
      .execute(
        "update outbox set sent_at = now() - interval '2 hours' where seq in (select seq from outbox order by seq limit 20)",
        [],
        'run',
      );
    await relay.stop();
    await write(db, 30, 5);

    expect(await relay.cleanup()).toBe(20);
    expect(await counts(db)).toEqual({ unsent: 5, sent: 10 });
    expect(await relay.cleanup()).toBe(0);
  });

  it('when /metrics is scraped, then outbox_backlog counts the unsent rows at that moment', async () => {
    const { db, messaging } = await setup();
    const metrics = createMetrics('outbox-test');
    const relay = startOutboxRelay({ db, messaging, log: testLogger('outbox'), metrics, pollMs: 600_000 });
    cleanups.push(() => relay.stop());
    // Stopped, so that nothing but the test's flush publishes; the gauge still counts on scrape.
    await relay.stop();
    const backlog = async () => (await metrics.outboxBacklog.get()).values[0]?.value;

    await write(db, 0, 3);
    expect(await backlog()).toBe(3);
    await relay.flush();
    expect(await backlog()).toBe(0);
    expect((await metrics.outboxPublished.get()).values[0]?.value).toBe(3);
  });
});
