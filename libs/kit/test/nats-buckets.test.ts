import { afterEach, describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import { StorageType } from '@nats-io/jetstream';
import { buckets } from '@offramp/contracts';
import { connectMessaging, deleteStreams, provisionStreams, type Messaging } from '../src/index.ts';
import { testInfra, testLogger, uniqueName } from '../src/testing.ts';

describe('provisionStreams and the key-value buckets', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  async function connect(): Promise<Messaging> {
    const m = await connectMessaging({
      url: testInfra().natsUrl,
      name: 'buckets',
      namespace: uniqueName('b').toLowerCase(),
      log: testLogger('b'),
    });
    cleanups.push(async () => {
      await deleteStreams(m);
      await m.nc.drain();
    });
    return m;
  }
  const storageOf = async (m: Messaging, bucket: keyof typeof buckets) =>
    (await m.jsm.streams.info(`KV_${m.streamName(buckets[bucket].name)}`)).config.storage;

  it('when provisioned, then the rate-limit counts are kept in memory and the stream tickets on file; provisioning again changes nothing', async () => {
    const m = await connect();
    await provisionStreams(m);
    expect(await storageOf(m, 'rateLimits')).toBe(StorageType.Memory);
    expect(await storageOf(m, 'streamTickets')).toBe(StorageType.File);
    await provisionStreams(m);
    expect(await storageOf(m, 'rateLimits')).toBe(StorageType.Memory);
  });

  it('when the rate-limit bucket was made on file storage before, then provisioning keeps it as it is, with its counts', async () => {
    const m = await connect();
    const kv = await new Kvm(m.js).create(m.streamName(buckets.rateLimits.name), { history: 1, ttl: 3_600_000, storage: StorageType.File });
    await kv.put('trader-1', '{"count":3}');
    await provisionStreams(m);
    expect(await storageOf(m, 'rateLimits')).toBe(StorageType.File);
    expect((await kv.get('trader-1'))?.string()).toBe('{"count":3}');
  });
});
