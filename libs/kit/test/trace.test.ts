import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineMessage, defineRpc } from '@offramp/contracts';
import {
  callRpc,
  createHttpServer,
  createLogger,
  createMetrics,
  enqueue,
  inTransaction,
  migrate,
  openDatabase,
  queryRow,
  sendData,
  rpcRoute,
  serveRpcs,
  type Database,
  type RpcServer,
} from '../src/index.ts';
import { testInfra, testMessaging, uniqueName } from '../src/testing.ts';

const echoRpc = defineRpc('rpc.tracing.echo.v1', z.object({ word: z.string() }), z.object({ echoed: z.string(), messageId: z.string() }));
const echoed = defineMessage('evt.tracing.echoed.v1', z.object({ word: z.string() }));

describe('trace id', () => {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ name: 'trace-test', level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  let db: Database;
  let messaging: Awaited<ReturnType<typeof testMessaging>>;
  let rpc: RpcServer;
  const schema = uniqueName('kit_t');

  beforeAll(async () => {
    db = await openDatabase({ url: testInfra().databaseUrl, schema, migrations: [] });
    await migrate(db);
    messaging = await testMessaging('trace-test');
    rpc = serveRpcs({ messaging, log, queue: 'tracing' }, [
      rpcRoute(echoRpc, async (req, ctx) => {
        ctx.log.info({ word: req.word }, 'echoing');
        const envelope = await inTransaction(db, (em) =>
          enqueue(em, echoed, { word: req.word }, { correlationId: req.word, traceId: ctx.traceId }),
        );
        return { echoed: req.word, messageId: envelope.id };
      }),
    ]);
  });
  afterAll(async () => {
    await rpc?.drain();
    await db?.em.fork().execute(`drop schema if exists "${schema}" cascade`);
    await db?.close();
    await messaging?.cleanup();
  });

  it('when an http request carries x-trace-id, then the rpc, the outbox envelope and every log line carry it', async () => {
    const { app } = createHttpServer({ log, metrics: createMetrics('trace-test'), readiness: {} });
    app.post('/echo', async (request, reply) => {
      const body = z.object({ word: z.string() }).parse(request.body);
      return sendData(request, reply, await callRpc(messaging, echoRpc, body, { traceId: request.id }));
    });
    const res = await app.inject({ method: 'POST', url: '/echo', headers: { 'x-trace-id': 'trace-xyz-1' }, payload: { word: 'hi' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ success: true, data: { echoed: 'hi' }, trace_id: 'trace-xyz-1' });

    const row = await queryRow(
      db.em.fork(),
      z.object({ envelope: z.object({ traceId: z.string(), id: z.string() }) }),
      'select envelope from outbox where id = ?',
      [res.json().data.messageId],
    );
    expect(row!.envelope.traceId).toBe('trace-xyz-1');
    const traced = lines.filter((l) => l.traceId === 'trace-xyz-1').map((l) => l.msg);
    expect(traced).toEqual(expect.arrayContaining(['echoing', 'request completed']));
    // The request's one log line (at completion) carries what it was, under the same trace id.
    expect(lines.find((l) => l.traceId === 'trace-xyz-1' && l.msg === 'request completed')).toMatchObject({
      req: { method: 'POST', url: '/echo' },
      res: { statusCode: 200 },
    });
    await app.close();
  });

  it('when the body is invalid, then 400 VALIDATION_ERROR names the field and a 500 never leaks internals', async () => {
    const { app } = createHttpServer({ log, metrics: createMetrics('trace-test'), readiness: {} });
    app.post('/echo', async (request) => z.object({ word: z.string().min(1) }).parse(request.body));
    app.get('/boom', async () => {
      throw new Error('secret internals');
    });
    const bad = await app.inject({ method: 'POST', url: '/echo', payload: { word: 3 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'VALIDATION_ERROR', details: { fields: [{ field: 'word' }] } });
    const boom = await app.inject({ url: '/boom' });
    expect(boom.statusCode).toBe(500);
    expect(boom.json().error).toEqual({ code: 'INTERNAL', message: 'Internal error' });
    expect(boom.body).not.toContain('secret internals');
    await app.close();
  });
});
