import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deadLetterSubject, defineMessage, eventSubject, streams } from '@offramp/contracts';
import {
  enqueue,
  ignore,
  makeEnvelope,
  migrate,
  newId,
  on,
  openDatabase,
  queryRow,
  startConsumer,
  type ConsumerOptions,
  type Database,
  type Messaging,
} from '../src/index.ts';
import { eventually, testInfra, testLogger, testMessaging, uniqueName } from '../src/testing.ts';

const job = defineMessage(eventSubject('consumer-test', 'job'), z.object({ n: z.number().int() }));

type Result = Parameters<NonNullable<ConsumerOptions['onSettled']>>[0];

/** A count(*)::text row. */
const count = z.object({ n: z.string() });

/** A gate per message number: its handler waits on it until the test opens it. */
class Gates {
  readonly #gates = new Map<number, PromiseWithResolvers<undefined>>();
  #get(n: number) {
    let gate = this.#gates.get(n);
    if (!gate) this.#gates.set(n, (gate = Promise.withResolvers<undefined>()));
    return gate;
  }
  wait(n: number): Promise<undefined> {
    return this.#get(n).promise;
  }
  open(n: number): void {
    this.#get(n).resolve(undefined);
  }
}

/** How many handlers run at this moment, and the most there ever were. */
class InFlight {
  now = 0;
  max = 0;
  readonly started: number[] = [];
  async around(n: number, work: () => Promise<void>): Promise<void> {
    this.started.push(n);
    this.max = Math.max(this.max, ++this.now);
    try {
      await work();
    } finally {
      this.now--;
    }
  }
}

