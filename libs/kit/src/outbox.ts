import { Migration } from '@mikro-orm/migrations';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { z } from 'zod';
import type { Envelope, MessageDef } from '@offramp/contracts';
import { newId } from './ids.ts';
import { startDrainLoop } from './drain-loop.ts';
import type { Logger } from './logger.ts';
import type { Messaging } from './nats.ts';
import type { Metrics } from './metrics.ts';

export class outboxMigration extends Migration {
  override up(): void {
    this.addSql(`create table outbox (
      seq bigserial primary key,
      id uuid not null unique,
      subject text not null,
      envelope jsonb not null,
      created_at timestamptz not null default now(),
      sent_at timestamptz,
      attempts int not null default 0,
      last_error text
    )`);
    this.addSql('create index outbox_unsent on outbox (seq) where sent_at is null');
  }
}

/** What a business transaction knows when it causes a message. */
export interface Cause {
  correlationId: string;
  causationId?: string | null;
  traceId: string;
}

/** The cause of what a message leads to: its correlation and trace, caused by it. */
export const causeOf = (envelope: { id: string; correlationId: string; traceId: string }): Cause => ({
  correlationId: envelope.correlationId,
  causationId: envelope.id,
  traceId: envelope.traceId,
});

/**
 * Writes a message into the outbox inside the caller's transaction: it is published if and only
 * if the transaction commits. Returns the envelope (its id is the future `Nats-Msg-Id`).
 */
export async function enqueue<S extends z.ZodType>(
  em: EntityManager,
  def: MessageDef<S>,
  payload: z.output<S>,
  cause: Cause,
): Promise<Envelope<z.input<S>>> {
  const envelope = makeEnvelope(def, payload, cause);
  await em.execute(
    'insert into outbox (id, subject, envelope) values (?, ?, ?)',
    [envelope.id, def.subject, JSON.stringify(envelope)],
    'run',
  );
  return envelope;
}

/** The wire envelope of a message: payload encoded (bigint -> string) and validated by its schema. */
export function makeEnvelope<S extends z.ZodType>(def: MessageDef<S>, payload: z.output<S>, cause: Cause): Envelope<z.input<S>> {
  return {
    id: newId(),
    type: def.type,
    version: def.version,
    occurredAt: new Date().toISOString(),
    correlationId: cause.correlationId,
    causationId: cause.causationId ?? null,
    traceId: cause.traceId,
    payload: z.encode(def.payload, payload) as z.input<S>,
  };
}

export interface OutboxRelay {
  /** Publish now instead of at the next poll (call after a commit). */
  wake(): void;
  /** Publishes what is pending once; returns how many rows were published. Tests call it directly. */
  flush(): Promise<number>;
  stop(): Promise<void>;
}

interface RelayOptions {
  db: MikroORM;
  messaging: Messaging;
  log: Logger;
  metrics?: Metrics;
  batchSize?: number;
  pollMs?: number;
  /** Fault injection for tests: runs after the publishes were acked, before the rows are marked sent. */
  afterPublish?: () => Promise<void> | void;
}

interface OutboxRow {
  id: string;
  subject: string;
  envelope: Envelope<unknown>;
}

/**
 * Publishes outbox rows in order with `Nats-Msg-Id` = row id and marks them sent. A crash between
 * publish and mark re-publishes the row, which JetStream's duplicate window drops.
 */
export function startOutboxRelay(opts: RelayOptions): OutboxRelay {
  const { db, messaging, log } = opts;
  const batchSize = opts.batchSize ?? 200;
  const pollMs = opts.pollMs ?? 250;

  /** One batch in one transaction; failures are recorded on their rows, then reported by throwing. */
  async function publishBatch(): Promise<number> {
    const { sent, failed } = await db.em.fork().transactional(async (em) => {
      const rows = await em.execute<OutboxRow[]>(
        'select id, subject, envelope from outbox where sent_at is null order by seq limit ? for update skip locked',
        [batchSize],
      );
      if (rows.length === 0) return { sent: 0, failed: 0 };
      const results = await Promise.allSettled(rows.map((row) => publishRow(messaging, row)));
      await opts.afterPublish?.();
      const sentIds = rows.filter((_, i) => results[i]!.status === 'fulfilled').map((r) => r.id);
      // A uuid[] literal: uuids need no escaping, and it keeps the statement one parameter wide.
      if (sentIds.length > 0)
        await em.execute(
          'update outbox set sent_at = now(), attempts = attempts + 1 where id = any(?::uuid[])',
          [`{${sentIds.join(',')}}`],
          'run',
        );
      let failedCount = 0;
      for (const [i, result] of results.entries()) {
        if (result.status === 'fulfilled') continue;
        failedCount++;
        await em.execute(
          'update outbox set attempts = attempts + 1, last_error = ? where id = ?',
          [String(result.reason).slice(0, 500), rows[i]!.id],
          'run',
        );
      }
      return { sent: sentIds.length, failed: failedCount };
    });
    opts.metrics?.outboxPublished.inc(sent);
    if (failed > 0) {
      opts.metrics?.outboxPublishFailures.inc(failed);
      throw new Error(`outbox: ${failed} of ${sent + failed} publishes failed`);
    }
    return sent;
  }

  async function drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await publishBatch();
      total += n;
      if (n < batchSize) return total;
    }
  }

  const loop = startDrainLoop({
    drain,
    pollMs,
    errorDelayMs: Math.min(pollMs * 8, 5_000),
    afterTick: async () => {
      if (!opts.metrics) return;
      const [row] = await db.em.fork().execute<{ n: string }[]>('select count(*) as n from outbox where sent_at is null');
      opts.metrics.outboxBacklog.set(Number(row?.n ?? 0));
    },
    onError: (err, when) =>
      when === 'tick'
        ? log.warn({ err }, 'outbox relay: publish failed, will retry')
        : log.warn({ err }, 'outbox relay: final drain failed; rows stay for the next start'),
  });
  return {
    wake: loop.wake,
    flush: loop.flush,
    /** Stops polling after one last drain; rows it cannot publish now stay for the next start. */
    stop: () => loop.stop({ finalDrain: true }),
  };
}

async function publishRow(messaging: Messaging, row: OutboxRow): Promise<void> {
  const h = natsHeaders();
  h.set('trace-id', row.envelope.traceId);
  h.set('correlation-id', row.envelope.correlationId);
  await messaging.js.publish(messaging.wire(row.subject), JSON.stringify(row.envelope), { msgID: row.id, headers: h });
}
