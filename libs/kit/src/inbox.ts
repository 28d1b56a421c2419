import { Migration } from '@mikro-orm/migrations';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { deadLetterSubject, envelopeHeader, envelopeOf, type Envelope, type MessageDef } from '@offramp/contracts';
import { z } from 'zod';
import { isInfrastructureError } from './infrastructure.ts';
import type { Logger } from './logger.ts';
import type { Messaging } from './nats.ts';
import { causeOf, enqueuedSoFar, type Cause } from './outbox.ts';
import type { Metrics } from './metrics.ts';
import { queryRowsBound } from './sql.ts';

export class inboxMigration extends Migration {
  override up(): void {
    this.addSql(`create table inbox (
      consumer text not null,
      message_id uuid not null,
      subject text not null,
      processed_at timestamptz not null default now(),
      primary key (consumer, message_id)
    )`);
  }
}

/**
 * What a message handler is handed: the transaction that also records the message in the inbox,
 * the parsed envelope, a logger carrying its trace id, and the cause for whatever it enqueues (same
 * correlation and trace, caused by this message).
 */
export interface MessageContext<T = unknown> {
  em: EntityManager;
  envelope: Envelope<T>;
  log: Logger;
  cause: Cause;
}

/** Handles one message inside the transaction that also records it in the inbox. */
export type MessageHandler<S extends z.ZodType = z.ZodType> = (ctx: MessageContext<z.output<S>>) => Promise<void>;

export interface HandlerEntry {
  def: MessageDef;
  handle: MessageHandler;
  /** Nothing to do for it (`ignore`): acked once validated, with no transaction and no inbox row. */
  ignored?: boolean;
  /** Whether this message concerns the handler at all (`on`'s `concerns`); false: acked like an ignored one. */
  concerns?: (ctx: { em: EntityManager; envelope: Envelope<unknown> }) => Promise<boolean>;
}

export interface OnOptions<S extends z.ZodType> {
  /**
   * Asked before the inbox transaction, with a connection of its own: false acks the message with no
   * transaction and no inbox row (the handler would have done nothing). It must stay false for a
   * message once it is false (a redelivery is asked again), e.g. "this withdrawal is a partner's",
   * decided before the withdrawal existed.
   */
  concerns?: (ctx: { em: EntityManager; envelope: Envelope<z.output<S>> }) => Promise<boolean>;
}

export function on<S extends z.ZodType>(def: MessageDef<S>, handle: MessageHandler<S>, opts: OnOptions<S> = {}): HandlerEntry {
  return { def, handle: handle as MessageHandler, ...(opts.concerns ? { concerns: opts.concerns as HandlerEntry['concerns'] } : {}) };
}

/**
 * A message the consumer receives (its filter takes the source's every event) but has nothing to do
 * for: once its envelope is valid it is acked at once, without a transaction or an inbox row (doing
 * nothing twice is doing nothing once), and without waiting for its correlation's turn.
 */
export function ignore(def: MessageDef): HandlerEntry {
  return { def, handle: async () => {}, ignored: true };
}

