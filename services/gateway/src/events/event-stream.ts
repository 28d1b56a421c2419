import type { FastifyReply, FastifyRequest } from 'fastify';
import { inAppEnvelope, inAppSubject } from '@offramp/contracts';
import { AppError, type Messaging } from '@offramp/kit';
import { frameOf, heartbeatFrame } from './notification-frame.ts';

export interface StreamSettings {
  heartbeatMs: number;
  subscribeTimeoutMs: number;
  /** Past this much unsent output the client is not reading: the stream is closed and the client reconnects. */
  maxBufferedBytes: number;
}

/** The open streams of this gateway, so that shutdown can end them and a trader's count can be capped. */
export interface StreamRegistry {
  count(traderId: string): number;
  add(traderId: string, end: () => Promise<void>): () => void;
  /** Ends every open stream; resolves once each response has finished. */
  endAll(): Promise<void>;
}

export function createStreamRegistry(): StreamRegistry {
  const open = new Map<() => Promise<void>, string>();
  return {
    count: (traderId) => [...open.values()].filter((t) => t === traderId).length,
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
 * Streams the trader's in-app notifications as Server-Sent Events. It subscribes to the trader's
 * own subject only (the trader id comes from the verified JWT), and checks each message's trader
 * again before writing it. The stream ends when the client goes away or the gateway closes.
 */
export async function openEventStream(
  deps: { messaging: Messaging; registry: StreamRegistry; settings: StreamSettings },
  request: FastifyRequest,
  reply: FastifyReply,
  traderId: string,
): Promise<void> {
  const { messaging, settings } = deps;
  const log = request.log.child({ traderId });
  const sub = messaging.nc.subscribe(messaging.wire(inAppSubject(traderId)));
  // The subscription is live at the server before the client sees 200: nothing published after is
  // missed. Without NATS there is nothing to stream: 503 rather than a request that hangs.
  if (!(await confirmed(messaging, settings.subscribeTimeoutMs))) {
    sub.unsubscribe();
    throw new AppError('PSP_UNAVAILABLE', 'Notifications are unavailable, try again later');
  }
  reply.hijack();
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
      sub.unsubscribe();
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
    for await (const msg of sub) {
      const parsed = inAppEnvelope.safeParse(safeJson(msg.data));
      if (!parsed.success || parsed.data.payload.traderId !== traderId) {
        log.warn({ subject: msg.subject }, 'dropped a notification that is not a valid one of this trader');
        continue;
      }
      write(frameOf(parsed.data.payload));
    }
  })();
}

function safeJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return null;
  }
}

async function confirmed(messaging: Messaging, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([messaging.nc.flush().then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
