import { createHash } from 'node:crypto';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { FastifyRateLimitStore } from '@fastify/rate-limit';
import { buckets } from '@offramp/contracts';
import { AppError, type Messaging } from '@offramp/kit';
import type { GatewayConfig } from '../config.ts';

/** The route a child store is made for: the plugin passes the route's merged settings with `routeInfo`. */
const routeOf = (routeOptions: unknown) => {
  const info = (routeOptions as { routeInfo?: { url?: unknown; method?: unknown } }).routeInfo ?? {};
  return `${[info.method ?? ''].flat().join(',')} ${typeof info.url === 'string' ? info.url : ''}`;
};

/** Tries of one compare-and-set before the request is answered 503: only many replicas counting one key at once get there. */
const maxAttempts = 20;

const isConflict = (err: unknown) =>
  err instanceof JetStreamApiError &&
  (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

function unavailable(): AppError {
  return new AppError('PSP_UNAVAILABLE', 'The service is unavailable, try again later');
}

/**
 * Request counts shared by every gateway replica, in the JetStream key-value bucket `RATE_LIMITS`
 * (`buckets.rateLimits`; provisioned with the other buckets). Fixed windows: the key is the SHA-256
 * of the limiter's prefix, the caller's bucket (`sub:…`, `anonymous-ip:…`) and the window number
 * (`floor(now / window)`), so no trader id or IP is stored and a window's count simply stops being
 * read when the window ends (the bucket drops it after `maxAgeSeconds`). Each request adds one with
 * compare-and-set (`create` for the first, `update` at the revision read), so two replicas never
 * lose a count; once the count is past `max` it is no longer written (the answer is refused anyway).
 * When NATS does not answer, the request is refused with 503 PSP_UNAVAILABLE, as every route that
 * calls a service over NATS would be.
 */
export function natsRateLimitStore(messaging: Messaging, prefix: string, now: () => number = Date.now) {
  let bucket: Promise<KV> | undefined;
  // Binding does not touch the server; the bucket is created by provisioning (`provisionStreams`).
  const kv = () => (bucket ??= new Kvm(messaging.js).open(messaging.streamName(buckets.rateLimits.name)));

  async function count(scope: string, key: string, timeWindow: number, max: number): Promise<{ current: number; ttl: number }> {
    const at = now();
    const window = Math.floor(at / timeWindow);
    const ttl = (window + 1) * timeWindow - at;
    const name = createHash('sha256').update(`${scope}\n${key}\n${timeWindow}\n${window}`).digest('hex');
    const store = await kv();
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const entry = await store.get(name);
      const seen = entry && entry.operation === 'PUT' ? Number(entry.string()) || 0 : 0;
      if (seen > max) return { current: seen + 1, ttl };
      try {
        if (!entry) await store.create(name, String(seen + 1));
        else await store.update(name, String(seen + 1), entry.revision);
        return { current: seen + 1, ttl };
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
        () => answer(unavailable()),
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
