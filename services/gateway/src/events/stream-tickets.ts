import { createHash, randomBytes } from 'node:crypto';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { buckets } from '@offramp/contracts';
import { AppError, type Messaging } from '@offramp/kit';

/**
 * Single-use tickets that open a trader's event stream from a browser (`EventSource` cannot send
 * the Authorization header). A ticket is 256 random bits, handed out once; only its SHA-256 is
 * stored, in the JetStream key-value bucket `STREAM_TICKETS` that every gateway replica reads, with
 * the trader and the expiry. Redeeming deletes the entry on the condition that it is still the
 * revision read (compare-and-delete), so of two concurrent uses exactly one wins. The bucket drops
 * every entry after `buckets.streamTickets.maxAgeSeconds` (longer than any ticket lives).
 */
export interface StreamTickets {
  issue(traderId: string): Promise<{ ticket: string; expiresAt: Date }>;
  /** The trader of a ticket that is known, unused and unexpired; null otherwise (and it is used up). */
  redeem(ticket: string): Promise<string | null>;
}

export interface StreamTicketOptions {
  messaging: Messaging;
  ttlMs: number;
  /** The clock (tests move it past a ticket's expiry). */
  now: () => number;
}

interface StoredTicket {
  traderId: string;
  expiresAt: number;
}

const hashOf = (ticket: string) => createHash('sha256').update(ticket).digest('hex');

/** Any failure to reach the bucket is the caller's 503: a ticket neither issued nor refused. */
function unavailable(): AppError {
  return new AppError('PSP_UNAVAILABLE', 'Notifications are unavailable, try again later');
}

export function streamTickets(opts: StreamTicketOptions): StreamTickets {
  if (opts.ttlMs > buckets.streamTickets.maxAgeSeconds * 1000) throw new Error('a stream ticket must not outlive its bucket');
  const { messaging } = opts;
  let bucket: Promise<KV> | undefined;
  // Binding does not touch the server; the bucket is created by provisioning (`provisionStreams`).
  const kv = () => (bucket ??= new Kvm(messaging.js).open(messaging.streamName(buckets.streamTickets.name)));

  return {
    async issue(traderId) {
      const ticket = randomBytes(32).toString('base64url');
      const expiresAt = opts.now() + opts.ttlMs;
      const stored: StoredTicket = { traderId, expiresAt };
      try {
        await (await kv()).create(hashOf(ticket), JSON.stringify(stored));
      } catch {
        throw unavailable();
      }
      return { ticket, expiresAt: new Date(expiresAt) };
    },

    async redeem(ticket) {
      if (!/^[A-Za-z0-9_-]{43}$/.test(ticket)) return null;
      const key = hashOf(ticket);
      try {
        const store = await kv();
        const entry = await store.get(key);
        if (!entry || entry.operation !== 'PUT') return null;
        // Used up before anything else: an expired or unreadable ticket is gone as well.
        await store.delete(key, { previousSeq: entry.revision });
        const stored = parseStored(entry.string());
        if (!stored || stored.expiresAt <= opts.now()) return null;
        return stored.traderId;
      } catch (err) {
        // Someone else deleted it after our read: it was used by a concurrent request.
        if (
          err instanceof JetStreamApiError &&
          (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
        ) {
          return null;
        }
        throw unavailable();
      }
    },
  };
}

function parseStored(text: string): StoredTicket | null {
  try {
    const value = JSON.parse(text) as Partial<StoredTicket>;
    return typeof value.traderId === 'string' && typeof value.expiresAt === 'number'
      ? { traderId: value.traderId, expiresAt: value.expiresAt }
      : null;
  } catch {
    return null;
  }
}
