import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHttpServer,
  createLogger,
  createMetrics,
  isExactNumber,
  parseExactJson,
  redactUrl,
  sendData,
  type HttpServer,
} from '../src/index.ts';
import { eventually } from '../src/testing.ts';

/** Sends raw bytes over TCP and reads until the server closes: what Node's HTTP parser sees, unlike `inject`. */
function rawRequest(port: number, bytes: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
    socket.write(bytes);
  });
}

describe('exact JSON numbers', () => {
  const refused: [string, string][] = [
    ['2^53 + 1', '9007199254740993'],
    ['2^53 (its neighbour 2^53 + 1 reads as the same double)', '9007199254740992'],
    ['-(2^53 + 1)', '-9007199254740993'],
    ['a decimal more precise than a double', '0.1000000000000000000001'],
    ['a long fraction that rounds', '1.00000000000000000001'],
    ['a number past the double range', '1e400'],
    ['a number that underflows to zero', '1e-400'],
    ['an integer written with an exponent past 2^53', '1e21'],
  ];
  for (const [what, text] of refused) {
    it(`when a body holds ${what} (${text}), then it is refused naming the field`, () => {
      expect(isExactNumber(text, JSON.parse(text))).toBe(false);
      expect(() => parseExactJson(`{"a":{"b":[1,{"c":${text}}]}}`)).toThrow(
        expect.objectContaining({
          code: 'VALIDATION_ERROR',
          statusCode: 400,
          details: { fields: [{ field: 'a.b.1.c', message: expect.stringMatching(/exactly/) }] },
        }),
      );
    });
  }

  const accepted: [string, string, number][] = [
    ['a small integer', '50', 50],
    ['2^53 - 1', '9007199254740991', 9007199254740991],
    ['-(2^53 - 1)', '-9007199254740991', -9007199254740991],
    ['0.1 (as a double prints it)', '0.1', 0.1],
    ['a decimal with trailing zeros', '50.00', 50],
    ['an exponent form', '1.5E2', 150],
    ['a small exponent', '2.5e-7', 2.5e-7],
    ['minus zero', '-0', -0],
    ['float noise written in full', '0.30000000000000004', 0.30000000000000004],
  ];
  for (const [what, text, value] of accepted) {
    it(`when a body holds ${what} (${text}), then it parses to the same value`, () => {
      expect(parseExactJson(`{"n":${text}}`)).toEqual({ n: value });
    });
  }

  it('when several numbers are inexact, then each field is named once; strings are never touched', () => {
    const text = '{"amount":"9007199254740993.123456789","x":9007199254740993,"list":[0.1000000000000000000001,1]}';
    expect(() => parseExactJson(text)).toThrow(
      expect.objectContaining({
        details: { fields: [expect.objectContaining({ field: 'x' }), expect.objectContaining({ field: 'list.0' })] },
      }),
    );
    expect(parseExactJson('{"amount":"9007199254740993.123456789"}')).toEqual({ amount: '9007199254740993.123456789' });
  });

  it('when the body is a bare inexact number, then the field is (body)', () => {
    expect(() => parseExactJson('9007199254740993')).toThrow(
      expect.objectContaining({ details: { fields: [expect.objectContaining({ field: '(body)' })] } }),
    );
  });

  it('when the body carries __proto__ or constructor.prototype, then it is refused as Fastify refuses it', () => {
    for (const text of [
      '{"__proto__":{"admin":true}}',
      '{"a":{"\\u005f_proto__":{"x":1}}}',
      '{"constructor":{"prototype":{"admin":true}}}',
    ]) {
      expect(() => parseExactJson(text), text).toThrow(
        expect.objectContaining({ code: 'VALIDATION_ERROR', message: expect.stringMatching(/prototype/) }),
      );
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('when the body is not JSON, then VALIDATION_ERROR', () => {
    expect(() => parseExactJson('{"a":')).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR', message: 'The body is not valid JSON' }),
    );
  });
});

describe('redactUrl', () => {
  it('when a URL has a query, then the path stays and every value is replaced', () => {
    expect(redactUrl('/events?ticket=abc&page=2')).toBe('/events?ticket=[redacted]&page=[redacted]');
    expect(redactUrl('/x?secret-without-equals&a=')).toBe('/x?[redacted]&a=[redacted]');
    expect(redactUrl('/plain/path')).toBe('/plain/path');
    expect(redactUrl('/x?')).toBe('/x?');
  });
});

describe('HTTP surface hygiene over a real socket', () => {
  const lines: string[] = [];
  const log = createLogger({ name: 'hygiene-test', level: 'trace', destination: { write: (s: string) => void lines.push(s) } });
  let http: HttpServer;
  let port: number;

  beforeAll(async () => {
    http = createHttpServer({ log, metrics: createMetrics('hygiene_test'), readiness: {}, bodyLimit: 1024 });
    http.app.post('/echo', async (request, reply) => sendData(request, reply, { body: request.body }));
    const address = await http.app.listen({ port: 0, host: '127.0.0.1' });
    port = Number(new URL(address).port);
  });
  afterAll(async () => http?.app.close());

  const post = (body: string) =>
    fetch(`http://127.0.0.1:${port}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('when a body holds 2^53 + 1, then 400 VALIDATION_ERROR names the field and nothing is rounded', async () => {
    const res = await post('{"data":{"amount":9007199254740993}}');
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body).toMatchObject({
      success: false,
      error: { code: 'VALIDATION_ERROR', details: { fields: [{ field: 'data.amount' }] } },
      trace_id: expect.any(String),
    });
  });

  it('when a body holds a decimal string and small numbers, then they arrive as sent', async () => {
    const res = await post('{"amount":"9007199254740993.50","n":42,"f":0.25,"charset":true}');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: { body: unknown } }).data.body).toEqual({
      amount: '9007199254740993.50',
      n: 42,
      f: 0.25,
      charset: true,
    });
    const withCharset = await fetch(`http://127.0.0.1:${port}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: '{"x":9007199254740993}',
    });
    expect(withCharset.status).toBe(400);
  });

  it('when an unknown route is asked with a query, then the 404 names the path and never echoes the query', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/nowhere?ticket=secret-ticket-value`);
    expect(res.status).toBe(404);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ success: false, error: { code: 'NOT_FOUND', message: 'Route GET /nowhere not found' } });
    expect(text).not.toContain('secret-ticket-value');
  });

  it('when a JSON body is empty, then 400 VALIDATION_ERROR in the envelope', async () => {
    const res = await post('');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR' } });
  });

  it('when the body is over the limit, then 413 PAYLOAD_TOO_LARGE in the envelope', async () => {
    const res = await post(JSON.stringify({ note: 'x'.repeat(2048) }));
    expect(res.status).toBe(413);
    const body = await res.json();
    expect(body).toEqual({
      success: false,
      error: { code: 'PAYLOAD_TOO_LARGE', message: 'The body is larger than the 1024 bytes allowed' },
      trace_id: res.headers.get('x-trace-id'),
    });
  });

  it("when the headers are over the limit, then 431 HEADERS_TOO_LARGE in the envelope from Node's parser", async () => {
    const res = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
    expect(res.status).toBe(431);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(res.body);
    expect(body).toEqual({
      success: false,
      error: { code: 'HEADERS_TOO_LARGE', message: expect.any(String) },
      trace_id: res.headers['x-trace-id'],
    });
    expect(Buffer.byteLength(res.body)).toBe(Number(res.headers['content-length']));
  });

  it('when the request is not HTTP, then 400 VALIDATION_ERROR in the envelope', async () => {
    const res = await rawRequest(port, 'NOT HTTP AT ALL\r\n\r\n');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({
      success: false,
      error: { code: 'VALIDATION_ERROR' },
      trace_id: res.headers['x-trace-id'],
    });
  });

  it('when a URL carries ?token= and ?ticket=, then no log line holds them and the request is still logged', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz?token=secret-value&ticket=another-secret`, {
      headers: { 'x-trace-id': 'hygiene-query-1' },
    });
    expect(res.status).toBe(200);
    const mine = await eventually('the request completed line', () => {
      const own = lines.filter((l) => l.includes('hygiene-query-1'));
      return own.some((l) => l.includes('request completed')) ? own : undefined;
    });
    // One line per request, at completion: it carries the request (method, redacted URL) and its status.
    const completed = mine.map((l) => JSON.parse(l)).find((l) => l.msg === 'request completed');
    expect(completed.req).toMatchObject({ method: 'GET', url: '/healthz?token=[redacted]&ticket=[redacted]' });
    expect(completed.res).toMatchObject({ statusCode: 200 });
    for (const line of lines) {
      expect(line).not.toContain('secret-value');
      expect(line).not.toContain('another-secret');
    }
  });
});
