import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inAppMessage, inAppSubject, streams, type InAppNotification } from '@offramp/contracts';
import { createHttpServer, createLogger, createMetrics, makeEnvelope, newId, readinessOf, type Messaging } from '@offramp/kit';
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

/**
 * A real HTTP client of an SSE stream: events and comments as they arrive. `token` goes in the
 * Authorization header; `path` (default `/psp/alfred/events`) may carry `?ticket=`; `headers` e.g.
 * `Last-Event-ID`.
 */
function connect(baseUrl: string, token: string | null, opts: { path?: string; headers?: Record<string, string> } = {}) {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let buffer = '';
  let status = 0;
  let headers: IncomingHttpHeaders = {};
  let body = '';
  let closedByClient = false;
  const req = httpRequest(`${baseUrl}${opts.path ?? '/psp/alfred/events'}`, {
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...opts.headers },
  });
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

/** Publishes an in-app notification exactly as the notifier does: into JetStream, the notification id as msgID. */
async function notify(
  messaging: Messaging,
  overrides: Partial<InAppNotification> & { traderId: string },
  subjectTrader = overrides.traderId,
) {
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
  await messaging.js.publish(messaging.wire(inAppSubject(subjectTrader)), JSON.stringify(envelope), { msgID: n.notificationId });
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

    const rejected = await notify(gw.messaging, {
      traderId: 'alice-sse',
      kind: 'withdrawal.rejected',
      status: 'rejected',
      restoredMinor: 20_049_116n,
      message: 'returned',
      failure: { class: 'account_closed', message: 'Tu cuenta bancaria está cerrada.' },
    });
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
      failure: { class: 'account_closed', message: 'Tu cuenta bancaria está cerrada.' },
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

  it('when the OpenAPI document is read, then the stream is text/event-stream behind the bearer token or a ticket, and the ticket route is described', async () => {
    const res = await gw.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    const op = doc.paths['/psp/alfred/events'].get;
    expect(op.tags).toEqual(['events']);
    expect(op.security).toEqual([{ bearerAuth: [] }, {}]);
    expect(Object.keys(op.responses['200'].content)).toEqual(['text/event-stream']);
    expect(op.parameters.map((p: { in: string; name: string }) => [p.in, p.name])).toEqual([
      ['query', 'ticket'],
      ['query', 'last_event_id'],
    ]);
    expect(op.description).toContain('Last-Event-ID');
    const ticket = doc.paths['/psp/alfred/events/ticket'].post;
    expect(ticket).toMatchObject({ operationId: 'createEventStreamTicket', tags: ['events'], security: [{ bearerAuth: [] }] });
    expect(Object.keys(ticket.responses)).toEqual(expect.arrayContaining(['201', '401', '429']));
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

type Answer = {
  success: boolean;
  data?: { ticket: string; expires_at: string };
  error?: { code: string; message: string; details?: unknown };
};

/** The status and JSON body of an answer over real HTTP; a stream that opens instead is let go of at once (body null). */
async function answerOf(baseUrl: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: Answer | null }> {
  const res = await fetch(`${baseUrl}${path}`, init);
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, body: null };
  }
  return { status: res.status, body: (await res.json()) as Answer };
}

describe('stream tickets: POST /psp/alfred/events/ticket, then GET /psp/alfred/events?ticket=', () => {
  let gw: TestGateway;
  let baseUrl: string;
  beforeAll(async () => {
    gw = await startTestGateway();
    baseUrl = await gw.app.http.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => gw?.cleanup());

  const takeTicket = async (trader: string) => {
    const res = await answerOf(baseUrl, '/psp/alfred/events/ticket', {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenFor(trader)}` },
    });
    expect(res.status).toBe(201);
    return res.body!.data!;
  };

  it("when a trader takes a ticket, then it opens their stream without the Authorization header: their notifications arrive, another trader's do not", async () => {
    const { ticket, expires_at } = await takeTicket('tina-sse');
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Date(expires_at).toISOString()).toBe(expires_at);
    const tina = connect(baseUrl, null, { path: `/psp/alfred/events?ticket=${ticket}` });
    await tina.ready;
    expect(tina.status).toBe(200);
    expect(tina.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const others = await notify(gw.messaging, { traderId: 'uma-sse' });
    const own = await notify(gw.messaging, { traderId: 'tina-sse' });
    await eventually('her notification', () => tina.events.length >= 1);
    // Had uma's reached tina's stream, it would have come first.
    expect(tina.events.map((e) => e.id)).toEqual([own.notificationId]);
    expect(tina.body).not.toContain(others.withdrawalId);
    tina.close();
  });

  it('when a ticket is used again, then 401 UNAUTHORIZED, while the stream it opened stays open; of concurrent uses exactly one opens a stream', async () => {
    const { ticket } = await takeTicket('vera-sse');
    const first = connect(baseUrl, null, { path: `/psp/alfred/events?ticket=${ticket}` });
    await first.ready;
    expect(first.status).toBe(200);
    const again = await answerOf(baseUrl, `/psp/alfred/events?ticket=${ticket}`);
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({
      success: false,
      error: { code: 'UNAUTHORIZED', message: 'The stream ticket is unknown, expired or already used: take a new one' },
    });
    const own = await notify(gw.messaging, { traderId: 'vera-sse' });
    await eventually('the first stream still delivering', () => first.events.length === 1);
    expect(first.events[0]!.id).toBe(own.notificationId);
    first.close();

    const race = await takeTicket('vera-sse');
    const racers = Array.from({ length: 5 }, () => connect(baseUrl, null, { path: `/psp/alfred/events?ticket=${race.ticket}` }));
    await Promise.all(racers.map((c) => c.ready));
    expect(racers.map((c) => c.status).sort()).toEqual([200, 401, 401, 401, 401]);
    for (const c of racers) c.close();
  });

  it('when the ticket is unknown, malformed or empty, then 401 UNAUTHORIZED and no stream', async () => {
    for (const ticket of ['A'.repeat(43), 'not-a-ticket', '', 'x'.repeat(200)]) {
      const res = await answerOf(baseUrl, `/psp/alfred/events?ticket=${ticket}`);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' } });
    }
  });

  it('when a ticket is asked for without a valid bearer token, then 401 and no ticket', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer not-a-jwt' },
      { authorization: `Bearer ${tokenFor('wade-sse', { aud: 'someone-else' })}` },
    ]) {
      const res = await answerOf(baseUrl, '/psp/alfred/events/ticket', { method: 'POST', headers });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' } });
      expect(res.body!.data).toBeUndefined();
    }
  });
});

describe('stream tickets: expiry, and never in a log line', () => {
  it('when a ticket is used at or after its expiry, then 401; just before, it opens the stream; no log line holds a ticket', async () => {
    const messaging = await testMessaging('gateway-events-tickets');
    const lines: string[] = [];
    const log = createLogger({ name: 'gateway', level: 'trace', destination: { write: (line: string) => void lines.push(line) } });
    const http = createHttpServer({ log, metrics: createMetrics('gateway'), readiness: readinessOf({ messaging }) });
    const config = readGatewayConfig({
      NATS_NAMESPACE: messaging.namespace,
      JWT_SECRET: jwtSecret,
      JWT_ISSUER: issuer,
      JWT_AUDIENCE: audience,
    });
    let now = Date.parse('2030-01-01T00:00:00.000Z');
    const tickets: string[] = [];
    try {
      await registerAuth(http.app, config);
      await http.app.register(eventRoutes({ messaging, ticketTtlMs: 30_000, now: () => now }), { prefix: '/psp/alfred' });
      const baseUrl = await http.app.listen({ port: 0, host: '127.0.0.1' });
      const take = async () => {
        const res = await answerOf(baseUrl, '/psp/alfred/events/ticket', {
          method: 'POST',
          headers: { authorization: `Bearer ${tokenFor('ivy-sse')}` },
        });
        expect(res.status).toBe(201);
        tickets.push(res.body!.data!.ticket);
        return res.body!.data!;
      };

      const late = await take();
      expect(late.expires_at).toBe('2030-01-01T00:00:30.000Z');
      now += 30_000; // the instant it expires
      const refused = await answerOf(baseUrl, `/psp/alfred/events?ticket=${late.ticket}`);
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' } });

      const inTime = await take();
      expect(inTime.expires_at).toBe('2030-01-01T00:01:00.000Z');
      now += 29_999;
      const ivy = connect(baseUrl, null, { path: `/psp/alfred/events?ticket=${inTime.ticket}` });
      await ivy.ready;
      expect(ivy.status).toBe(200);
      ivy.close();

      // An expired ticket is used up too: turning the clock back does not revive it.
      now -= 60_000;
      expect((await answerOf(baseUrl, `/psp/alfred/events?ticket=${late.ticket}`)).status).toBe(401);

      await eventually(
        'the stream requests in the log',
        () => lines.filter((l) => l.includes('/psp/alfred/events?ticket=[redacted]')).length >= 3,
      );
      for (const line of lines) for (const ticket of tickets) expect(line).not.toContain(ticket);
    } finally {
      await http.app.close();
      await messaging.cleanup();
    }
  });
});

describe('stream tickets: their own rate limit', () => {
  it('when a trader takes more tickets a minute than allowed, then 429 RATE_LIMITED in the error envelope, and another trader is not affected', async () => {
    const messaging = await testMessaging('gateway-events-ticket-limit');
    const http = createHttpServer({
      log: createLogger({ name: 'gateway', level: 'silent' }),
      metrics: createMetrics('gateway'),
      readiness: readinessOf({ messaging }),
    });
    const config = readGatewayConfig({
      NATS_NAMESPACE: messaging.namespace,
      JWT_SECRET: jwtSecret,
      JWT_ISSUER: issuer,
      JWT_AUDIENCE: audience,
    });
    try {
      await registerAuth(http.app, config);
      await http.app.register(eventRoutes({ messaging, ticketsPerMinute: 2 }), { prefix: '/psp/alfred' });
      const take = (trader: string) =>
        http.app.inject({ method: 'POST', url: '/psp/alfred/events/ticket', headers: { authorization: `Bearer ${tokenFor(trader)}` } });
      expect([(await take('xena-sse')).statusCode, (await take('xena-sse')).statusCode]).toEqual([201, 201]);
      const third = await take('xena-sse');
      expect(third.statusCode).toBe(429);
      expect(third.json()).toMatchObject({
        success: false,
        error: { code: 'RATE_LIMITED', details: { retryAfterSeconds: expect.any(Number) } },
      });
      expect((await take('yuri-sse')).statusCode).toBe(201);
    } finally {
      await http.app.close();
      await messaging.cleanup();
    }
  });
});

describe('resuming with Last-Event-ID', () => {
  let gw: TestGateway;
  let baseUrl: string;
  beforeAll(async () => {
    gw = await startTestGateway();
    baseUrl = await gw.app.http.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => gw?.cleanup());

  it('when notifications arrive, then each event has an id: the notification id, increasing', async () => {
    const lily = connect(baseUrl, tokenFor('lily-sse'));
    await lily.ready;
    const sent = [];
    for (let i = 0; i < 3; i++) sent.push(await notify(gw.messaging, { traderId: 'lily-sse' }));
    await eventually('three events', () => lily.events.length >= 3);
    const ids = lily.events.map((e) => e.id!);
    expect(ids).toEqual(sent.map((n) => n.notificationId));
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
    expect(ids.map((id, i) => JSON.parse(lily.events[i]!.data!).notification_id === id)).toEqual([true, true, true]);
    lily.close();
  });

  it("when the stream drops and N notifications are published, then a reconnect with Last-Event-ID gets exactly those N, in order, once, then live ones; never another trader's", async () => {
    const first = connect(baseUrl, tokenFor('jane-sse'));
    await first.ready;
    const seen = await notify(gw.messaging, { traderId: 'jane-sse', kind: 'withdrawal.processing', status: 'processing' });
    await eventually('the first event', () => first.events.length === 1);
    expect(first.events[0]!.id).toBe(seen.notificationId);
    first.close();

    const missed: InAppNotification[] = [];
    const others: InAppNotification[] = [];
    for (let i = 0; i < 4; i++) {
      missed.push(await notify(gw.messaging, { traderId: 'jane-sse' }));
      others.push(await notify(gw.messaging, { traderId: 'kurt-sse' }));
    }
    const again = connect(baseUrl, tokenFor('jane-sse'), { headers: { 'last-event-id': first.events[0]!.id! } });
    await again.ready;
    expect(again.status).toBe(200);
    await eventually('the missed events', () => again.events.length >= missed.length);
    const live = await notify(gw.messaging, {
      traderId: 'jane-sse',
      kind: 'withdrawal.rejected',
      status: 'rejected',
      restoredMinor: 20_049_116n,
    });
    await eventually('the live event', () => again.events.some((e) => e.id === live.notificationId));
    expect(again.events.map((e) => e.id)).toEqual([...missed, live].map((n) => n.notificationId));
    expect(again.events.map((e) => JSON.parse(e.data!).withdrawal_id)).toEqual([...missed, live].map((n) => n.withdrawalId));
    for (const n of [seen, ...others]) expect(again.body).not.toContain(n.withdrawalId);
    again.close();
  });

  it('when a browser reconnects with a new ticket and ?last_event_id=, then it gets the events it missed', async () => {
    const first = connect(baseUrl, tokenFor('nina-sse'));
    await first.ready;
    const seen = await notify(gw.messaging, { traderId: 'nina-sse' });
    await eventually('the first event', () => first.events.length === 1);
    first.close();
    const missed = [await notify(gw.messaging, { traderId: 'nina-sse' }), await notify(gw.messaging, { traderId: 'nina-sse' })];
    const res = await answerOf(baseUrl, '/psp/alfred/events/ticket', {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenFor('nina-sse')}` },
    });
    const again = connect(baseUrl, null, {
      path: `/psp/alfred/events?ticket=${res.body!.data!.ticket}&last_event_id=${seen.notificationId}`,
    });
    await again.ready;
    expect(again.status).toBe(200);
    await eventually('the missed events', () => again.events.length >= missed.length);
    const live = await notify(gw.messaging, { traderId: 'nina-sse' });
    await eventually('the live event', () => again.events.some((e) => e.id === live.notificationId));
    expect(again.events.map((e) => e.id)).toEqual([...missed, live].map((n) => n.notificationId));
    again.close();
  });

  it("when Last-Event-ID is not one of the trader's kept notifications (too old, or another trader's), then every kept notification of the trader arrives, in order", async () => {
    const kept = [await notify(gw.messaging, { traderId: 'otto-sse' }), await notify(gw.messaging, { traderId: 'otto-sse' })];
    const foreign = await notify(gw.messaging, { traderId: 'pete-sse' });
    for (const lastEventId of [newId(), foreign.notificationId]) {
      const otto = connect(baseUrl, tokenFor('otto-sse'), { headers: { 'last-event-id': lastEventId } });
      await otto.ready;
      expect(otto.status).toBe(200);
      await eventually('the kept notifications', () => otto.events.length >= kept.length);
      // A live one after them shows nothing else was on its way.
      const live = await notify(gw.messaging, { traderId: 'otto-sse' });
      kept.push(live);
      await eventually('the live one', () => otto.events.some((e) => e.id === live.notificationId));
      expect(otto.events.map((e) => e.id)).toEqual(kept.map((n) => n.notificationId));
      expect(otto.body).not.toContain(foreign.withdrawalId);
      otto.close();
    }
  });

  it('when a trader with nothing kept reconnects with Last-Event-ID, then the stream opens and the live ones arrive', async () => {
    const quinn = connect(baseUrl, tokenFor('quinn-sse'), { headers: { 'last-event-id': newId() } });
    await quinn.ready;
    expect(quinn.status).toBe(200);
    const live = await notify(gw.messaging, { traderId: 'quinn-sse' });
    await eventually('the live one', () => quinn.events.length >= 1);
    expect(quinn.events.map((e) => e.id)).toEqual([live.notificationId]);
    quinn.close();
  });

  it('when Last-Event-ID or last_event_id is not an event id, then 400 VALIDATION_ERROR naming it and no stream', async () => {
    const header = await answerOf(baseUrl, '/psp/alfred/events', {
      headers: { authorization: `Bearer ${tokenFor('rita-sse')}`, 'last-event-id': '42' },
    });
    expect(header.status).toBe(400);
    expect(header.body!.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { fields: [{ field: 'Last-Event-ID' }] } });
    const query = await answerOf(baseUrl, '/psp/alfred/events?last_event_id=42', {
      headers: { authorization: `Bearer ${tokenFor('rita-sse')}` },
    });
    expect(query.status).toBe(400);
    expect(query.body!.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { fields: [{ field: 'last_event_id' }] } });
  });

  it('when the notifier publishes the same notification again (same msgID), then the stream keeps it once and a resume delivers it once', async () => {
    const first = connect(baseUrl, tokenFor('sam-sse'));
    await first.ready;
    const seen = await notify(gw.messaging, { traderId: 'sam-sse' });
    await eventually('the first event', () => first.events.length === 1);
    first.close();
    const repeated = await notify(gw.messaging, { traderId: 'sam-sse' });
    await notify(gw.messaging, { ...repeated });
    const stream = gw.messaging.streamName(streams.notifications.name);
    const info = await gw.messaging.jsm.streams.info(stream, { subjects_filter: gw.messaging.wire(inAppSubject('sam-sse')) });
    expect(info.state.subjects).toEqual({ [gw.messaging.wire(inAppSubject('sam-sse'))]: 2 });
    const again = connect(baseUrl, tokenFor('sam-sse'), { headers: { 'last-event-id': seen.notificationId } });
    await again.ready;
    await eventually('the missed event', () => again.events.length >= 1);
    const live = await notify(gw.messaging, { traderId: 'sam-sse' });
    await eventually('the live one', () => again.events.some((e) => e.id === live.notificationId));
    expect(again.events.map((e) => e.id)).toEqual([repeated.notificationId, live.notificationId]);
    again.close();
  });
});

describe('SSE heartbeats and shutdown', () => {
  it('when the stream is idle, then heartbeat comments arrive; when the server closes, then the stream ends and close does not wait on the client', async () => {
    const messaging = await testMessaging('gateway-events-test');
    const config = readGatewayConfig({
      NATS_NAMESPACE: messaging.namespace,
      JWT_SECRET: jwtSecret,
      JWT_ISSUER: issuer,
      JWT_AUDIENCE: audience,
    });
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
