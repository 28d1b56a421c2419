import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@offramp/kit/testing';
import { startTestGateway, tokenFor, type TestGateway } from './harness.ts';

/** The value of the sample `name{labels}` the gateway's /metrics serves (undefined when absent). */
async function sample(gw: TestGateway, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = (await gw.app.http.app.inject({ url: '/metrics' })).body;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** Opens the trader's event stream over real HTTP; resolves once the 200 arrived. */
function openStream(url: string, token: string): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/psp/alfred/events`, { headers: { authorization: `Bearer ${token}` } });
    req.once('error', reject);
    req.once('response', (res) => {
      res.resume();
      resolve({ req, res });
    });
    req.end();
  });
}

describe('gateway metrics: open event streams', () => {
  let gw: TestGateway;
  let url: string;
  beforeAll(async () => {
    gw = await startTestGateway();
    url = await gw.app.http.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => gw?.cleanup());

  it('when traders hold streams open, then event_streams_open counts them, and a closed stream leaves it', async () => {
    expect(await sample(gw, 'event_streams_open')).toBe(0);
    const first = await openStream(url, tokenFor('streams-a'));
    const second = await openStream(url, tokenFor('streams-b'));
    expect([first.res.statusCode, second.res.statusCode]).toEqual([200, 200]);
    expect(await sample(gw, 'event_streams_open')).toBe(2);

    first.req.destroy();
    await eventually('one stream left open', async () => (await sample(gw, 'event_streams_open')) === 1);
    second.req.destroy();
    await eventually('no stream left open', async () => (await sample(gw, 'event_streams_open')) === 0);
  });

  it('when a stream is refused before it opens, then the refusal is counted under the route pattern with its status', async () => {
    const before = (await sample(gw, 'http_request_duration_seconds_count', { route: '/psp/alfred/events', status_code: '401' })) ?? 0;
    const refused = await gw.inject({ url: '/psp/alfred/events' });
    expect(refused.statusCode).toBe(401);
    expect(
      await sample(gw, 'http_request_duration_seconds_count', { method: 'GET', route: '/psp/alfred/events', status_code: '401' }),
    ).toBe(before + 1);
  });
});
