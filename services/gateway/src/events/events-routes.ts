import type { FastifyInstance, FastifySchema } from 'fastify';
import { AppError, type Messaging } from '@offramp/kit';
import { identify, requireTrader, traderOf } from '../auth/auth.ts';
import { createStreamRegistry, openEventStream, type StreamSettings } from './event-stream.ts';

export interface EventRoutesOptions {
  messaging: Messaging;
  /** A comment line this often keeps proxies and load balancers from closing an idle stream. */
  heartbeatMs?: number;
  /** Open streams per trader on one gateway (tabs, devices); more are refused with 429. */
  maxStreamsPerTrader?: number;
  maxBufferedBytes?: number;
}

const schema = {
  tags: ['events'],
  summary: "Server-Sent Events of the trader's notifications: withdrawal.processing, withdrawal.completed, withdrawal.rejected",
  security: [{ bearerAuth: [] }],
  response: {
    200: {
      description:
        'text/event-stream. Each event: `id` (notification id), `event` (withdrawal.processing | withdrawal.completed | withdrawal.rejected), `data` JSON {notification_id, withdrawal_id, status, crypto_amount, crypto_currency, fiat_amount, fiat_currency, restored_amount, message, occurred_at}; `: heartbeat` comments in between.',
      content: { 'text/event-stream': { schema: { type: 'string' } } },
    },
  },
} as FastifySchema;

/**
 * GET /events (under /psp/alfred): the trader's notification stream. It sits beside the widget
 * scope rather than inside it: a long-lived stream is not counted by the request rate limiter, it
 * is capped per trader instead, and gateway shutdown ends every open stream first (`preClose`) so
 * that closing never waits on a client.
 */
export function eventRoutes(opts: EventRoutesOptions) {
  const settings: StreamSettings = { heartbeatMs: opts.heartbeatMs ?? 15_000, subscribeTimeoutMs: 3_000, maxBufferedBytes: opts.maxBufferedBytes ?? 256 * 1024 };
  const maxPerTrader = opts.maxStreamsPerTrader ?? 5;
  return async (app: FastifyInstance) => {
    const registry = createStreamRegistry();
    app.setValidatorCompiler(() => () => true);
    app.setSerializerCompiler(() => (data) => JSON.stringify(data));
    app.addHook('onRequest', identify);
    app.addHook('preHandler', requireTrader);
    app.addHook('preClose', () => registry.endAll());
    app.get('/events', { schema }, async (request, reply) => {
      const trader = traderOf(request);
      if (registry.count(trader.id) >= maxPerTrader) throw new AppError('RATE_LIMITED', 'Too many open event streams for this trader');
      await openEventStream({ messaging: opts.messaging, registry, settings }, request, reply, trader.id);
    });
  };
}
