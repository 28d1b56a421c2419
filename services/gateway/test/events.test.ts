import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inAppMessage, inAppSubject, type InAppNotification } from '@offramp/contracts';
import { makeEnvelope, newId, type Messaging } from '@offramp/kit';
import { eventually, testMessaging } from '@offramp/kit/testing';
import { registerAuth } from '../src/auth/auth.ts';
import { eventRoutes } from '../src/events/events-routes.ts';
import { readGatewayConfig } from '../src/app.ts';
import { audience, issuer, jwtSecret, startTestGateway, tokenFor, type TestGateway } from './harness.ts';

interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
}

/** A real HTTP client of an SSE stream: events and comments as they arrive. */
function connect(baseUrl: string, token: string | null) {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let buffer = '';
  let status = 0;
  let headers: IncomingHttpHeaders = {};
  let body = '';
  let closedByClient = false;
  const req = httpRequest(`${baseUrl}/psp/alfred/events`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const ready = new Promise<void>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      status = res.statusCode ?? 0;
      headers = res.headers;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        buffer += chunk;
        for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const event: SseEvent = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) event.id = line.slice(4);
            else if (line.startsWith('event: ')) event.event = line.slice(7);
            else if (line.startsWith('data: ')) event.data = line.slice(6);
          }
          if (event.event) events.push(event);
        }
      });
      res.once('end', () => (client.ended = true));
      resolve();
    });
  });
  req.end();
  const client = {
    events,
    comments,
    ended: false,
    ready,
    get status() {
      return status;
    },
    get headers() {
      return headers;
    },
    get body() {
      return body;
    },
    /** Whether the client let go of its request itself (close): a server that waited on it would wait until then. */
    get closedByClient() {
      return closedByClient;
    },
    close: () => {
      closedByClient = true;
      req.destroy();
    },
  };
  return client;
}

/** Publishes an in-app notification exactly as the notifier does. */
async function notify(messaging: Messaging, overrides: Partial<InAppNotification> & { traderId: string }, subjectTrader = overrides.traderId) {
  const n: InAppNotification = {
    notificationId: newId(),
    kind: 'withdrawal.completed',
    withdrawalId: newId(),
    status: 'completed',
    debitedMinor: 20_049_116n,
    fiatAmount: '100.00',
    fiatCurrency: 'BRL',
    restoredMinor: null,
    message: 'Your withdrawal of 100.00 BRL is complete.',
    occurredAt: '2030-01-01T00:00:00.000Z',
    ...overrides,
  };
  const envelope = makeEnvelope(inAppMessage, n, { correlationId: n.withdrawalId, traceId: newId() });
  messaging.nc.publish(messaging.wire(inAppSubject(subjectTrader)), JSON.stringify(envelope));
  await messaging.nc.flush();
  return n;
}