export interface ConsumerOptions {
  db: MikroORM;
  messaging: Messaging;
  log: Logger;
  metrics?: Metrics;
  /** Durable consumer name; also the inbox's consumer key. */
  name: string;
  stream: string;
  filterSubject: string;
  handlers: HandlerEntry[];
  /** Failures of a message (infrastructure ones not counted) before it is dead-lettered; 8 by default. */
  maxDeliver?: number;
  /** Redelivery delay after the n-th counted failure (the last one repeats). */
  backoffMs?: number[];
  /**
   * Redelivery delay while the infrastructure is unavailable (database gone, an rpc with no answer):
   * short, so the backlog moves again soon after it is back; such failures are never counted.
   */
  infraBackoffMs?: number[];
  ackWaitMs?: number;
  /**
   * Runs after the effect committed, before the ack (tests use it to crash at that point); told
   * whether any outbox row was written in this process meanwhile (`enqueued`: the relay has
   * something to publish; a handler that wrote none leaves the relay asleep).
   */
  afterCommit?: (envelope: Envelope<unknown>, info: { enqueued: boolean }) => Promise<void> | void;
  /** How often the consumer's backlog (`consumer_pending_messages`) is sampled; 5s by default. */
  lagSampleMs?: number;
  /** Called after each message is settled, with what happened to it. */
  onSettled?: (result: 'handled' | 'duplicate' | 'retry' | 'dead_letter') => void;
  /**
   * Messages handled at once, each in its own inbox transaction; 8 by default, never more than the
   * database pool's connections (a message in hand beyond them would only wait for one, its ack
   * clock running). Messages of one `orderKey` are still handled one after another in stream order;
   * 1 handles every message one after another.
   */
  concurrency?: number;
  /**
   * Messages with the same key are handled in the order the stream delivered them, one after
   * another; messages with different keys side by side. By default the envelope's correlation id:
   * everything about one withdrawal (its correlation) keeps its order. A handler's own lock (a
   * withdrawal row's) keeps two messages from interleaving but not their order, and a status
   * timeline must read in the order events happened. A redelivered message (nak'd, then sent
   * again) comes after what followed it, as it always did.
   */
  orderKey?: (envelope: Envelope<unknown>) => string;
  /**
   * Group commit: messages of different keys whose turn has come together are handled in one
   * transaction, at most this many: one begin, one inbox insert for all of them, each handler on
   * its own fork of the transaction (its own identity map), one commit, then each is acked. 1 (the
   * default) gives every message a transaction of its own. A batch that fails for anything but the
   * infrastructure is rolled back whole and its messages handled again one per transaction, so a
   * poison message (or a deadlock between two batches) never fails the others or counts against
   * them. At most `concurrency` transactions run at once, so up to `concurrency` x `batch` messages
   * are in hand.
   */
  batch?: number;
}

/** A parsed message whose turn has come, with its logger. */
interface Item {
  msg: JsMsg;
  subject: string;
  entry: HandlerEntry;
  envelope: Envelope<unknown>;
  log: Logger;
}

const insertedRow = z.object({ id: z.string() });

/**
 * The inbox inserts, with their parameters bound: prepared statements, parsed once per connection
 * instead of for every message (inlined, the insert was parsed and planned each time: 3 of a
 * message's 3 statements alone, 2 now, its transaction's begin and commit;
 * libs/kit/test/statements.test.ts). A batch's ids and subjects go as two array parameters, so its
 * text is the same whatever the batch's size. Both say which rows they inserted (`returning`): a
 * message already there is a duplicate.
 */
const insertOneSql = `insert into inbox (consumer, message_id, subject) values ($1::text, $2::uuid, $3::text)
  on conflict do nothing returning message_id::text as id`;
const insertBatchSql = `insert into inbox (consumer, message_id, subject)
  select $1::text, m.id, m.subject from unnest($2::uuid[], $3::text[]) as m(id, subject)
  on conflict do nothing returning message_id::text as id`;

export interface Consumer {
  /** Stops pulling, lets every message in hand finish, then returns. */
  stop(): Promise<void>;
}

/** The consumer's default concurrency (`ConsumerOptions.concurrency`). */
export const defaultConsumerConcurrency = 8;

/** The consumer's concurrency: as asked (8 by default), at least 1, at most the pool's connections. */
export function consumerConcurrency(db: MikroORM, asked: number | undefined): number {
  const poolMax = db.config.get('pool')?.max;
  const wanted = Math.max(1, Math.floor(asked ?? defaultConsumerConcurrency));
  return poolMax && poolMax > 0 ? Math.min(wanted, poolMax) : wanted;
}

/**
 * A durable pull consumer with explicit acks and exactly-once effects: the inbox row and the
 * effect commit together; a redelivered message finds its row, is acked and skipped.
 *
 * Two kinds of failure. One caused by the infrastructure (`isInfrastructureError`: the database
 * unreachable or out of time, an rpc nobody answered) says nothing about the message: it is
 * redelivered with a short backoff for as long as the outage lasts and never counts toward the
 * dead letter, so an outage cannot dead-letter good messages. Any other failure counts; after
 * `maxDeliver` of them (or at once for a message that cannot be parsed) the message is poison and
 * goes to `dlq.<subject>` with the reason. The server therefore redelivers without limit, and the
 * counting is this process's (a restart starts it again, so it never dead-letters early).
 *
 * Up to `concurrency` messages are in hand at once, each settled (acked, nak'd, dead-lettered) on
 * its own as soon as its transaction ends; those of one `orderKey` (one correlation: one
 * withdrawal) one after another, in stream order. `stop()` stops pulling and waits for all of them.
 */
