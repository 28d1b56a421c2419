import { Migration } from '@mikro-orm/migrations';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { z } from 'zod';
import type { Envelope, MessageDef } from '@offramp/contracts';
import { newId } from './ids.ts';
import { executeBound, queryRowsBound } from './sql.ts';
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

let enqueued = 0;

/**
 * How many messages this process has written into an outbox so far: a consumer compares it before
 * and after a message's handling to know whether the relay has anything new to publish (every
 * transaction the handler ran, its own and any inner one, committed by then).
 */
export const enqueuedSoFar = (): number => enqueued;

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
  enqueued++;
  const envelope = makeEnvelope(def, payload, cause);
  // Bound, so a prepared statement: parsed once per connection instead of once per message.
  await executeBound(em, 'insert into outbox (id, subject, envelope) values ($1::uuid, $2::text, $3::jsonb)', [
    envelope.id,
    def.subject,
    JSON.stringify(envelope),
  ]);
  return envelope;
}

/** The wire envelope of a message: payload encoded (bigint -> string) and validated by its schema. */
/**
 * An outbox row a service writes inside a combined statement of its own (`outboxInsert`) instead
 * of through `enqueue`: the same envelope, the same columns, the envelope already JSON text.
 * `enqueue` also counts what the relay has to publish; a transaction that writes rows only this
 * way wakes the relay itself after its commit.
 */
export interface OutboxRow {
  id: string;
  subject: string;
  envelope: string;
}

export function outboxRow<S extends z.ZodType>(def: MessageDef<S>, payload: z.output<S>, cause: Cause): OutboxRow {
  const envelope = makeEnvelope(def, payload, cause);
  return { id: envelope.id, subject: def.subject, envelope: JSON.stringify(envelope) };
}

/**
 * `insert into outbox` of the rows in bound parameter `$param` (a jsonb array, `outboxRowsParam`),
 * in their order, for a combined statement (the caller puts it in its WITH, with `returning` if it
 * wants one); only when `when` (SQL over the statement's other parts) holds, if given. One fixed
 * text however many rows (none inserts nothing), so the statement is prepared once per connection.
 */
export function outboxInsert(param: number, when?: string): string {
  return `insert into outbox (id, subject, envelope)
      select v.id, v.subject, v.envelope
      from rows from (jsonb_to_recordset($${param}::jsonb) as (id uuid, subject text, envelope jsonb)) with ordinality as v (id, subject, envelope, n)
      ${when ? `where ${when}` : ''}
      order by v.n`;
}

/** `rows` as `outboxInsert`'s parameter: a jsonb array (each envelope is already JSON text, not encoded again). */
export function outboxRowsParam(rows: readonly OutboxRow[]): string {
  return `[${rows.map((r) => `{"id":${JSON.stringify(r.id)},"subject":${JSON.stringify(r.subject)},"envelope":${r.envelope}}`).join(',')}]`;
}

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
  /** Deletes rows sent longer ago than the retention (what the cleanup timer does); returns how many. Tests call it directly. */
  cleanup(): Promise<number>;
  stop(): Promise<void>;
}

export interface RelayOptions {
  db: MikroORM;
  messaging: Messaging;
  log: Logger;
  metrics?: Metrics;
  /** Rows fetched, published and marked sent together; 256 by default. */
  batchSize?: number;
  /** The poll after a drain that found rows; 250 ms by default. A commit's `wake()` does not wait for it. */
  pollMs?: number;
  /** Each poll that finds nothing doubles the pause up to this; 2 s by default (an idle relay polls rarely). */
  idlePollMs?: number;
  /** How long sent rows are kept before the cleanup deletes them; 1 hour by default. */
  retentionMs?: number;
  /** How often the cleanup runs; 1 minute by default. */
  cleanupEveryMs?: number;
  /** Rows deleted per statement of the cleanup; 1,000 by default (short statements, short locks). */
  cleanupBatch?: number;
  /** Fault injection for tests: runs after the publishes were acked, before the rows are marked sent. */
  afterPublish?: () => Promise<void> | void;
}

/**
 * An unsent row as the relay publishes it: the envelope as the database keeps it (jsonb rendered as
 * text: the relay neither parses nor re-serialises it), and the two fields its headers carry.
 */
const unsentRow = z.object({
  id: z.string(),
  subject: z.string(),
  body: z.string(),
  trace_id: z.string(),
  correlation_id: z.string(),
});
type UnsentRow = z.output<typeof unsentRow>;

/** Each cleanup run deletes at most this many batches, then leaves the rest to the next run. */
const cleanupBatchesPerRun = 20;

/**
 * The relay's statements, with their parameters bound: each a prepared statement, parsed once per
 * connection instead of on every batch (inlined, the claim, the mark and the outbox insert were
 * parsed and planned for every message: 7 of a relayed message's 7 statements, 4 of them now, the
 * transactions' begin and commit; libs/kit/test/statements.test.ts).
 */
