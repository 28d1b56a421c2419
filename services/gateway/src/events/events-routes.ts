import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Gauge } from 'prom-client';
import { AppError, sendData, type Messaging, type Metrics } from '@offramp/kit';
import { identify, requireTrader, traderOf, unauthorized } from '../auth/auth.ts';
import type { GatewayConfig } from '../config.ts';
import { beforeBody } from '../edge/hooks.ts';
import { rateLimitStoreOption } from '../edge/rate-limit-store.ts';
import { operation } from '../edge/openapi.ts';
import { createStreamRegistry, openEventStream, type StreamSettings } from './event-stream.ts';
import { streamTickets } from './stream-tickets.ts';

export interface EventRoutesOptions {
  messaging: Messaging;
  /** A comment line this often keeps proxies and load balancers from closing an idle stream. */
  heartbeatMs?: number;
  /** Open streams per trader on one gateway (tabs, devices); more are refused with 429. */
  maxStreamsPerTrader?: number;
  maxBufferedBytes?: number;
  /** How long a stream ticket may wait to be used (60 s). */
  ticketTtlMs?: number;
  /** Tickets a trader may take per minute (30), counted in the shared store unless `memory`; more are refused with 429. */
  ticketsPerMinute?: number;
  /** Where ticket counts live: `nats` (every replica's, the default) or `memory` (each replica's). */
  rateLimitStore?: GatewayConfig['RATE_LIMIT_STORE'];
  /** The clock of ticket expiry (tests move it). */
  now?: () => number;
  /** The gateway's registry: the `event_streams_open` gauge goes there. */
  metrics?: Metrics;
}

const ticketAnswer = z.object({
  ticket: z.string().meta({ description: 'Single use: `GET /psp/alfred/events?ticket=…` opens the stream of the trader who took it' }),
  expires_at: z.iso.datetime({ offset: true }).meta({ description: 'Unused by then, the ticket is refused (401)' }),
});

const streamQuery = z.object({
  ticket: z.string().max(200).optional().meta({
    description:
      'A ticket from `POST /psp/alfred/events/ticket`, instead of the Authorization header (a browser `EventSource` cannot send it). Used up by this request.',
  }),
  last_event_id: z.uuid().optional().meta({
    description:
      'Resume after this event (the `id:` of the last event received), as the `Last-Event-ID` header does; the header wins when both are sent.',
  }),
});

const streamDescription =
  "Server-Sent Events of the trader's notifications. Authenticate with the bearer token, or with `?ticket=` from `POST /psp/alfred/events/ticket` (a browser `EventSource`). " +
  'Each event: `id` (the notification id), `event` (withdrawal.processing | withdrawal.completed | withdrawal.rejected | withdrawal.delayed: the payout is past the SLA of its rail, told once), `data` JSON {notification_id, withdrawal_id, status, crypto_amount, crypto_currency, fiat_amount, fiat_currency, restored_amount, message, failure ({class, message} of a payout Alfred failed, else null), occurred_at}; ' +
  '`: heartbeat` comments in between. Notifications are kept 24 h: reconnecting with the `Last-Event-ID` header (or `?last_event_id=`) delivers every event after that one, in order and once, then the live ones.';

/** Seen on either the `Last-Event-ID` header (an `EventSource` reconnecting) or the query (a new `EventSource` after a new ticket). */
function lastEventIdOf(request: FastifyRequest, query: z.infer<typeof streamQuery>): string | null {
  const header = request.headers['last-event-id'];
  if (header === undefined) return query.last_event_id ?? null;
  const parsed = z.uuid().safeParse(header);
  if (!parsed.success) {
    throw new AppError('VALIDATION_ERROR', 'The request is invalid', {
      details: { fields: [{ field: 'Last-Event-ID', message: 'must be the id of an event of this stream (a uuid)' }] },
    });
  }
  return parsed.data;
}

/**
 * GET /events and POST /events/ticket (under /psp/alfred): the trader's notification stream and
 * the single-use tickets that open it from a browser. They sit beside the widget scope rather than
 * inside it: a long-lived stream is not counted by the request rate limiter, it is capped per
 * trader instead (tickets have a limit of their own), and gateway shutdown ends every open stream
 * first (`preClose`) so that closing never waits on a client. A ticket never reaches a log line:
 * request URLs are logged with their query values redacted, and nothing here logs it.
 */
