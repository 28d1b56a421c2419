import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineMessage, defineRpc, eventSubject, rpcSubject, streams, type Envelope } from '@offramp/contracts';
import {
  baseConfig,
  enqueue,
  inTransaction,
  loadConfig,
  newId,
  on,
  openDatabase,
  rpcRoute,
  startService,
  type Cause,
  type ServiceDeps,
} from '../src/index.ts';
import { eventually, readStream, startTestService } from '../src/testing.ts';

const ping = defineMessage(eventSubject('kit-service-test', 'ping'), z.object({ n: z.number().int() }));
const pong = defineMessage(eventSubject('kit-service-test', 'pong'), z.object({ n: z.number().int() }));
const bye = defineMessage(eventSubject('kit-service-test', 'bye'), z.object({ from: z.string() }));
const hold = defineRpc(rpcSubject('kit-service-test', 'hold'), z.object({}), z.object({ held: z.literal(true) }));

const testConfig = baseConfig.extend({ PORT: z.coerce.number().int().default(0), DB_SCHEMA: z.string() });
type TestConfig = z.infer<typeof testConfig>;

/** What the tiny service saw: each handled message's context, and whether the rpc is held. */
interface Seen {
  handled: { envelope: Envelope<{ n: number }>; cause: Cause; logTraceId: unknown }[];
  rpcHeld: boolean;
}

/**
 * A tiny service on the kit's skeleton: a consumer of `ping` that answers `pong` through the outbox;
 * an rpc that holds until the test releases it; a loop that writes `bye` to the outbox when stopped
 * (and wakes nobody: only the relay's final drain can publish it).
 */
function tinyService(seen: Seen, gate: Promise<void>) {
  return (deps: ServiceDeps<TestConfig>) =>
    startService('kit-service-test', deps, () => ({
      rpcs: [
        rpcRoute(hold, async () => {
          seen.rpcHeld = true;
          await gate;
          return { held: true as const };
        }),
      ],
      consumers: [
        {
          name: 'kit-service-test-pings',
          stream: 'EVENTS',
          filterSubject: 'evt.kit-service-test.ping.>',
          handlers: [
            on(ping, async ({ em, envelope, log, cause }) => {
              seen.handled.push({
                envelope,
                cause,
                logTraceId: (log as unknown as { bindings(): Record<string, unknown> }).bindings().traceId,
              });
              await enqueue(em, pong, { n: envelope.payload.n }, cause);
            }),
          ],
        },
      ],
      loops: [
        {
          stop: () =>
            inTransaction(deps.db, (em) =>
              enqueue(em, bye, { from: 'loop' }, { correlationId: 'bye', traceId: newId() }).then(() => undefined),
            ),
        },
      ],
    }));
}

describe('startService', () => {
  const seen: Seen = { handled: [], rpcHeld: false };
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let svc: Awaited<ReturnType<typeof start>>;
  const start = () =>
    startTestService({
      name: 'kit-service',
      readConfig: (env) => loadConfig(testConfig, env),
      openDatabase: (c: TestConfig) => openDatabase({ url: c.DATABASE_URL, schema: c.DB_SCHEMA, migrations: [], poolMax: 4 }),
      build: tinyService(seen, gate),
      // The relay's timer never fires during the test: what gets published was woken (or drained at stop).
      hooks: { relay: { pollMs: 600_000 } },
    });

  beforeAll(async () => {
    svc = await start();
  });
  afterAll(async () => {
    release();
    await svc?.cleanup();
  });

  /** Writes a ping to the outbox as another part of the system would, and wakes the relay. */
  const sendPing = async (n: number, cause: Cause) => {
    const envelope = await inTransaction(svc.db, (em) => enqueue(em, ping, { n }, cause));
    svc.app.relay.wake();
    return envelope;
  };
  const published = (subject: string) => readStream(svc.messaging, streams.events.name, subject);

  it("when a message is consumed, then its handler gets { em, envelope, log, cause } with the message's correlation and trace, caused by it, and what it enqueued is published at once (the relay woken)", async () => {
    const sent = await sendPing(1, { correlationId: 'corr-1', traceId: 'trace-1' });
    const handled = await eventually('the ping handled', () => seen.handled.find((h) => h.envelope.id === sent.id));
    expect(handled.envelope).toMatchObject({ id: sent.id, correlationId: 'corr-1', traceId: 'trace-1', payload: { n: 1 } });
    expect(handled.cause).toEqual({ correlationId: 'corr-1', causationId: sent.id, traceId: 'trace-1' });
    expect(handled.logTraceId).toBe('trace-1');
    // The relay polls every 10 minutes here: the pong is out because the commit woke it.
    const pongs = await eventually('the pong published', async () => {
      const out = await published(pong.subject);
      return out.length > 0 ? out : undefined;
    });
    expect(pongs.map((m) => m.data)).toEqual([
      expect.objectContaining({ correlationId: 'corr-1', causationId: sent.id, traceId: 'trace-1', payload: { n: 1 } }),
    ]);
  });

  it('when it closes, then rpcs drain before consumers stop, loops stop before the relay (what a loop writes on stop is published), and close is idempotent', async () => {
    const answer = svc.call(hold, {});
    await eventually('the rpc in hand', () => seen.rpcHeld);
    const closing = svc.app.close();
    expect(svc.app.close()).toBe(closing);
    expect((await svc.app.http.app.inject({ url: '/readyz' })).json()).toMatchObject({
      error: { code: 'NOT_READY', details: { checks: { draining: 'yes' } } },
    });

    // The rpc is still draining: the consumers are still running, so a message sent now is handled.
    const during = await sendPing(2, { correlationId: 'corr-2', traceId: 'trace-2' });
    await eventually('a ping handled while the rpc drains', () => seen.handled.some((h) => h.envelope.id === during.id));

    release();
    expect(await answer).toEqual({ held: true });
    await closing;
    // The loop wrote `bye` on stop and woke nobody: only the relay's last drain, after the loops, published it.
    expect((await published(bye.subject)).map((m) => m.data)).toEqual([expect.objectContaining({ payload: { from: 'loop' } })]);
    const [unsent] = await svc.rows(z.object({ n: z.number() }), 'select count(*)::int as n from outbox where sent_at is null');
    expect(unsent).toEqual({ n: 0 });

    // Closed is closed: closing again is the same close, already done.
    expect(svc.app.close()).toBe(closing);
    await svc.app.close();
  });
});

describe('startService, when a part fails to start', () => {
  it('then what had started is stopped (no rpc left answering) and the error is thrown', async () => {
    const svc = await startTestService({
      name: 'kit-service-fail',
      readConfig: (env) => loadConfig(testConfig, env),
      openDatabase: (c: TestConfig) => openDatabase({ url: c.DATABASE_URL, schema: c.DB_SCHEMA, migrations: [], poolMax: 2 }),
      build: (deps: ServiceDeps<TestConfig>) => startService('kit-service-fail', deps, () => ({})),
    });
    try {
      const failing = startService('kit-service-fail', { config: svc.config, db: svc.db, messaging: svc.messaging, log: svc.log }, () => ({
        rpcs: [rpcRoute(hold, async () => ({ held: true as const }))],
        http: () => {
          throw new Error('route registration failed');
        },
      }));
      await expect(failing).rejects.toThrow('route registration failed');
      // The failed start's rpc server was drained: only a live one would answer.
      await expect(svc.call(hold, {})).rejects.toMatchObject({ code: 'NO_RESPONDERS' });
    } finally {
      await svc.cleanup();
    }
  });
});
