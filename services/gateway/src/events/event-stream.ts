import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { inAppEnvelope, inAppSubject, streams, type InAppNotification } from '@offramp/contracts';
import { AppError, type Messaging } from '@offramp/kit';
import { frameOf, heartbeatFrame } from './notification-frame.ts';

export interface StreamSettings {
  heartbeatMs: number;
  /** How long opening the trader's consumer may take before the answer is 503. */
  subscribeTimeoutMs: number;
  /** Past this much unsent output the client is not reading: the stream is closed and the client reconnects. */
  maxBufferedBytes: number;
}

/** The open streams of this gateway, so that shutdown can end them and a trader's count can be capped. */
export interface StreamRegistry {
  count(traderId: string): number;
  /** Every open stream of this gateway (the `event_streams_open` gauge). */
  size(): number;
  add(traderId: string, end: () => Promise<void>): () => void;
  /** Ends every open stream; resolves once each response has finished. */
  endAll(): Promise<void>;
}

export function createStreamRegistry(): StreamRegistry {
  const open = new Map<() => Promise<void>, string>();
  return {
    count: (traderId) => [...open.values()].filter((t) => t === traderId).length,
    size: () => open.size,
    add(traderId, end) {
      open.set(end, traderId);
      return () => void open.delete(end);
    },
    async endAll() {
      await Promise.all([...open.keys()].map((end) => end()));
    },
  };
}

/**
 * Streams the trader's in-app notifications as Server-Sent Events. The notifier stores every
 * notification in the NOTIFICATIONS stream (kept a day); the stream reads it through an ordered
 * consumer filtered on the trader's own subject (the trader comes from the verified JWT or the
 * redeemed ticket), and checks each message's trader again before writing it.
 *
 * Without `lastEventId` it starts after the last message stored when it opens, so anything stored
 * once the client has its 200 is delivered. With `lastEventId` (the `id:` of the last event the
 * client saw: a notification id) it reads the trader's kept notifications from the oldest, skips
 * them up to and including that one, and writes the rest, then goes on live: every event missed
 * meanwhile, in order, once. An id that is not among the kept ones (older than the retention, or
 * never this trader's) gets every kept notification. The stream ends when the client goes away or
 * the gateway closes.
 */
export async function openEventStream(
  deps: { messaging: Messaging; registry: StreamRegistry; settings: StreamSettings },
  request: FastifyRequest,
  reply: FastifyReply,
  traderId: string,
  lastEventId: string | null,
): Promise<void> {
  const { messaging, settings } = deps;
  const log = request.log.child({ traderId });
  // The consumer exists at the server before the client sees 200. Without NATS there is nothing to
  // stream: 503 rather than a request that hangs.
  const { consumer, history } = await withTimeout(
    openConsumer(messaging, traderId, lastEventId !== null),
    settings.subscribeTimeoutMs,
    (late) => void late.consumer.delete().catch(() => false),
  ).catch(() => {
    throw new AppError('PSP_UNAVAILABLE', 'Notifications are unavailable, try again later');
  });
  const messages = await consumer.consume({ max_messages: 64 });
  reply.hijack();
  // A hijacked reply never completes in Fastify's eyes, so it gets no request line: this is the
  // stream's (its URL with the query values redacted, as every request line).
  request.log.info({ req: request, res: { statusCode: 200 } }, 'event stream opened');
  const res = reply.raw;
  // Headers set by earlier hooks (the trace id) are not sent for a hijacked reply unless written here.
  const earlier = Object.entries(reply.getHeaders()).filter((e): e is [string, string | number | string[]] => e[1] !== undefined);
  res.writeHead(200, {
    ...Object.fromEntries(earlier),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 3000\n: connected\n\n');

  let ended = false;
  const heartbeat = setInterval(() => write(heartbeatFrame), settings.heartbeatMs);
  const finished = new Promise<void>((resolve) => res.once('close', resolve));
  function end(): Promise<void> {
    if (!ended) {
      ended = true;
      clearInterval(heartbeat);
      messages.stop();
      void consumer.delete().catch(() => false);
      unregister();
      res.end();
    }
    return finished;
  }
  const unregister = deps.registry.add(traderId, end);
  function write(frame: string): void {
    if (ended) return;
    if (res.writableLength > settings.maxBufferedBytes) {
      log.warn('event stream client is not reading; closing its stream');
      void end();
      return;
    }
    res.write(frame);
  }
  request.raw.once('close', () => void end());
  res.once('close', () => void end());

  void (async () => {
    // While resuming, the kept notifications are held until the last one seen is found (they are
    // older: dropped) or the kept ones run out without it (all of them are written).
    let resuming = lastEventId !== null && history > 0;
    let held: string[] = [];
    try {
      for await (const msg of messages) {
        const n = notificationOf(msg, traderId);
        if (!n) log.warn({ subject: msg.subject, seq: msg.seq }, 'dropped a notification that is not a valid one of this trader');
        if (!resuming) {
          if (n) write(frameOf(n));
          continue;
        }
        if (n?.notificationId === lastEventId) {
          held = [];
          resuming = false;
          continue;
        }
        if (n) held.push(frameOf(n));
        if (msg.info.pending === 0) {
          resuming = false;
          for (const frame of held) write(frame);
          held = [];
        }
      }
    } catch (err) {
      // The consumer could not be kept (the stream is gone): the client reconnects and resumes.
      log.warn({ err }, 'event stream consumer failed; closing the stream');
    }
    void end();
  })();
}

/**
 * An ordered consumer of the trader's subject: from the oldest kept message when resuming, else
 * from the next one stored. `history` is how many of the trader's messages it starts with.
 */
async function openConsumer(messaging: Messaging, traderId: string, resume: boolean): Promise<{ consumer: Consumer; history: number }> {
  const stream = messaging.streamName(streams.notifications.name);
  const { state } = await messaging.jsm.streams.info(stream);
  const consumer = await messaging.js.consumers.get(stream, {
    filter_subjects: messaging.wire(inAppSubject(traderId)),
    opt_start_seq: resume ? Math.max(1, state.first_seq) : state.last_seq + 1,
  });
  const info = await consumer.info(true);
  return { consumer, history: info.num_pending };
}

/** The notification a message carries when it is a valid one of this trader; null otherwise. */
function notificationOf(msg: JsMsg, traderId: string): InAppNotification | null {
  const parsed = inAppEnvelope.safeParse(safeJson(msg.data));
  return parsed.success && parsed.data.payload.traderId === traderId ? parsed.data.payload : null;
}

function safeJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return null;
  }
}

/** `work`, or a rejection after `ms`; what `work` yields after that is handed to `late` (to be released). */
async function withTimeout<T>(work: Promise<T>, ms: number, late: (value: T) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`not done within ${ms} ms`));
    }, ms);
  });
  work.then((value) => timedOut && late(value)).catch(() => undefined);
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
