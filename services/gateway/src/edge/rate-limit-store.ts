import { createHash } from 'node:crypto';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { FastifyRateLimitStore } from '@fastify/rate-limit';
import { buckets } from '@offramp/contracts';
import type { Messaging } from '@offramp/kit';
import type { GatewayConfig } from '../config.ts';

/** The route a child store is made for: the plugin passes the route's merged settings with `routeInfo`. */
const routeOf = (routeOptions: unknown) => {
  const info = (routeOptions as { routeInfo?: { url?: unknown; method?: unknown } }).routeInfo ?? {};
  return `${[info.method ?? ''].flat().join(',')} ${typeof info.url === 'string' ? info.url : ''}`;
};

/**
 * Tries of one compare-and-set before the request is answered 503. Each round of conflicting
 * writers lets one through, and a key is written at most `max + 1` times a window (past that it is
 * only read), so only a burst of more than this many requests of one caller at once gets there.
 */
const maxAttempts = 50;

const isConflict = (err: unknown) =>
  err instanceof JetStreamApiError &&
  (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

/** A stored count: the window's start (ms) and the requests in it, as `<start> <count>`. */
function parseCount(text: string): { start: number; count: number } | null {
  const m = /^([0-9]{1,16}) ([0-9]{1,10})$/.exec(text);
  return m ? { start: Number(m[1]), count: Number(m[2]) } : null;
}

/** A key's last value and revision; `text` null when its last operation was a delete or purge. */
interface Written {
  revision: number;
  text: string | null;
}

async function readEntry(store: KV, name: string): Promise<Written | null> {
  const entry = await store.get(name);
  return entry ? { revision: entry.revision, text: entry.operation === 'PUT' ? entry.string() : null } : null;
}

/**
 * The last write of this replica per key, at most `limit` keys (the least recently written go
 * first). Taken out while a count uses it, so two counts of one key at once cannot both write at
 * the same revision from memory: the second reads the key.
 */
class LastWrites {
  readonly #entries = new Map<string, Written>();
  readonly #limit: number;
  constructor(limit = 10_000) {
    this.#limit = limit;
  }
  take(name: string): Written | undefined {
    const entry = this.#entries.get(name);
    this.#entries.delete(name);
    return entry;
  }
  set(name: string, entry: Written): void {
    this.#entries.delete(name);
    this.#entries.set(name, entry);
    if (this.#entries.size > this.#limit) this.#entries.delete(this.#entries.keys().next().value!);
  }
}

/**
 * The store did not answer: the kit's error handler logs it (with its cause) and answers 503
 * PSP_UNAVAILABLE with `Retry-After`, as for any infrastructure that is gone (`unavailable`).
 */
class RateLimitStoreUnavailable extends Error {
  readonly unavailable = true;
  constructor(cause: unknown) {
    super('the shared rate-limit store (NATS key-value bucket RATE_LIMITS) did not answer', { cause });
    this.name = 'RateLimitStoreUnavailable';
  }
}

/**
 * Request counts shared by every gateway replica, in the JetStream key-value bucket `RATE_LIMITS`
 * (`buckets.rateLimits`; provisioned with the other buckets). One key per limiter and caller's
 * bucket (`sub:…`, `anonymous-ip:…`): its SHA-256, so no trader id or IP is stored. The value is
 * the window's start and its count; as in the plugin's memory store, a window starts with the first
 * request after the previous one ended. Each request adds one with compare-and-set (`create` for
 * the first, `update` at the revision read), so two replicas never lose a count; once the count is
 * past `max` it is only read (the answer is refused anyway). The read is skipped when this replica
 * wrote the key last (it remembers the value and revision): the write at that revision either
 * succeeds or fails because someone else wrote meanwhile, and then the key is read. The bucket drops a key an hour after
 * its last write (a window is at most an hour).
 * When NATS does not answer, the request is refused with 503 PSP_UNAVAILABLE (logged), as every
 * route that calls a service over NATS would be.
 */
export function natsRateLimitStore(messaging: Messaging, prefix: string, now: () => number = Date.now) {
  let bucket: Promise<KV> | undefined;
  // Binding does not touch the server; the bucket is created by provisioning (`provisionStreams`).
  // A failed open is not kept: the next request tries again (the bucket may be provisioned meanwhile).
  const kv = () =>
    (bucket ??= new Kvm(messaging.js).open(messaging.streamName(buckets.rateLimits.name)).catch((err: unknown) => {
      bucket = undefined;
      throw err;
    }));
  const written = new LastWrites();

  async function count(scope: string, key: string, timeWindow: number, max: number): Promise<{ current: number; ttl: number }> {
    const name = createHash('sha256').update(`${scope}\n${key}\n${timeWindow}`).digest('hex');
    const store = await kv();
    // What this replica wrote last under the key: the next count is written at that revision
    // without reading it first (one round trip to NATS instead of two). When another replica (or
    // the bucket's expiry) changed the key since, the compare-and-set fails and the key is read.
    let known = written.take(name);
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const at = now();
      const fromCache = known !== undefined;
      const entry = known ?? (await readEntry(store, name));
      known = undefined;
      const stored = entry?.text ? parseCount(entry.text) : null;
      // A window starts with the first request after the last one ended, as in the plugin's memory store.
      const live = stored && at < stored.start + timeWindow ? stored : null;
      if (live && live.count > max) {
        // Refused on what the bucket says, never on this replica's memory of it.
        if (fromCache) continue;
        return { current: live.count + 1, ttl: live.start + timeWindow - at };
      }
      const next = live ? { start: live.start, count: live.count + 1 } : { start: at, count: 1 };
      const text = `${next.start} ${next.count}`;
      try {
        const revision = entry ? await store.update(name, text, entry.revision) : await store.create(name, text);
        written.set(name, { revision, text });
        return { current: next.count, ttl: next.start + timeWindow - at };
      } catch (err) {
        // Another replica counted the same key between our read and write: read again.
        if (isConflict(err)) continue;
        throw err;
      }
    }
    throw new Error(`rate limit count of one key kept conflicting (${maxAttempts} tries)`);
  }

  const storeFor = (scope: string): FastifyRateLimitStore => ({
    incr(key, answer, timeWindow, max) {
      count(scope, key, timeWindow, max).then(
        (res) => answer(null, res),
        (err: unknown) => answer(new RateLimitStoreUnavailable(err)),
      );
    },
    // A route with its own limit counts apart, as the plugin's memory store does.
    child: (routeOptions) => storeFor(`${scope} ${routeOf(routeOptions)}`),
  });

  /** The class @fastify/rate-limit's `store` option wants (it constructs it with its settings, unused here). */
  return class NatsRateLimitStore {
    readonly incr: FastifyRateLimitStore['incr'];
    readonly child: FastifyRateLimitStore['child'];
    constructor() {
      const root = storeFor(prefix);
      this.incr = root.incr;
      this.child = root.child;
    }
  };
}

/**
 * The `store` option of a limiter named `prefix` (its counts apart from every other limiter's): the
 * shared NATS store unless RATE_LIMIT_STORE=memory, which leaves the plugin's in-memory default.
 */
export function rateLimitStoreOption(config: Pick<GatewayConfig, 'RATE_LIMIT_STORE'>, messaging: Messaging, prefix: string) {
  return config.RATE_LIMIT_STORE === 'nats' ? { store: natsRateLimitStore(messaging, prefix) } : {};
}