describe('GET /psp/alfred/events (SSE)', () => {
  let gw: TestGateway;
  let baseUrl: string;
  beforeAll(async () => {
    gw = await startTestGateway();
    baseUrl = await gw.app.http.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => gw?.cleanup());

  it("when a trader is connected, then they receive their notification and another trader's stream receives nothing of it", async () => {
    const alice = connect(baseUrl, tokenFor('alice-sse'));
    const bob = connect(baseUrl, tokenFor('bob-sse'));
    await Promise.all([alice.ready, bob.ready]);
    expect(alice.status).toBe(200);
    expect(alice.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(alice.headers['cache-control']).toBe('no-cache, no-transform');
    expect(alice.headers['x-trace-id']).toBeTruthy();

    const rejected = await notify(gw.messaging, { traderId: 'alice-sse', kind: 'withdrawal.rejected', status: 'rejected', restoredMinor: 20_049_116n, message: 'returned' });
    await eventually('alice to get her notification', () => alice.events.length === 1);
    expect(alice.events[0]).toEqual({ id: rejected.notificationId, event: 'withdrawal.rejected', data: expect.any(String) });
    expect(JSON.parse(alice.events[0]!.data!)).toEqual({
      notification_id: rejected.notificationId,
      withdrawal_id: rejected.withdrawalId,
      status: 'rejected',
      crypto_amount: '20.049116',
      crypto_currency: 'USDT',
      fiat_amount: '100.00',
      fiat_currency: 'BRL',
      restored_amount: '20.049116',
      message: 'returned',
      occurred_at: '2030-01-01T00:00:00.000Z',
    });
    // A later notification of bob's own: had alice's reached his stream, it would have come first.
    const own = await notify(gw.messaging, { traderId: 'bob-sse' });
    await eventually("bob's own notification", () => bob.events.length >= 1);
    expect(bob.events.map((e) => e.id)).toEqual([own.notificationId]);
    expect(bob.body).not.toContain(rejected.withdrawalId);
    alice.close();
    bob.close();
  });

  it('when a message on the trader subject names another trader, then it is dropped', async () => {
    const carol = connect(baseUrl, tokenFor('carol-sse'));
    await carol.ready;
    await notify(gw.messaging, { traderId: 'mallory-sse' }, 'carol-sse');
    const own = await notify(gw.messaging, { traderId: 'carol-sse', kind: 'withdrawal.processing', status: 'processing' });
    await eventually('the own notification', () => carol.events.length >= 1);
    expect(carol.events.map((e) => [e.id, e.event])).toEqual([[own.notificationId, 'withdrawal.processing']]);
    carol.close();
  });

  it('when the OpenAPI document is read, then the stream is described as text/event-stream behind the bearer token', async () => {
    const res = await gw.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const op = res.json().paths['/psp/alfred/events'].get;
    expect(op.tags).toEqual(['events']);
    expect(op.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(op.responses['200'].content)).toEqual(['text/event-stream']);
  });

  it('when the token is missing or invalid, then 401 with the error envelope and no stream', async () => {
    for (const token of [null, 'not-a-jwt', tokenFor('dave-sse', { aud: 'someone-else' })]) {
      const res = await gw.inject({ url: '/psp/alfred/events', ...(token ? { token } : {}) });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' } });
    }
  });

  it('when a trader opens more streams than allowed, then 429 RATE_LIMITED, and a disconnect frees a place', async () => {
    const token = tokenFor('erin-sse');
    const open = Array.from({ length: 5 }, () => connect(baseUrl, token));
    await Promise.all(open.map((c) => c.ready));
    expect(open.map((c) => c.status)).toEqual([200, 200, 200, 200, 200]);
    const sixth = connect(baseUrl, token);
    await sixth.ready;
    await eventually('the refusal body', () => sixth.ended);
    expect(sixth.status).toBe(429);
    expect(JSON.parse(sixth.body)).toMatchObject({ success: false, error: { code: 'RATE_LIMITED' } });
    open[0]!.close();
    // The place is freed when the server sees the disconnect: open streams until one is let in.
    const again = await eventually('a place freed by the disconnect', async () => {
      const next = connect(baseUrl, token);
      await next.ready;
      if (next.status === 200) return next;
      next.close();
      return undefined;
    });
    expect(again.status).toBe(200);
    for (const c of [...open, again]) c.close();
  });
});

describe('SSE heartbeats and shutdown', () => {
  it('when the stream is idle, then heartbeat comments arrive; when the server closes, then the stream ends and close does not wait on the client', async () => {
    const messaging = await testMessaging('gateway-events-test');
    const config = readGatewayConfig({ NATS_NAMESPACE: messaging.namespace, JWT_SECRET: jwtSecret, JWT_ISSUER: issuer, JWT_AUDIENCE: audience });
    const app = Fastify();
    try {
      await registerAuth(app, config);
      await app.register(eventRoutes({ messaging, heartbeatMs: 50 }), { prefix: '/psp/alfred' });
      const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
      const frank = connect(baseUrl, tokenFor('frank-sse'));
      await frank.ready;
      await eventually('three heartbeats', () => frank.comments.filter((c) => c === 'heartbeat').length >= 3);
      expect(frank.comments[0]).toBe('connected');
      // The client never lets go of its stream: a close that waited on the client would never resolve.
      await app.close();
      expect(frank.closedByClient).toBe(false);
      await eventually('the end of the stream', () => frank.ended);
      // The subscription went with the stream: a later notification reaches nobody and breaks nothing.
      await notify(messaging, { traderId: 'frank-sse' });
      expect(frank.events).toEqual([]);
    } finally {
      await app.close();
      await messaging.cleanup();
    }
  });

  it('when the gateway closes with open streams, then close resolves and the clients see the end', async () => {
    const gw = await startTestGateway();
    const baseUrl = await gw.app.http.app.listen({ port: 0, host: '127.0.0.1' });
    const clients = [connect(baseUrl, tokenFor('gina-sse')), connect(baseUrl, tokenFor('hank-sse'))];
    await Promise.all(clients.map((c) => c.ready));
    // Neither client lets go of its stream: a close that waited on them would never resolve.
    await gw.cleanup();
    expect(clients.map((c) => c.closedByClient)).toEqual([false, false]);
    await eventually('both streams to end', () => clients.every((c) => c.ended));
    expect(clients.map((c) => c.status)).toEqual([200, 200]);
  });
});