export async function startConsumer(opts: ConsumerOptions): Promise<Consumer> {
  const { messaging, log } = opts;
  const maxDeliver = opts.maxDeliver ?? 8;
  const backoffMs = opts.backoffMs ?? [200, 1_000, 5_000, 15_000, 30_000];
  const infraBackoffMs = opts.infraBackoffMs ?? [250, 500, 1_000, 2_000, 5_000];
  const failures = new FailureCounts();
  const ms = 1_000_000;
  const stream = messaging.streamName(opts.stream);
  const config = {
    durable_name: opts.name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: messaging.wire(opts.filterSubject),
    ack_wait: (opts.ackWaitMs ?? 30_000) * ms,
    // Unlimited: the dead letter is decided here, where an outage is told apart from poison.
    max_deliver: -1,
    max_ack_pending: 1_000,
  };
  const existing = await messaging.jsm.consumers.info(stream, opts.name).catch(() => null);
  if (existing) await messaging.jsm.consumers.update(stream, opts.name, config);
  else await messaging.jsm.consumers.add(stream, config);

  // Each subject's envelope schema built once: building it per message (and zod compiling it on
  // its first parse) cost about 30 times the parse itself.
  const bySubject = new Map(opts.handlers.map((h) => [h.def.subject, { entry: h, schema: envelopeOf(h.def) }]));
  const concurrency = consumerConcurrency(opts.db, opts.concurrency);
  const batchMax = Math.max(1, Math.floor(opts.batch ?? 1));
  const inHandMax = concurrency * batchMax;
  const orderKey = opts.orderKey ?? ((envelope: Envelope<unknown>) => envelope.correlationId);
  const inOrder = new KeyedTurns();
  const consumer = await messaging.js.consumers.get(stream, opts.name);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: Math.max(64, inHandMax * 2) });
  const settle = (result: 'handled' | 'duplicate' | 'retry' | 'dead_letter') => {
    opts.metrics?.messagesHandled.inc({ consumer: opts.name, result });
    opts.onSettled?.(result);
  };

  async function deadLetter(msg: JsMsg, reason: string): Promise<void> {
    const h = natsHeaders();
    h.set('dlq-reason', reason.replace(/[\r\n]+/g, ' ').slice(0, 1_000));
    h.set('dlq-consumer', opts.name);
    h.set('dlq-stream-seq', String(msg.seq));
    await messaging.js.publish(messaging.wire(deadLetterSubject(messaging.logical(msg.subject))), msg.data, {
      headers: h,
      msgID: `${opts.name}:${msg.seq}`,
    });
    opts.metrics?.deadLetters.inc({ consumer: opts.name });
    log.error({ subject: msg.subject, reason }, 'message dead-lettered');
    // No reason on the terminate: NATS 2.9 ignores `+TERM <reason>` and would deliver the message
    // again after every ack wait (the reason is in the dead letter's headers).
    msg.term();
    failures.forget(msg.seq);
    settle('dead_letter');
  }

  async function handleOne(msg: JsMsg): Promise<void> {
    const subject = messaging.logical(msg.subject);
    const handler = bySubject.get(subject);
    if (!handler) return deadLetter(msg, `no handler for ${subject}`);
    const { entry, schema } = handler;
    let raw: unknown;
    try {
      raw = msg.json();
    } catch {
      return deadLetter(msg, 'body is not JSON');
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const header = envelopeHeader.safeParse(raw);
      const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      return deadLetter(msg, `invalid ${header.success ? 'payload' : 'envelope'}: ${issues}`);
    }
    const envelope = parsed.data as Envelope<unknown>;
    if (entry.ignored) return ackIgnored(msg);
    // Taken in stream order (nothing above awaits): the message waits for the one before it with
    // the same key to be settled, holding no connection meanwhile.
    const turn = inOrder.take(orderKey(envelope));
    try {
      await turn.ready;
      const item: Item = {
        msg,
        subject,
        entry,
        envelope,
        log: lazyChild(log, { traceId: envelope.traceId, messageId: envelope.id, subject }),
      };
      if (entry.concerns) {
        let concerned: boolean;
        try {
          concerned = await entry.concerns({ em: opts.db.em.fork(), envelope });
        } catch (err) {
          return await failed(item, err);
        }
        if (!concerned) return await ackIgnored(msg);
      }
      await (batchMax > 1 ? batcher.submit(item) : handleAlone(item));
    } finally {
      turn.done();
    }
  }

  /** One message in its own inbox transaction, then settled: acked, or nak'd or dead-lettered by its failure. */
  async function handleAlone(item: Item): Promise<void> {
    const { subject, entry, envelope } = item;
    const enqueuedBefore = enqueuedSoFar();
    try {
      const fresh = await opts.db.em.fork().transactional(async (em) => {
        const inserted = await queryRowsBound(em, insertedRow, insertOneSql, [opts.name, envelope.id, subject]);
        if (inserted.length === 0) return false;
        await entry.handle({ em, envelope, log: item.log, cause: causeOf(envelope) });
        return true;
      });
      await settleCommitted(item, fresh, enqueuedSoFar() !== enqueuedBefore);
    } catch (err) {
      failed(item, err);
    }
  }

  /** After its transaction committed: the test hook, the ack (no round trip: a lost ack is a redelivery the inbox skips), the count. */
  async function settleCommitted(item: Item, fresh: boolean, enqueued: boolean): Promise<void> {
    await opts.afterCommit?.(item.envelope, { enqueued });
    item.msg.ack();
    failures.forget(item.msg.seq);
    settle(fresh ? 'handled' : 'duplicate');
  }

  function failed(item: Item, err: unknown): void | Promise<void> {
    const { msg } = item;
    if (isInfrastructureError(err)) {
      const delivery = msg.info.deliveryCount;
      item.log.warn({ err, delivery }, 'message failed: infrastructure unavailable, will be redelivered (not counted)');
      msg.nak(infraBackoffMs[Math.min(delivery - 1, infraBackoffMs.length - 1)]);
      settle('retry');
      return;
    }
    const count = failures.add(msg.seq);
    if (count >= maxDeliver) return deadLetter(msg, `failed ${count} times: ${String(err)}`);
    item.log.warn({ err, failed: count }, 'message failed, will be redelivered');
    msg.nak(backoffMs[Math.min(count - 1, backoffMs.length - 1)]);
    settle('retry');
  }

  /**
   * Several messages in one transaction (`batch`): one inbox insert says which are new, each new
   * one's handler runs on its own fork of the transaction, in the order they came, and one commit
   * makes all their effects durable together. A failure other than the infrastructure's rolls it
   * all back and each message is handled alone, so only the failing one fails.
   */
  async function handleBatch(items: Item[]): Promise<void> {
    if (items.length === 1) return handleAlone(items[0]!);
    const enqueuedBefore = enqueuedSoFar();
    let fresh: Set<string>;
    try {
      fresh = await opts.db.em.fork().transactional(async (em) => {
        const rows = await queryRowsBound(em, insertedRow, insertBatchSql, [
          opts.name,
          items.map((i) => i.envelope.id),
          items.map((i) => i.subject),
        ]);
        const inserted = new Set(rows.map((r) => r.id));
        for (const item of items) {
          if (!inserted.has(item.envelope.id)) continue;
          const own = em.fork({ keepTransactionContext: true });
          await item.entry.handle({ em: own, envelope: item.envelope, log: item.log, cause: causeOf(item.envelope) });
          await own.flush();
        }
        return inserted;
      });
    } catch (err) {
      if (isInfrastructureError(err)) {
        for (const item of items) await failed(item, err);
        return;
      }
      log.debug({ err, messages: items.length }, 'consumer batch failed; handling its messages one per transaction');
      await Promise.all(items.map((item) => handleAlone(item)));
      return;
    }
    const enqueued = enqueuedSoFar() !== enqueuedBefore;
    for (const item of items) {
      try {
        await settleCommitted(item, fresh.has(item.envelope.id), enqueued);
      } catch (err) {
        // Committed: not acked, it comes back and the inbox skips it.
        log.warn({ err, subject: item.subject }, 'could not settle a committed message; it will be redelivered and skipped');
      }
    }
  }

  /** Gathers the messages whose turn came while a transaction slot was busy into one batch each. */
  const batcher = (() => {
    const waiting: { item: Item; done: () => void }[] = [];
    let running = 0;
    let scheduled = false;
    const pump = () => {
      scheduled = false;
      while (running < concurrency && waiting.length > 0) {
        const batch = waiting.splice(0, batchMax);
        running++;
        void handleBatch(batch.map((w) => w.item))
          .catch((err: unknown) => log.error({ err }, 'consumer could not settle a batch'))
          .finally(() => {
            running--;
            for (const w of batch) w.done();
            pump();
          });
      }
    };
    return {
      submit(item: Item): Promise<void> {
        return new Promise<void>((resolve) => {
          waiting.push({ item, done: resolve });
          // The messages ready in the same turn of the event loop go together.
          if (!scheduled && running < concurrency) {
            scheduled = true;
            setImmediate(pump);
          }
        });
      },
    };
  })();

  async function ackIgnored(msg: JsMsg): Promise<void> {
    try {
      msg.ack();
      failures.forget(msg.seq);
      settle('handled');
    } catch (err) {
      // Not acked: it comes back and is ignored again.
      log.warn({ err, subject: msg.subject }, 'could not ack an ignored message; it will be redelivered');
      settle('retry');
    }
  }

  async function settleOne(msg: JsMsg): Promise<void> {
    try {
      await handleOne(msg);
    } catch (err) {
      // Only the dead-letter publish can land here; leave the message to be redelivered.
      log.error({ err, subject: msg.subject }, 'consumer could not settle a message');
    }
  }

  const stopSampling = sampleLag(opts, stream);
  const inHand = new Set<Promise<void>>();
  const loop = (async () => {
    for await (const msg of messages) {
      const handling: Promise<void> = settleOne(msg).finally(() => inHand.delete(handling));
      inHand.add(handling);
      // A free slot before the next message is taken from the iterator.
      if (inHand.size >= inHandMax) await Promise.race(inHand);
    }
    await Promise.all(inHand);
  })();

  return {
    async stop() {
      stopSampling();
      await messages.close();
      await loop;
      // The acks are sent without waiting for the server's answer: make sure they left.
      await messaging.nc.flush().catch((err: unknown) => log.debug({ err }, 'consumer: acks not flushed (connection closed)'));
    },
  };
}

