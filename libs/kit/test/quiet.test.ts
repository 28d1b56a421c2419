import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineMessage, eventSubject } from '@offramp/contracts';
import {
  enqueue,
  inTransaction,
  migrate,
  newId,
  on,
  openDatabase,
  queryRow,
  startConsumer,
  startOutboxRelay,
  type Consumer,
  type Database,
  type OutboxRelay,
} from '../src/index.ts';
import { backlogOf, eventually, testInfra, testLogger, testMessaging, uniqueName, waitUntilQuiet } from '../src/testing.ts';

const ping = defineMessage(eventSubject('quiet-test', 'ping'), z.object({ n: z.number().int() }));

describe('waitUntilQuiet', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  it('when a message causes a chain of messages through outbox and consumer, then quiet means the whole chain has happened', async () => {
    const messaging = await testMessaging('quiet');
    cleanups.push(() => messaging.cleanup());
    const schema = uniqueName('quiet');
    const db: Database = await openDatabase({ url: testInfra().databaseUrl, schema, migrations: [], poolMax: 4 });
    await migrate(db);
    cleanups.push(async () => {
      await db.em.fork().execute(`drop schema if exists "${schema}" cascade`);
      await db.close();
    });
    const log = testLogger('quiet');
    const relay: OutboxRelay = startOutboxRelay({ db, messaging, log, pollMs: 30 });
    cleanups.push(() => relay.stop());
    // Each ping below 5 causes the next one, written to the outbox in the inbox transaction.
    const consumer: Consumer = await startConsumer({
      db,
      messaging,
      log,
      name: 'quiet-chain',
      stream: 'EVENTS',
      filterSubject: 'evt.quiet-test.>',
      handlers: [
        on(ping, async ({ em, envelope: env }) => {
          if (env.payload.n < 5) await enqueue(em, ping, { n: env.payload.n + 1 }, { correlationId: 'chain', traceId: env.traceId });
        }),
      ],
      afterCommit: () => relay.wake(),
    });
    cleanups.push(() => consumer.stop());

    await inTransaction(db, (em) => enqueue(em, ping, { n: 0 }, { correlationId: 'chain', traceId: newId() }));
    relay.wake();
    await waitUntilQuiet({ databases: [db], messaging });

    const handled = await queryRow(
      db.em.fork(),
      z.object({ n: z.string() }),
      "select count(*)::text as n from inbox where consumer = 'quiet-chain'",
    );
    expect(Number(handled!.n)).toBe(6);
    const backlog = await backlogOf({ databases: [db], messaging });
    expect(backlog.outbox[schema]).toBe(0);
    expect(backlog.consumers['EVENTS/quiet-chain']).toEqual({ pending: 0, ackPending: 0 });
  });

  it('when a condition never holds, then eventually fails naming it', async () => {
    await expect(eventually('a condition that never holds', () => false, { timeoutMs: 100 })).rejects.toThrow(
      'timed out waiting for a condition that never holds',
    );
    expect(await eventually('a value', () => 42)).toBe(42);
  });
});