describe('startConsumer with concurrency', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  async function setup(poolMax: number): Promise<{ db: Database; messaging: Messaging }> {
    const messaging = await testMessaging('consumer');
    cleanups.push(() => messaging.cleanup());
    const schema = uniqueName('consumer');
    const db = await openDatabase({ url: testInfra().databaseUrl, schema, migrations: [], poolMax });
    await migrate(db);
    cleanups.push(async () => {
      await db.em.fork().execute(`drop schema if exists "${schema}" cascade`);
      await db.close();
    });
    return { db, messaging };
  }

  const publish = (messaging: Messaging, n: number, envelope = makeEnvelope(job, { n }, { correlationId: `job-${n}`, traceId: newId() })) =>
    messaging.js.publish(messaging.wire(job.subject), JSON.stringify(envelope), { msgID: newId() });

  it('when more messages wait than its concurrency, then that many handlers run at once, never more, each in its own inbox transaction, and every message is handled once', async () => {
    const { db, messaging } = await setup(6);
    const concurrency = 3;
    const gates = new Gates();
    const flight = new InFlight();
    const settled: Result[] = [];
    const consumer = await startConsumer({
      db,
      messaging,
      log: testLogger('consumer'),
      name: 'consumer-overlap',
      stream: 'EVENTS',
      filterSubject: job.subject,
      concurrency,
      onSettled: (r) => void settled.push(r),
      handlers: [
        on(job, ({ em, envelope }) =>
          flight.around(envelope.payload.n, async () => {
            // The transaction is the handler's own: what it sees of its inbox row is its message.
            const row = await queryRow(em, count, 'select count(*)::text as n from inbox where message_id = ?', [envelope.id]);
            expect(row).toEqual({ n: '1' });
            await gates.wait(envelope.payload.n);
          }),
        ),
      ],
    });
    cleanups.push(() => consumer.stop());

    const total = 8;
    for (let n = 0; n < total; n++) await publish(messaging, n);
    await eventually(`${concurrency} handlers in hand`, () => flight.now === concurrency);
    // Each message let go makes room for exactly one more.
    const first = [...flight.started];
    gates.open(first[0]!);
    await eventually('a fourth handler started', () => flight.started.length === concurrency + 1);
    expect(flight.now).toBe(concurrency);
    for (let n = 0; n < total; n++) gates.open(n);
    await eventually('every message settled', () => settled.length === total);

    expect(settled).toEqual(Array.from({ length: total }, () => 'handled'));
    expect(flight.max).toBe(concurrency);
    expect([...flight.started].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, n) => n));
    const inbox = await queryRow(db.em.fork(), count, "select count(*)::text as n from inbox where consumer = 'consumer-overlap'");
    expect(inbox).toEqual({ n: String(total) });
  });

  it('when several messages share a correlation, then they are handled one after another in stream order while other correlations go side by side', async () => {
    const { db, messaging } = await setup(6);
    const gates = new Gates();
    const flight = new InFlight();
    const settled: Result[] = [];
    const consumer = await startConsumer({
      db,
      messaging,
      log: testLogger('consumer'),
      name: 'consumer-order',
      stream: 'EVENTS',
      filterSubject: job.subject,
      concurrency: 4,
      onSettled: (r) => void settled.push(r),
      handlers: [on(job, ({ envelope }) => flight.around(envelope.payload.n, () => gates.wait(envelope.payload.n)))],
    });
    cleanups.push(() => consumer.stop());
    const about = (n: number, correlationId: string) => makeEnvelope(job, { n }, { correlationId, traceId: newId() });
    // 1, 2, 3 are about one withdrawal; 10 and 20 about two others.
    for (const [n, correlation] of [
      [1, 'withdrawal-a'],
      [10, 'withdrawal-b'],
      [2, 'withdrawal-a'],
      [20, 'withdrawal-c'],
      [3, 'withdrawal-a'],
    ] as const)
      await publish(messaging, n, about(n, correlation));

    await eventually('1, 10 and 20 in hand', () => [1, 10, 20].every((n) => flight.started.includes(n)));
    // Release the others first: 2 still waits for 1, however long.
    gates.open(10);
    gates.open(20);
    gates.open(3);
    gates.open(2);
    await eventually('10 and 20 settled', () => settled.length === 2);
    expect(flight.started.filter((n) => n < 10)).toEqual([1]);
    gates.open(1);
    await eventually('every message settled', () => settled.length === 5);
    expect(flight.started.filter((n) => n < 10)).toEqual([1, 2, 3]);
    expect(flight.max).toBe(3);
  });

  it('when it asks for more than the pool has connections, then no more messages are in hand than connections', async () => {
    const { db, messaging } = await setup(2);
    const gates = new Gates();
    const flight = new InFlight();
    const settled: Result[] = [];
    const consumer = await startConsumer({
      db,
      messaging,
      log: testLogger('consumer'),
      name: 'consumer-pool-bound',
      stream: 'EVENTS',
      filterSubject: job.subject,
      concurrency: 16,
      onSettled: (r) => void settled.push(r),
      handlers: [on(job, ({ envelope }) => flight.around(envelope.payload.n, () => gates.wait(envelope.payload.n)))],
    });
    cleanups.push(() => consumer.stop());
    for (let n = 0; n < 5; n++) await publish(messaging, n);
    await eventually('two handlers in hand', () => flight.now === 2);
    gates.open(flight.started[0]!);
    await eventually('a third started', () => flight.started.length === 3);
    for (let n = 0; n < 5; n++) gates.open(n);
    await eventually('every message settled', () => settled.length === 5);
    expect(flight.max).toBe(2);
  });

  it('when messages fail while others are in hand, then a failure is redelivered and handled, a poison message is dead-lettered after maxDeliver, an unparsable one at once, and a repeated envelope is a duplicate', async () => {
    const { db, messaging } = await setup(6);
    const settled: Result[] = [];
    const handled: number[] = [];
    const attempts = new Map<number, number>();
    const consumer = await startConsumer({
      db,
      messaging,
      log: testLogger('consumer'),
      name: 'consumer-failures',
      stream: 'EVENTS',
      filterSubject: job.subject,
      concurrency: 4,
      maxDeliver: 3,
      backoffMs: [20],
      onSettled: (r) => void settled.push(r),
      handlers: [
        on(job, async ({ em, envelope }) => {
          const n = envelope.payload.n;
          const attempt = (attempts.get(n) ?? 0) + 1;
          attempts.set(n, attempt);
          await em.execute('select 1');
          // n = 1 fails once; n = 666 always.
          if ((n === 1 && attempt === 1) || n === 666) throw new Error(`job ${n} failed (attempt ${attempt})`);
          handled.push(n);
        }),
      ],
    });
    cleanups.push(() => consumer.stop());

    const twice = makeEnvelope(job, { n: 2 }, { correlationId: 'job-2', traceId: newId() });
    await publish(messaging, 0);
    await publish(messaging, 1);
    await publish(messaging, 2, twice);
    await publish(messaging, 666);
    await messaging.js.publish(messaging.wire(job.subject), 'not json', { msgID: newId() });
    await eventually('the handled messages', () => handled.length === 3);
    await eventually('two dead letters', () => settled.filter((r) => r === 'dead_letter').length === 2);
    // The same envelope again (another publish, so another stream message): its inbox row is there.
    await publish(messaging, 2, twice);
    await eventually('the duplicate', () => settled.includes('duplicate'));

    expect(handled.sort((a, b) => a - b)).toEqual([0, 1, 2]);
    expect(attempts.get(1)).toBe(2);
    expect(attempts.get(666)).toBe(3);
    expect(settled.filter((r) => r === 'retry')).toHaveLength(1 + 2);
    expect(settled.filter((r) => r === 'handled')).toHaveLength(3);
    // The dead-letter stream of this namespace holds exactly these two, each with its reason.
    const dlq = messaging.streamName(streams.deadLetters.name);
    expect((await messaging.jsm.streams.info(dlq)).state.messages).toBe(2);
    const dead = await Promise.all([1, 2].map((seq) => messaging.jsm.streams.getMessage(dlq, { seq })));
    expect(dead.every((m) => m?.subject === messaging.wire(deadLetterSubject(job.subject)))).toBe(true);
    expect(dead.map((m) => m?.header.get('dlq-reason')).sort()).toEqual([
      expect.stringMatching(/^body is not JSON$/),
      expect.stringMatching(/^failed 3 times: Error: job 666 failed \(attempt 3\)$/),
    ]);
  });

  it('when a message is dead-lettered, then the server is told to stop delivering it (terminated: nothing is left unacknowledged to come back)', async () => {
    const { db, messaging } = await setup(2);
    const settled: Result[] = [];
    const consumer = await startConsumer({
      db,
      messaging,
      log: testLogger('consumer'),
      name: 'consumer-terminates',
      stream: 'EVENTS',
      filterSubject: job.subject,
      onSettled: (r) => void settled.push(r),
      handlers: [on(job, async () => {})],
    });
    cleanups.push(() => consumer.stop());
    await messaging.js.publish(messaging.wire(job.subject), 'not json', { msgID: newId() });
    await eventually('the dead letter', () => settled.includes('dead_letter'));
    // NATS 2.9 ignores a terminate that carries a reason: the message would stay unacknowledged and
    // come back after every ack wait, to be dead-lettered again.
    const unacknowledged = async () =>
      (await messaging.jsm.consumers.info(messaging.streamName(streams.events.name), 'consumer-terminates')).num_ack_pending;
    await eventually('the dead letter terminated', async () => (await unacknowledged()) === 0);
    expect(settled).toEqual(['dead_letter']);
  });

  it('when a subject is ignored, then its messages are acked without an inbox row or a transaction, and the handled subject goes on as before', async () => {
    const { db, messaging } = await setup(2);
    const other = defineMessage(eventSubject('consumer-test', 'other'), z.object({ s: z.string() }));
    const settled: Result[] = [];
    const handled: number[] = [];
    const consumer = await startConsumer({
      db,
      messaging,
      log: testLogger('consumer'),
      name: 'consumer-ignores',
      stream: 'EVENTS',
      filterSubject: 'evt.consumer-test.>',
      onSettled: (r) => void settled.push(r),
      handlers: [on(job, async ({ envelope }) => void handled.push(envelope.payload.n)), ignore(other)],
    });
    cleanups.push(() => consumer.stop());
    const publishOther = (body: unknown) => messaging.js.publish(messaging.wire(other.subject), JSON.stringify(body), { msgID: newId() });

    for (let i = 0; i < 5; i++) await publishOther(makeEnvelope(other, { s: `x${i}` }, { correlationId: 'job-0', traceId: newId() }));
    await publish(messaging, 0);
    await eventually('every message settled', () => settled.length === 6);

    expect(handled).toEqual([0]);
    expect(settled).toEqual(Array.from({ length: 6 }, () => 'handled'));
    // Only the handled message has an inbox row; nothing is left pending or unacknowledged.
    const inbox = await queryRow(db.em.fork(), count, "select count(*)::text as n from inbox where consumer = 'consumer-ignores'");
    expect(inbox).toEqual({ n: '1' });
    const outstanding = async () => {
      const info = await messaging.jsm.consumers.info(messaging.streamName(streams.events.name), 'consumer-ignores');
      return info.num_pending + info.num_ack_pending;
    };
    await eventually('nothing pending or unacknowledged', async () => (await outstanding()) === 0);
  });

  it('when a handler says a message does not concern it, then it is acked without an inbox row or a transaction; those that concern it are handled as before', async () => {
    const { db, messaging } = await setup(2);
    const settled: Result[] = [];
    const handled: number[] = [];
    const asked: number[] = [];
    const consumer = await startConsumer({
      db,
      messaging,
      log: testLogger('consumer'),
      name: 'consumer-concerns',
      stream: 'EVENTS',
      filterSubject: 'evt.consumer-test.>',
      onSettled: (r) => void settled.push(r),
      handlers: [
        on(job, async ({ envelope }) => void handled.push(envelope.payload.n), {
          concerns: async ({ em, envelope }) => {
            asked.push(envelope.payload.n);
            // A read on the connection it is given, outside any transaction.
            const row = await queryRow(em, z.object({ even: z.boolean() }), 'select (?::int % 2 = 0) as even', [envelope.payload.n]);
            return row!.even;
          },
        }),
      ],
    });
    cleanups.push(() => consumer.stop());
    for (let n = 0; n < 6; n++) await publish(messaging, n);
    await eventually('every message settled', () => settled.length === 6);

    expect(asked.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(handled.sort()).toEqual([0, 2, 4]);
    expect(settled).toEqual(Array.from({ length: 6 }, () => 'handled'));
    const inbox = await queryRow(db.em.fork(), count, "select count(*)::text as n from inbox where consumer = 'consumer-concerns'");
    expect(inbox).toEqual({ n: '3' });
  });

  it('when a handler writes nothing into the outbox, then the commit says so (no relay wake-up for nothing), and when it writes a row, then it says that', async () => {
    const { db, messaging } = await setup(2);
    const after: [number, boolean][] = [];
    const consumer = await startConsumer({
      db,
      messaging,
      log: testLogger('consumer'),
      name: 'consumer-enqueues',
      stream: 'EVENTS',
      filterSubject: job.subject,
      concurrency: 1,
      afterCommit: (envelope, info) => void after.push([(envelope.payload as { n: number }).n, info.enqueued]),
      handlers: [
        on(job, async ({ em, envelope, cause }) => {
          // Odd jobs cause a message, even ones do not.
          if (envelope.payload.n % 2 === 1) await enqueue(em, job, { n: envelope.payload.n * 10 }, cause);
        }),
      ],
    });
    cleanups.push(() => consumer.stop());
    for (let n = 0; n < 4; n++) await publish(messaging, n);
    await eventually('four commits', () => after.length === 4);
    expect(after).toEqual([
      [0, false],
      [1, true],
      [2, false],
      [3, true],
    ]);
  });

  it('when it is stopped with messages in hand, then stop returns only after every one of them committed and was acked', async () => {
    const { db, messaging } = await setup(6);
    const concurrency = 3;
    const gates = new Gates();
    const flight = new InFlight();
    const events: string[] = [];
    const consumer = await startConsumer({
      db,
      messaging,
      log: testLogger('consumer'),
      name: 'consumer-stop',
      stream: 'EVENTS',
      filterSubject: job.subject,
      concurrency,
      onSettled: (r) => void events.push(r),
      handlers: [on(job, ({ envelope }) => flight.around(envelope.payload.n, () => gates.wait(envelope.payload.n)))],
    });
    for (let n = 0; n < concurrency; n++) await publish(messaging, n);
    await eventually(`${concurrency} handlers in hand`, () => flight.now === concurrency);

    const stopping = consumer.stop().then(() => void events.push('stopped'));
    // Two round trips to the server: time enough for the pull to close, none for the handlers.
    await messaging.nc.flush();
    await messaging.nc.flush();
    expect(events).toEqual([]);
    for (let n = 0; n < concurrency; n++) gates.open(n);
    await stopping;

    expect(events).toEqual(['handled', 'handled', 'handled', 'stopped']);
    const info = await messaging.jsm.consumers.info(messaging.streamName(streams.events.name), 'consumer-stop');
    expect(info.num_ack_pending).toBe(0);
    const inbox = await queryRow(db.em.fork(), count, "select count(*)::text as n from inbox where consumer = 'consumer-stop'");
    expect(inbox).toEqual({ n: String(concurrency) });
  });

  /** An effects table the batch tests' handlers write to, with the transaction each write was in. */
  async function effectsTable(db: Database): Promise<void> {
    await db.em.fork().execute('create table effects (n int not null, txid bigint not null default txid_current())');
  }
  const effectRows = (db: Database) =>
    db.em
      .fork()
      .execute<{ n: number; txid: string }[]>('select n, txid::text as txid from effects order by n')
      .then((rows) => rows.map((r) => ({ n: Number(r.n), txid: String(r.txid) })));

  /** A consumer of `job` started for a test (stopped after it), and what it settled, in order. */
  async function consumeJobs(
    db: Database,
    messaging: Messaging,
    opts: Pick<ConsumerOptions, 'name' | 'handlers'> & Partial<ConsumerOptions>,
  ): Promise<Result[]> {
    const settled: Result[] = [];
    const consumer = await startConsumer({
      db,
      messaging,
      log: testLogger('consumer'),
      stream: 'EVENTS',
      filterSubject: job.subject,
      onSettled: (r) => void settled.push(r),
      ...opts,
    });
    cleanups.push(() => consumer.stop());
    return settled;
  }

  it('when several messages of different correlations are ready together with a batch, then they commit in fewer transactions than messages, each handled once with its inbox row', async () => {
    const { db, messaging } = await setup(4);
    await effectsTable(db);
    for (let n = 0; n < 40; n++) await publish(messaging, n);
    const settled = await consumeJobs(db, messaging, {
      name: 'consumer-batch',
      concurrency: 2,
      batch: 8,
      handlers: [
        on(job, ({ em, envelope }) => em.execute('insert into effects (n) values (?)', [envelope.payload.n], 'run').then(() => {})),
      ],
    });
    await eventually('every message settled', () => settled.length === 40);

    const rows = await effectRows(db);
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 40 }, (_, n) => n));
    const transactions = new Set(rows.map((r) => r.txid));
    expect(transactions.size).toBeLessThan(40);
    expect(Math.max(...[...transactions].map((t) => rows.filter((r) => r.txid === t).length))).toBeLessThanOrEqual(8);
    expect(settled).toEqual(Array.from({ length: 40 }, () => 'handled'));
    const inbox = await queryRow(db.em.fork(), count, "select count(*)::text as n from inbox where consumer = 'consumer-batch'");
    expect(inbox).toEqual({ n: '40' });
    const info = await messaging.jsm.consumers.info(messaging.streamName(streams.events.name), 'consumer-batch');
    await eventually(
      'nothing unacknowledged',
      async () => (await messaging.jsm.consumers.info(info.stream_name, info.name)).num_ack_pending === 0,
    );
  });

  it('when one message of a batch always fails, then the batch is rolled back and the others are handled alone, each once; the failing one leaves no effect and is dead-lettered', async () => {
    const { db, messaging } = await setup(4);
    await effectsTable(db);
    for (let n = 0; n < 6; n++) await publish(messaging, n);
    await publish(messaging, 666);
    for (let n = 6; n < 12; n++) await publish(messaging, n);
    const settled = await consumeJobs(db, messaging, {
      name: 'consumer-batch-poison',
      concurrency: 2,
      batch: 16,
      maxDeliver: 3,
      backoffMs: [20],
      handlers: [
        on(job, async ({ em, envelope }) => {
          await em.execute('insert into effects (n) values (?)', [envelope.payload.n], 'run');
          if (envelope.payload.n === 666) throw new Error('job 666 failed');
        }),
      ],
    });
    await eventually('the dead letter', () => settled.includes('dead_letter'));
    await eventually('the others handled', () => settled.filter((r) => r === 'handled').length === 12);

    expect((await effectRows(db)).map((r) => r.n)).toEqual(Array.from({ length: 12 }, (_, n) => n));
    expect(settled.filter((r) => r === 'retry')).toHaveLength(2);
    const inbox = await queryRow(db.em.fork(), count, "select count(*)::text as n from inbox where consumer = 'consumer-batch-poison'");
    expect(inbox).toEqual({ n: '12' });
  });

  it('when messages share a correlation, then with a batch they are still handled one after another in stream order, never two of them in one transaction', async () => {
    const { db, messaging } = await setup(4);
    await effectsTable(db);
    const same = (n: number) => publish(messaging, n, makeEnvelope(job, { n }, { correlationId: 'one-withdrawal', traceId: newId() }));
    for (let n = 0; n < 30; n++) await (n % 3 === 0 ? same(n) : publish(messaging, n));
    const order: number[] = [];
    const settled = await consumeJobs(db, messaging, {
      name: 'consumer-batch-order',
      concurrency: 2,
      batch: 8,
      handlers: [
        on(job, async ({ em, envelope }) => {
          if (envelope.correlationId === 'one-withdrawal') order.push(envelope.payload.n);
          await em.execute('insert into effects (n) values (?)', [envelope.payload.n], 'run');
        }),
      ],
    });
    await eventually('every message settled', () => settled.length === 30);

    const ours = Array.from({ length: 10 }, (_, i) => i * 3);
    expect(order).toEqual(ours);
    const rows = await effectRows(db);
    const txids = ours.map((n) => rows.find((r) => r.n === n)!.txid);
    expect(new Set(txids).size).toBe(ours.length);
  });

  it('when the database connection is cut in the middle of a batch, then nothing of it is applied and every message is redelivered and handled once', async () => {
    const { db, messaging } = await setup(4);
    await effectsTable(db);
    for (let n = 0; n < 10; n++) await publish(messaging, n);
    let cut = false;
    const settled = await consumeJobs(db, messaging, {
      name: 'consumer-batch-cut',
      concurrency: 1,
      batch: 10,
      handlers: [
        on(job, async ({ em, envelope }) => {
          await em.execute('insert into effects (n) values (?)', [envelope.payload.n], 'run');
          // The fifth message of the first batch kills its own connection: the batch's transaction dies with it.
          if (envelope.payload.n === 4 && !cut) {
            cut = true;
            await em.execute('select pg_terminate_backend(pg_backend_pid())');
          }
        }),
      ],
    });
    await eventually('every message handled', () => settled.filter((r) => r === 'handled').length === 10);

    expect(cut).toBe(true);
    expect(settled.filter((r) => r === 'retry').length).toBeGreaterThan(0);
    expect((await effectRows(db)).map((r) => r.n)).toEqual(Array.from({ length: 10 }, (_, n) => n));
    const inbox = await queryRow(db.em.fork(), count, "select count(*)::text as n from inbox where consumer = 'consumer-batch-cut'");
    expect(inbox).toEqual({ n: '10' });
  });

  it('when a batch holds a message already in the inbox, then it is a duplicate and its handler does not run again', async () => {
    const { db, messaging } = await setup(4);
    await effectsTable(db);
    const twice = makeEnvelope(job, { n: 7 }, { correlationId: 'job-7', traceId: newId() });
    const handled: number[] = [];
    const settled = await consumeJobs(db, messaging, {
      name: 'consumer-batch-duplicate',
      concurrency: 1,
      batch: 8,
      handlers: [on(job, async ({ envelope }) => void handled.push(envelope.payload.n))],
    });
    await publish(messaging, 7, twice);
    await eventually('the first copy handled', () => settled.length === 1);
    for (let n = 0; n < 4; n++) await publish(messaging, n);
    await publish(messaging, 7, twice);
    await eventually('every message settled', () => settled.length === 6);

    expect(handled.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 7]);
    expect(settled.filter((r) => r === 'duplicate')).toHaveLength(1);
  });
});
