import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes as fastifyErrors } from 'fastify';
import { errorCatalogue, type ErrorCode } from '@offramp/contracts';
import { createHttpServer, createLogger, createMetrics, sendData, type HttpServer } from '../src/index.ts';

const log = createLogger({ name: 'http-errors-test', level: 'silent' });

/** An error as a plugin raises it: a plain Error with a status, not an AppError. */
const pluginError = (statusCode: number, message: string) => Object.assign(new Error(message), { statusCode });

describe('client errors keep their own status and code', () => {
  let http: HttpServer;
  let port: number;
  let thrown: unknown;

  beforeAll(async () => {
    http = createHttpServer({ log, metrics: createMetrics('http_errors_test'), readiness: {} });
    http.app.get('/throw', async () => {
      throw thrown;
    });
    http.app.post(
      '/items/:id',
      { schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } } },
      async (request, reply) => sendData(request, reply, { body: request.body }),
    );
    const address = await http.app.listen({ port: 0, host: '127.0.0.1' });
    port = Number(new URL(address).port);
  });
  afterAll(async () => http?.app.close());

  const answerTo = async (err: unknown) => {
    thrown = err;
    const res = await http.app.inject({ url: '/throw' });
    return { status: res.statusCode, body: res.json() };
  };

  it("when Fastify raises any of its own client errors, then the answer has that status and the catalogue's code of that status", async () => {
    const clientErrors = Object.entries(fastifyErrors)
      .map(([name, make]) => ({ name, err: new (make as new (...a: string[]) => Error & { statusCode: number })('a', 'b', 'c') }))
      .filter(({ err }) => err.statusCode >= 400 && err.statusCode < 500);
    expect(clientErrors.map((e) => e.err.statusCode)).toEqual(expect.arrayContaining([400, 404, 413, 414, 415]));
    for (const { name, err } of clientErrors) {
      const { status, body } = await answerTo(err);
      expect(status, name).toBe(err.statusCode);
      expect(body.success, name).toBe(false);
      const code = body.error.code as ErrorCode;
      expect(code, name).not.toBe('REQUEST_REFUSED');
      expect(errorCatalogue[code].status, `${name} answered ${code}`).toBe(err.statusCode);
    }
  });

  const byStatus: [number, ErrorCode][] = [
    [400, 'VALIDATION_ERROR'],
    [401, 'UNAUTHORIZED'],
    [403, 'FORBIDDEN'],
    [404, 'NOT_FOUND'],
    [413, 'PAYLOAD_TOO_LARGE'],
    [414, 'URI_TOO_LONG'],
    [415, 'UNSUPPORTED_MEDIA_TYPE'],
    [429, 'RATE_LIMITED'],
  ];
  for (const [status, code] of byStatus) {
    it(`when a plugin raises ${status}, then the answer is ${status} ${code}`, async () => {
      expect(await answerTo(pluginError(status, 'refused by a plugin'))).toMatchObject({
        status,
        body: { success: false, error: { code } },
      });
    });
  }

  it('when a plugin raises a 4xx no code names (405, 409, 418), then it keeps its status as REQUEST_REFUSED with its message', async () => {
    for (const status of [405, 409, 418]) {
      expect(await answerTo(pluginError(status, `refused with ${status}`))).toMatchObject({
        status,
        body: { success: false, error: { code: 'REQUEST_REFUSED', message: `refused with ${status}` } },
      });
    }
  });

  it('when a body fails the route schema, then 400 VALIDATION_ERROR names the field', async () => {
    const res = await http.app.inject({ method: 'POST', url: '/items/1', payload: { other: 1 } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: { code: 'VALIDATION_ERROR', details: { fields: [{ field: 'name', message: 'is required' }] } },
    });
  });

  it('when a body comes in a content type no route parses, then 415 UNSUPPORTED_MEDIA_TYPE in the envelope', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/items/1`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<name>x</name>',
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({
      success: false,
      error: { code: 'UNSUPPORTED_MEDIA_TYPE' },
      trace_id: res.headers.get('x-trace-id'),
    });
  });

  it('when a path parameter is over the router limit, then 414 URI_TOO_LONG in the envelope, the path not echoed', async () => {
    const long = `secret${'a'.repeat(200)}`;
    const res = await fetch(`http://127.0.0.1:${port}/items/${long}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"x"}',
    });
    expect(res.status).toBe(414);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      success: false,
      error: { code: 'URI_TOO_LONG', message: expect.any(String) },
      trace_id: res.headers.get('x-trace-id'),
    });
    expect(text).not.toContain(long);
  });

  it('when the URL is malformed, then 400 VALIDATION_ERROR in the envelope with a trace id', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/items/%zz`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"x"}',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      success: false,
      error: { code: 'VALIDATION_ERROR', message: 'The URL is malformed' },
      trace_id: res.headers.get('x-trace-id'),
    });
  });
});

describe('/readyz names what is not ready', () => {
  const failing = async () => {
    throw new Error('connection refused');
  };
  const serverWith = (readiness: Record<string, () => Promise<void>>) =>
    createHttpServer({ log, metrics: createMetrics('readyz_test'), readiness });

  it('when every check passes, then 200 ready with each check ok', async () => {
    const { app } = serverWith({ database: async () => {}, nats: async () => {} });
    const res = await app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ success: true, data: { status: 'ready', checks: { database: 'ok', nats: 'ok' } } });
    await app.close();
  });

  it('when the database is down, then 503 NOT_READY whose message and details name the database, NATS ok', async () => {
    const { app } = serverWith({ database: failing, nats: async () => {} });
    const res = await app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({
      success: false,
      error: { code: 'NOT_READY', message: 'Not ready: database down', details: { checks: { database: 'down', nats: 'ok' } } },
    });
    await app.close();
  });

  it('when both are down, then both are named', async () => {
    const { app } = serverWith({ database: failing, nats: failing });
    expect((await app.inject({ url: '/readyz' })).json().error).toMatchObject({
      code: 'NOT_READY',
      message: 'Not ready: database down, nats down',
      details: { checks: { database: 'down', nats: 'down' } },
    });
    await app.close();
  });

  it('when the service drains, then 503 NOT_READY names draining while the checks still pass', async () => {
    const http = serverWith({ nats: async () => {} });
    http.setDraining();
    const res = await http.app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toEqual({
      code: 'NOT_READY',
      message: 'Not ready: draining',
      details: { checks: { nats: 'ok', draining: 'yes' } },
    });
    await http.app.close();
  });
});
