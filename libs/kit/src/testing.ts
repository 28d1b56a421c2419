import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { connectMessaging, deleteStreams, provisionStreams, type Messaging } from './nats.ts';
import { createLogger, type Logger } from './logger.ts';
import type { Database } from './database.ts';
import { streams } from '@offramp/contracts';

/** Test helpers: where the infrastructure is, and names no other test uses. */
export function testInfra(): { databaseUrl: string; natsUrl: string } {
  return { databaseUrl: inject('databaseUrl'), natsUrl: inject('natsUrl') };
}

export const uniqueName = (prefix: string) => `${prefix}_${randomBytes(5).toString('hex')}`;

export const testLogger = (name: string): Logger => createLogger({ name, level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A NATS connection under a namespace of its own, with its streams provisioned. */
export async function testMessaging(name: string): Promise<Messaging & { cleanup(): Promise<void> }> {
  const namespace = uniqueName('t').toLowerCase();
  const m = await connectMessaging({ url: testInfra().natsUrl, name, namespace, log: testLogger(name) });
  await provisionStreams(m);
  return Object.assign(m, {
    async cleanup() {
      await deleteStreams(m);
      await m.nc.drain();
    },
  });
}

/**
 * The one polling helper of the tests: checks `check` until it returns a value other than
 * `undefined` (or `true` for a predicate), or fails after `timeoutMs` naming what it waited for and
 * the last value seen. It synchronises on a condition, never on elapsed time.
 */
export async function eventually<T>(
  what: string | (() => string),
  check: () => T | undefined | false | Promise<T | undefined | false>,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<Exclude<T, false>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as Exclude<T, false>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}

/** What is still in flight: unsent outbox rows per schema, undelivered or unacknowledged messages per consumer. */
export interface Backlog {
  outbox: Record<string, number>;
  consumers: Record<string, { pending: number; ackPending: number }>;
}

/** Reads the backlog of the given databases' outboxes and of every durable consumer of the namespace's streams. */
export async function backlogOf(opts: { databases: Database[]; messaging: Messaging }): Promise<Backlog> {
  const outbox: Backlog['outbox'] = {};
  for (const db of opts.databases) {
    const [row] = await db.em.fork().execute<{ n: string }[]>('select count(*)::text as n from outbox where sent_at is null');
    outbox[db.config.get('schema') ?? 'public'] = Number(row?.n ?? 0);
  }
  const consumers: Backlog['consumers'] = {};
  const { jsm } = opts.messaging;
  for (const stream of [streams.events.name, streams.commands.name]) {
    const name = opts.messaging.streamName(stream);
    const infos = await jsm.consumers
      .list(name)
      .next()
      .catch(() => []);
    for (const info of infos) consumers[`${stream}/${info.name}`] = { pending: info.num_pending, ackPending: info.num_ack_pending };
  }
  return { outbox, consumers };
}

const isQuiet = (b: Backlog) => Object.values(b.outbox).every((n) => n === 0) && Object.values(b.consumers).every((c) => c.pending === 0 && c.ackPending === 0);

/**
 * Waits until the system has nothing left to do: every outbox drained and every durable consumer
 * with nothing pending nor unacknowledged, seen twice in a row (a handler that committed between
 * two reads shows up as new backlog in the second). "Nothing happened" assertions run after it:
 * whatever a message could have caused has happened by then. Timers (sweepers, reconcilers) are
 * not covered: a test that depends on one waits for its effect instead.
 */
export async function waitUntilQuiet(opts: { databases: Database[]; messaging: Messaging; timeoutMs?: number }): Promise<void> {
  let last: Backlog | undefined;
  let quietReads = 0;
  await eventually(
    () => `a quiet system; last backlog: ${JSON.stringify(last)}`,
    async () => {
      last = await backlogOf(opts);
      quietReads = isQuiet(last) ? quietReads + 1 : 0;
      return quietReads >= 2;
    },
    { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 20 },
  );
}
