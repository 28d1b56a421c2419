import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  jetstream,
  jetstreamManager,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { buckets, streams } from '@offramp/contracts';
import type { Logger } from './logger.ts';

/** A NATS connection with its JetStream handles and the namespace every subject is put under. */
export interface Messaging {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  namespace: string;
  /** The wire subject of a logical subject (`evt.ledger.x.v1` -> `<ns>.evt.ledger.x.v1`). */
  wire(subject: string): string;
  /** The logical subject of a wire subject; inverse of `wire`. */
  logical(subject: string): string;
  streamName(name: string): string;
}

export async function connectMessaging(opts: { url: string; name: string; namespace?: string; log: Logger }): Promise<Messaging> {
  const nc = await connect({
    servers: opts.url.split(','),
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // No stack captured up front for every request, publish ack and ack (a RequestError or
    // TimeoutError made in case it fails: about 4% of a busy ledger's CPU); a timeout still fails
    // as the same error type, only without the caller's frames.
    noAsyncTraces: true,
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') opts.log.warn({ nats: s.type }, 'nats status');
    }
  })();
  const jsm = await jetstreamManager(nc);
  const namespace = opts.namespace ?? '';
  const prefix = namespace ? `${namespace}.` : '';
  return {
    nc,
    js: jetstream(nc),
    jsm,
    namespace,
    wire: (subject) => `${prefix}${subject}`,
    logical: (subject) => (prefix && subject.startsWith(prefix) ? subject.slice(prefix.length) : subject),
    streamName: (name) => (namespace ? `${name}_${namespace}` : name),
  };
}

const twoMinutesNs = 2 * 60 * 1_000_000_000;
const hourNs = 3600 * 1_000_000_000;

function streamConfigs(m: Messaging, replicas = 1): (Partial<StreamConfig> & { name: string })[] {
  return [
    {
      name: m.streamName(streams.events.name),
      subjects: streams.events.subjects.map(m.wire),
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      duplicate_window: twoMinutesNs,
      num_replicas: replicas,
      max_age: 30 * 24 * 3600 * 1_000_000_000,
      discard: DiscardPolicy.Old,
    },
    {
      name: m.streamName(streams.commands.name),
      subjects: streams.commands.subjects.map(m.wire),
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: twoMinutesNs,
      num_replicas: replicas,
    },
    {
      name: m.streamName(streams.deadLetters.name),
      subjects: streams.deadLetters.subjects.map(m.wire),
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      duplicate_window: twoMinutesNs,
      num_replicas: replicas,
    },
    {
      // Kept a day for SSE resumption (Last-Event-ID). The notifier publishes with the notification
      // id as msgID; the hour-long window covers a re-publish after its delivery lease ran out.
      name: m.streamName(streams.notifications.name),
      subjects: streams.notifications.subjects.map(m.wire),
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      duplicate_window: hourNs,
      num_replicas: replicas,
      max_age: 24 * hourNs,
      discard: DiscardPolicy.Old,
    },
  ];
}

/** The name a bucket is opened by in this namespace (`messaging.streamName` of its name; its stream is `KV_<that>`). */
function bucketName(m: Messaging, bucket: keyof typeof buckets): string {
  return m.streamName(buckets[bucket].name);
}

/**
 * Creates the streams or brings their mutable settings up to date; safe to run from every replica.
 * `replicas` is the JetStream replication factor: 1 on one server, 3 on a 3-node cluster.
 */
export async function provisionStreams(m: Messaging, opts: { replicas?: number } = {}): Promise<void> {
  for (const cfg of streamConfigs(m, opts.replicas)) {
    const existing = await m.jsm.streams.info(cfg.name).catch(() => null);
    if (!existing) {
      await m.jsm.streams.add(cfg).catch(async (err: unknown) => {
        // Another replica may have created it in between; that is the same outcome.
        if (!(await m.jsm.streams.info(cfg.name).catch(() => null))) throw err;
      });
    } else {
      await m.jsm.streams.update(cfg.name, {
        ...existing.config,
        subjects: cfg.subjects,
        duplicate_window: cfg.duplicate_window,
        num_replicas: cfg.num_replicas,
      });
    }
  }
  // A bucket that exists is opened as it is: create is idempotent for the same settings, and one
  // made with other settings (RATE_LIMITS on file storage, before it moved to memory) is kept.
  const kvm = new Kvm(m.js);
  for (const key of Object.keys(buckets) as (keyof typeof buckets)[]) {
    const name = bucketName(m, key);
    await kvm
      .create(name, {
        history: 1,
        ttl: buckets[key].maxAgeSeconds * 1000,
        replicas: opts.replicas ?? 1,
        storage: buckets[key].memory ? StorageType.Memory : StorageType.File,
      })
      .catch(async (err: unknown) => {
        if (!(await m.jsm.streams.info(`KV_${name}`).catch(() => null))) throw err;
      });
  }
}

/** Removes the namespace's streams (tests and throwaway stacks only). */
export async function deleteStreams(m: Messaging): Promise<void> {
  for (const cfg of streamConfigs(m)) await m.jsm.streams.delete(cfg.name).catch(() => false);
  for (const key of Object.keys(buckets) as (keyof typeof buckets)[])
    await m.jsm.streams.delete(`KV_${bucketName(m, key)}`).catch(() => false);
}