const claimSql = `select id, subject, envelope::text as body, envelope->>'traceId' as trace_id, envelope->>'correlationId' as correlation_id
  from outbox where sent_at is null order by seq limit $1::int for update skip locked`;
const markSentSql = 'update outbox set sent_at = now(), attempts = attempts + 1 where id = any($1::uuid[])';
const markFailedSql = 'update outbox set attempts = attempts + 1, last_error = $1::text where id = $2::uuid';
const cleanupSql = `with deleted as (
    delete from outbox where seq in (
      select seq from outbox where sent_at < now() - make_interval(secs => $1::float8) order by seq limit $2::int)
    returning 1)
  select count(*)::int as n from deleted`;
const deletedRow = z.object({ n: z.number() });

/**
 * Publishes outbox rows in order with `Nats-Msg-Id` = row id and marks them sent. A crash between
 * publish and mark re-publishes the row, which JetStream's duplicate window drops.
 *
 * A batch is one transaction: up to `batchSize` rows claimed (`for update skip locked`, so replicas
 * share the work), all published at once (the acks awaited together, not one after another), the
 * published ones marked sent in one statement. Sent rows are deleted once older than the retention,
 * a small batch at a time, on a timer of their own. The `outbox_backlog` gauge is counted when
 * /metrics is scraped, never on the relay's timer.
 */
export function startOutboxRelay(opts: RelayOptions): OutboxRelay {
  const { db, messaging, log } = opts;
  const batchSize = opts.batchSize ?? 256;
  const pollMs = opts.pollMs ?? 250;
  const retentionSeconds = (opts.retentionMs ?? 3_600_000) / 1000;
  const cleanupBatch = opts.cleanupBatch ?? 1_000;

  /** One batch in one transaction; failures are recorded on their rows, then reported by throwing. */
  async function publishBatch(): Promise<number> {
    const { sent, failed } = await db.em.fork().transactional(async (em) => {
      const rows = await queryRowsBound(em, unsentRow, claimSql, [batchSize]);
      if (rows.length === 0) return { sent: 0, failed: 0 };
      const results = await Promise.allSettled(rows.map((row) => publishRow(messaging, row)));
      await opts.afterPublish?.();
      const sentIds = rows.filter((_, i) => results[i]!.status === 'fulfilled').map((r) => r.id);
      // One array parameter, however many rows: the text stays the same for every batch.
      if (sentIds.length > 0) await executeBound(em, markSentSql, [sentIds]);
      let failedCount = 0;
      for (const [i, result] of results.entries()) {
        if (result.status === 'fulfilled') continue;
        failedCount++;
        await executeBound(em, markFailedSql, [String(result.reason).slice(0, 500), rows[i]!.id]);
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

  /** Deletes sent rows past the retention, oldest first, a batch per statement. */
  async function cleanup(): Promise<number> {
    let total = 0;
    for (let i = 0; i < cleanupBatchesPerRun; i++) {
      const [deleted] = await queryRowsBound(db.em.fork(), deletedRow, cleanupSql, [retentionSeconds, cleanupBatch]);
      const n = deleted?.n ?? 0;
      total += n;
      if (n < cleanupBatch) break;
    }
    return total;
  }

  const loop = startDrainLoop({
    drain,
    pollMs,
    idlePollMs: Math.max(pollMs, opts.idlePollMs ?? 2_000),
    errorDelayMs: Math.min(pollMs * 8, 5_000),
    onError: (err, when) =>
      when === 'tick'
        ? log.warn({ err }, 'outbox relay: publish failed, will retry')
        : log.warn({ err }, 'outbox relay: final drain failed; rows stay for the next start'),
  });

  let cleaning: Promise<unknown> | null = null;
  const cleanupTimer = setInterval(() => {
    if (cleaning) return;
    cleaning = cleanup()
      .catch((err: unknown) => log.warn({ err }, 'outbox relay: cleanup of sent rows failed; next run retries'))
      .finally(() => (cleaning = null));
  }, opts.cleanupEveryMs ?? 60_000);
  cleanupTimer.unref();

  opts.metrics?.sampleOutboxBacklog(async () => {
    const [row] = await queryRowsBound(
      db.em.fork(),
      z.object({ n: z.number() }),
      // Bounded: a scrape must stay cheap however far behind the relay is.
      'select count(*)::int as n from (select 1 from outbox where sent_at is null limit 1000000) unsent',
      [],
    );
    return row?.n ?? 0;
  });

  return {
    wake: loop.wake,
    flush: loop.flush,
    cleanup,
    /** Stops polling after one last drain; rows it cannot publish now stay for the next start. */
    async stop() {
      clearInterval(cleanupTimer);
      await loop.stop({ finalDrain: true });
      await cleaning;
    },
  };
}

async function publishRow(messaging: Messaging, row: UnsentRow): Promise<void> {
  const h = natsHeaders();
  h.set('trace-id', row.trace_id);
  h.set('correlation-id', row.correlation_id);
  await messaging.js.publish(messaging.wire(row.subject), row.body, { msgID: row.id, headers: h });
}
