import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineMessage, eventSubject } from '@offramp/contracts';
import {
  enqueue,
  inTransaction,
  makeEnvelope,
  migrate,
  newId,
  on,
  openDatabase,
  startConsumer,
  startOutboxRelay,
  type Database,
  type Messaging,
} from '../src/index.ts';
import { eventually, testInfra, testLogger, testMessaging, uniqueName } from '../src/testing.ts';
import { countingDatabaseUrl, type PgCounter, type StatementCounts } from '../../../tools/bench/src/pg-counter.ts';

const note = defineMessage(eventSubject('statements-test', 'note'), z.object({ n: z.number().int() }));
const alone = defineMessage(eventSubject('statements-test', 'alone'), z.object({ n: z.number().int() }));
const batched = defineMessage(eventSubject('statements-test', 'batched'), z.object({ n: z.number().int() }));

/**
 * What the kit's per-message statements (the outbox insert, the relay's claim and mark, the inbox
 * inserts) cost Postgres in parsing, counted by the benchmark's proxy in front of the test's pool:
 * after a warm-up, every one of them runs again on a connection that already holds it as a
 * prepared statement, so the only statements Postgres still parses are the transactions' begin and
 * commit. Figures are printed; the bounds catch a per-message statement sent inlined again.
 */
describe("the kit's per-message statements", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  async function setup(): Promise<{ db: Database; messaging: Messaging; counter: PgCounter }> {
    const messaging = await testMessaging('statements');
    cleanups.push(() => messaging.cleanup());
    const counted = await countingDatabaseUrl(testInfra().databaseUrl);
    cleanups.push(() => counted.counter.close());
    const schema = uniqueName('statements');
    // Migrated beside the proxy (migrating takes two connections); the counted pool has one, so
    // a statement run once is prepared on the only connection that runs it again.
    const migrating = await openDatabase({ url: testInfra().databaseUrl, schema, migrations: [], poolMax: 2 });
    await migrate(migrating);
    await migrating.close();
    const db = await openDatabase({ url: counted.url, schema, migrations: [], poolMax: 1 });
    cleanups.push(async () => {
      await db.em.fork().execute(`drop schema if exists "${schema}" cascade`);
      await db.close();
    });
    return { db, messaging, counter: counted.counter };
  }

  const per = (c: StatementCounts, messages: number) => ({
    statements: c.statements / messages,
    transactionControl: c.transactionControl / messages,
    parsed: c.parsed / messages,
  });

  const publish = (messaging: Messaging, def: typeof alone, n: number) =>
    messaging.js.publish(
      messaging.wire(def.subject),
      JSON.stringify(makeEnvelope(def, { n }, { correlationId: `${def.subject}-${n}`, traceId: newId() })),
      { msgID: newId() },
    );

  it('when rows are enqueued and relayed one at a time after a warm-up, then Postgres parses only the begin and commit of their transactions', async () => {
    const { db, messaging, counter } = await setup();
    const relay = startOutboxRelay({ db, messaging, log: testLogger('statements'), pollMs: 3_600_000, idlePollMs: 3_600_000 });
    cleanups.push(() => relay.stop());
    const oneMessage = async (n: number) => {
      await inTransaction(db, (em) => enqueue(em, note, { n }, { correlationId: `note-${n}`, traceId: newId() }));
      expect(await relay.flush()).toBe(1);
    };
    for (let n = 0; n < 8; n++) await oneMessage(n);

    const messages = 20;
    counter.reset();
    for (let n = 8; n < 8 + messages; n++) await oneMessage(n);
    const relayed = per(counter.counts(), messages);
    console.log(`enqueued and relayed, per message: ${JSON.stringify(relayed)}`);

    // Two transactions (the enqueuing one, the relay's batch) and three statements in them: the
    // insert, the claim, the mark. Before they were prepared statements: parsed 7 (every statement).
    expect(relayed).toMatchObject({ statements: 7, transactionControl: 4 });
    expect(relayed.parsed).toBeLessThanOrEqual(relayed.transactionControl);
  });

  it('when messages are consumed one per transaction and in batches after a warm-up, then Postgres parses only the begin and commit of their transactions', async () => {
    const { db, messaging, counter } = await setup();
    const settled: string[] = [];
    const gate = Promise.withResolvers<undefined>();
    let gateInHand = false;
    const consume = async (def: typeof alone, batch: number) => {
      const consumer = await startConsumer({
        db,
        messaging,
        log: testLogger('statements'),
        name: `statements-${batch}`,
        stream: 'EVENTS',
        filterSubject: def.subject,
        batch,
        onSettled: (r) => void settled.push(r),
        handlers: [
          on(def, async ({ envelope }) => {
            if (envelope.payload.n !== -1) return;
            gateInHand = true;
            await gate.promise;
          }),
        ],
      });
      cleanups.push(() => consumer.stop());
    };
    const handled = (n: number) => eventually(`${n} messages settled`, () => settled.length === n);
    const messages = 20;

    // One per transaction: the single-row inbox insert.
    await consume(alone, 1);
    for (let n = 0; n < 8; n++) await publish(messaging, alone, n);
    await handled(8);
    counter.reset();
    for (let n = 8; n < 8 + messages; n++) await publish(messaging, alone, n);
    await handled(8 + messages);
    const oneByOne = per(counter.counts(), messages);

    // In batches: the unnest inbox insert. While one message holds the consumer's only transaction,
    // the next ones are delivered and wait; the first batch after it takes all those in hand.
    for (let n = 0; n < 8; n++) await publish(messaging, batched, n);
    await consume(batched, 8);
    await handled(8 + messages + 8);
    await publish(messaging, batched, -1);
    await eventually('the gate message in hand', () => gateInHand);
    counter.reset();
    for (let n = 8; n < 8 + messages; n++) await publish(messaging, batched, n);
    await eventually('every message delivered', async () => {
      const info = await messaging.jsm.consumers.info(messaging.streamName('EVENTS'), 'statements-8');
      return info.num_ack_pending === 1 + messages;
    });
    gate.resolve(undefined);
    await handled(8 + messages + 8 + 1 + messages);
    const inBatches = counter.counts();
    console.log(`consumed, per message: ${JSON.stringify({ oneByOne, inBatches: per(inBatches, messages) })}`);

    expect(settled.every((r) => r === 'handled')).toBe(true);
    // Alone: begin, the inbox insert, commit. Before they were prepared statements: parsed 3.
    expect(oneByOne).toMatchObject({ statements: 3, transactionControl: 2 });
    expect(oneByOne.parsed).toBeLessThanOrEqual(oneByOne.transactionControl);
    // Batches: fewer inbox inserts than messages (each batch is begin, one insert, commit).
    expect(inBatches.statements - inBatches.transactionControl).toBeLessThan(messages);
    expect(inBatches.parsed).toBeLessThanOrEqual(inBatches.transactionControl);
  });
});