export function eventRoutes(opts: EventRoutesOptions) {
  const settings: StreamSettings = {
    heartbeatMs: opts.heartbeatMs ?? 15_000,
    subscribeTimeoutMs: 3_000,
    maxBufferedBytes: opts.maxBufferedBytes ?? 256 * 1024,
  };
  const maxPerTrader = opts.maxStreamsPerTrader ?? 5;
  const tickets = streamTickets({ messaging: opts.messaging, ttlMs: opts.ticketTtlMs ?? 60_000, now: opts.now ?? Date.now });
  return async (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    const registry = createStreamRegistry();
    if (opts.metrics) {
      new Gauge({
        name: 'event_streams_open',
        help: "Traders' event streams (SSE) open on this gateway, read on scrape",
        registers: [opts.metrics.registry],
        collect() {
          this.set(registry.size());
        },
      });
    }
    // As at the gateway's root: the routes' zod schemas validate and document them (also when this plugin runs on its own).
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    app.addHook('onRequest', identify);
    app.addHook('preClose', () => registry.endAll());
    await app.register(fastifyRateLimit, {
      ...rateLimitStoreOption({ RATE_LIMIT_STORE: opts.rateLimitStore ?? 'nats' }, opts.messaging, 'tickets'),
      global: false,
      keyGenerator: (request) => (request.trader ? `sub:${request.trader.id}` : `anonymous-ip:${request.ip}`),
      errorResponseBuilder: (_request, context) =>
        new AppError('RATE_LIMITED', 'Too many stream tickets, slow down', {
          details: { retryAfterSeconds: Math.ceil(context.ttl / 1000) },
        }),
    });

    app.post(
      '/events/ticket',
      {
        config: { rateLimit: { max: opts.ticketsPerMinute ?? 30, timeWindow: 60_000 } },
        preParsing: beforeBody(requireTrader),
        schema: operation({
          operationId: 'createEventStreamTicket',
          summary: 'A single-use ticket to open the event stream from a browser',
          description:
            'A browser `EventSource` cannot send the Authorization header: take a ticket with the bearer token, then open `GET /psp/alfred/events?ticket=…`. ' +
            'The ticket is good for one stream of this trader, within 60 s; a used, expired or unknown ticket is refused with 401. To reconnect, take a new ticket and pass the last event id as `last_event_id`.',
          tag: 'events',
          access: 'trader',
          status: 201,
          answer: ticketAnswer,
          examples: { answer: { ticket: 'q9Jm3c4v0ZrT1uYx8bN2kPq7sW5eH6aD0fG1iL2oR3M', expires_at: '2030-01-01T00:01:00.000Z' } },
        }),
      },
      async (request, reply) => {
        const { ticket, expiresAt } = await tickets.issue(traderOf(request).id);
        return sendData(request, reply, { ticket, expires_at: expiresAt.toISOString() }, 201);
      },
    );

    const streamSchema = operation({
      operationId: 'streamEvents',
      summary: "The trader's notifications as Server-Sent Events",
      description: streamDescription,
      tag: 'events',
      access: 'trader',
      querystring: streamQuery,
    });
    app.get(
      '/events',
      {
        // Without a ticket, the bearer token must be valid: refused before anything else is read.
        preParsing: beforeBody(async (request) => {
          if (!request.trader && (request.query as { ticket?: unknown }).ticket === undefined) throw unauthorized(request);
        }),
        schema: {
          ...streamSchema,
          // The bearer token, or none with `?ticket=`.
          security: [{ bearerAuth: [] }, {}],
          response: {
            ...streamSchema.response,
            200: { description: 'The event stream (text/event-stream)', content: { 'text/event-stream': { schema: z.string() } } },
          },
        },
      },
      async (request, reply) => {
        const lastEventId = lastEventIdOf(request, request.query);
        let traderId: string;
        if (request.query.ticket !== undefined) {
          const redeemed = await tickets.redeem(request.query.ticket);
          if (!redeemed) throw new AppError('UNAUTHORIZED', 'The stream ticket is unknown, expired or already used: take a new one');
          traderId = redeemed;
        } else {
          traderId = traderOf(request).id;
        }
        if (registry.count(traderId) >= maxPerTrader) throw new AppError('RATE_LIMITED', 'Too many open event streams for this trader');
        await openEventStream({ messaging: opts.messaging, registry, settings }, request, reply, traderId, lastEventId);
      },
    );
  };
}