const levels = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const noop = () => {};

/**
 * A child logger with the message's bindings, made on its first use: most messages log nothing,
 * and pino's child (bindings serialised, redaction set up) costs several microseconds each.
 */
function lazyChild(log: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  const real = () => (child ??= log.child(bindings));
  return new Proxy(log, {
    get(_target, prop) {
      // A call at a level that is off makes no child at all.
      if (!child && typeof prop === 'string' && levels.has(prop) && !log.isLevelEnabled(prop)) return noop;
      const target = real();
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
    set(_target, prop, value) {
      return Reflect.set(real(), prop, value);
    },
    has(_target, prop) {
      return Reflect.has(real(), prop);
    },
  });
}

/** Samples the consumer's `num_pending` on a timer: one cheap info call, never in the message path. */
function sampleLag(opts: ConsumerOptions, stream: string): () => void {
  const gauge = opts.metrics?.consumerPending;
  if (!gauge) return () => {};
  const sample = () =>
    opts.messaging.jsm.consumers
      .info(stream, opts.name)
      .then((info) => gauge.set({ consumer: opts.name }, info.num_pending))
      .catch((err: unknown) => opts.log.debug({ err }, 'consumer lag not sampled'));
  void sample();
  const timer = setInterval(() => void sample(), opts.lagSampleMs ?? 5_000);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Turns per key: `take(key)` is ready once every earlier taker of the same key is `done`; takers
 * of different keys never wait for each other. Only keys with a message in hand are kept.
 */
class KeyedTurns {
  readonly #last = new Map<string, Promise<void>>();
  take(key: string): { ready: Promise<void>; done: () => void } {
    const before = this.#last.get(key);
    const mine = Promise.withResolvers<undefined>();
    const tail = mine.promise.then(() => undefined);
    this.#last.set(key, tail);
    return {
      ready: before ?? Promise.resolve(),
      done: () => {
        mine.resolve(undefined);
        if (this.#last.get(key) === tail) this.#last.delete(key);
      },
    };
  }
}

/**
 * The counted failures of the messages this process is retrying, by stream sequence. Bounded: a
 * message another replica finished is never forgotten here, so the oldest entries go first.
 */
class FailureCounts {
  readonly #counts = new Map<number, number>();
  readonly #limit: number;
  constructor(limit = 10_000) {
    this.#limit = limit;
  }
  add(seq: number): number {
    const n = (this.#counts.get(seq) ?? 0) + 1;
    this.#counts.delete(seq);
    this.#counts.set(seq, n);
    if (this.#counts.size > this.#limit) this.#counts.delete(this.#counts.keys().next().value!);
    return n;
  }
  forget(seq: number): void {
    this.#counts.delete(seq);
  }
}
