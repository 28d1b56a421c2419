import type { FastifyInstance } from 'fastify';
import type { Envelope } from '@offramp/contracts';
import type { Database } from './database.ts';
import { createHttpServer, type HttpServer, type ReadinessCheck } from './http.ts';
import { startConsumer, type Consumer, type ConsumerOptions, type HandlerEntry } from './inbox.ts';
import type { Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import type { Messaging } from './nats.ts';
import { startOutboxRelay, type OutboxRelay, type RelayOptions } from './outbox.ts';
import { readinessOf } from './readiness.ts';
import { serveRpcs, type RpcRoute, type RpcServer } from './rpc.ts';

/** Hooks tests use to crash a service at a chosen point or to watch it settle messages. */
export interface ServiceHooks {
  consumer?: Pick<ConsumerOptions, 'afterCommit' | 'onSettled' | 'backoffMs' | 'maxDeliver' | 'concurrency' | 'batch'>;
  relay?: Pick<RelayOptions, 'pollMs' | 'idlePollMs' | 'afterPublish' | 'retentionMs' | 'cleanupEveryMs' | 'cleanupBatch'>;
}

/**
 * The `CONSUMER_CONCURRENCY` of a service's config, when it has one: how many messages each of its
 * consumers handles at once unless the consumer's spec says otherwise.
 */
export function configuredConcurrency(config: unknown): number | undefined {
  if (typeof config !== 'object' || config === null || !('CONSUMER_CONCURRENCY' in config)) return undefined;
  const value = config.CONSUMER_CONCURRENCY;
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/**
 * The `CONSUMER_BATCH` of a service's config, when it has one: at most how many messages each of
 * its consumers commits in one transaction unless the consumer's spec says otherwise.
 */
export function configuredBatch(config: unknown): number | undefined {
  if (typeof config !== 'object' || config === null || !('CONSUMER_BATCH' in config)) return undefined;
  const value = config.CONSUMER_BATCH;
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/**
 * A service's consumers commit up to this many messages together (`ConsumerOptions.batch`) unless
 * its spec or config says otherwise: under load the messages waiting their turn share one begin,
 * one inbox insert and one commit; alone, a message still goes at once.
 */
export const defaultServiceBatch = 16;

/** What a service process hands its app: the connections it opened, and the test hooks. */
export interface ServiceDeps<C> {
  config: C;
  db: Database;
  messaging: Messaging;
  log: Logger;
  hooks?: ServiceHooks;
}

/** A durable consumer of one subject filter (NATS 2.9 takes one filter per consumer). */
export interface ConsumerSpec {
  /** Durable name; also the inbox's consumer key. */
  name: string;
  stream: 'EVENTS' | 'COMMANDS';
  filterSubject: string;
  handlers: HandlerEntry[];
  /** The consumer's own redelivery policy, when the kit's defaults do not fit its work (test hooks still win). */
  backoffMs?: number[];
  maxDeliver?: number;
  ackWaitMs?: number;
  /**
   * Messages handled at once (see `ConsumerOptions.concurrency`); by default the service's
   * `CONSUMER_CONCURRENCY` setting when its config has one, else the kit's 8.
   */
  concurrency?: number;
  /**
   * Messages committed together (see `ConsumerOptions.batch`); by default the service's
   * `CONSUMER_BATCH` setting when its config has one, else `defaultServiceBatch`. 1 for handlers
   * that wait on something outside the database (an HTTP call) or lock rows shared across
   * correlations in no fixed order: in one transaction they would wait for each other.
   */
  batch?: number;
}

/** Something running on its own timer (a sweeper, a dispatcher, a reconciler). */
export interface Loop {
  stop(): Promise<void>;
}

/** What the kit builds before the service's parts: they may use it. */
export interface ServiceKit {
  metrics: Metrics;
  /** The outbox relay; a part that committed rows to the outbox calls `wake()`. */
  relay: OutboxRelay;
}

/** The parts of a service: what it answers, what it consumes, what runs on timers, its extra HTTP routes. */
export interface ServiceParts {
  rpcs?: RpcRoute[];
  consumers?: ConsumerSpec[];
  /** Started loops; stopped after the consumers and before the relay, so what they wrote is published. */
  loops?: Loop[];
  /** Extra routes and plugins on the service's HTTP server (health and metrics are already there). */
  http?: (app: FastifyInstance) => void | Promise<void>;
  /** Extra `/readyz` checks beside the database and NATS. */
  readiness?: Record<string, ReadinessCheck>;
  /** Runs after a consumed message committed, beside the relay's wake-up (a dispatcher's wake-up), with the message's envelope. */
  afterConsume?: (envelope: Envelope<unknown>) => void;
  /** Releases what the parts opened (an SMTP transport); runs last. */
  release?: () => void | Promise<void>;
  /** HTTP body limit of the service's server. */
  bodyLimit?: number;
}

export interface Service {
  http: HttpServer;
  relay: OutboxRelay;
  metrics: Metrics;
  /** Stops taking work, finishes what is in flight, publishes what it wrote; idempotent. */
  close(): Promise<void>;
}

/**
 * The one skeleton of every service with a database: metrics, the outbox relay, the rpc server, the
 * durable consumers (each woken relay after a commit), the loops and the HTTP health surface, and
 * the shutdown order: HTTP says draining, rpcs drain, consumers stop, loops stop, the relay publishes
 * what is left, the server closes. The service supplies only its parts.
 */
export async function startService<C>(
  name: string,
  deps: ServiceDeps<C>,
  define: (kit: ServiceKit) => ServiceParts | Promise<ServiceParts>,
): Promise<Service> {
  const { db, messaging, log, hooks = {} } = deps;
  const metrics = createMetrics(name);
  const relay = startOutboxRelay({ db, messaging, log, metrics, ...hooks.relay });
  let parts: ServiceParts = {};
  let rpc: RpcServer | null = null;
  const consumers: Consumer[] = [];
  let http: HttpServer | null = null;

  // Stops whatever has started, in the order that lets work in flight finish and be published.
  const close = async () => {
    http?.setDraining();
    await rpc?.drain();
    for (const c of consumers) await c.stop();
    for (const l of parts.loops ?? []) await l.stop();
    await relay.stop();
    await parts.release?.();
    await http?.app.close();
  };

  try {
    parts = await define({ metrics, relay });
    rpc = parts.rpcs?.length ? serveRpcs({ messaging, log, metrics, queue: name }, parts.rpcs) : null;
    for (const spec of parts.consumers ?? []) {
      consumers.push(
        await startConsumer({
          db,
          messaging,
          log,
          metrics,
          ...spec,
          concurrency: spec.concurrency ?? configuredConcurrency(deps.config),
          batch: spec.batch ?? configuredBatch(deps.config) ?? defaultServiceBatch,
          ...hooks.consumer,
          afterCommit: async (envelope, info) => {
            if (info.enqueued) relay.wake();
            parts.afterConsume?.(envelope);
            await hooks.consumer?.afterCommit?.(envelope, info);
          },
        }),
      );
    }
    http = createHttpServer({
      log,
      metrics,
      readiness: { ...readinessOf({ db, messaging }), ...parts.readiness },
      ...(parts.bodyLimit ? { bodyLimit: parts.bodyLimit } : {}),
    });
    await parts.http?.(http.app);
  } catch (err) {
    // A start that failed halfway must not leave an rpc server, consumers or timers running.
    await close().catch((closeErr: unknown) => log.error({ err: closeErr }, `${name}: cleanup after a failed start failed`));
    throw err;
  }
  const started = http;
  let closing: Promise<void> | undefined;
  return { http: started, relay, metrics, close: () => (closing ??= close()) };
}
