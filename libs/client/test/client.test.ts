import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createGatewayClient } from '../src/index.ts';
import { generateGatewayTypes, typesPath } from '../src/generate.ts';

describe('@offramp/client', () => {
  it('when the committed types are compared with what openapi-typescript makes of docs/openapi/gateway.json, then they are the same (else: npm run client:generate)', async () => {
    const committed = readFileSync(typesPath, 'utf8');
    const fresh = await generateGatewayTypes();
    expect(
      committed === fresh,
      'libs/client/src/gateway.d.ts is not what docs/openapi/gateway.json generates: run `npm run client:generate` and commit it',
    ).toBe(true);
    expect(committed).toContain('"/psp/alfred/initiate-withdrawal"');
  });

  it('when a request is made, then it goes to the base URL with the bearer token (a function is asked each time) and the extra headers, its body as JSON', async () => {
    const sent: Request[] = [];
    const answer = {
      success: true,
      data: {
        withdrawal_id: '0197a3c2-0000-7000-8000-0000000000a1',
        status: 'pending',
        debited: { amount: '20.049116', currency: 'USDT' },
      },
      trace_id: 't',
    };
    let token = 'first-token';
    const client = createGatewayClient({
      baseUrl: 'https://gateway.example.test/',
      token: () => token,
      headers: { 'x-dev-secret': 'qa' },
      fetch: async (request) => {
        sent.push(request);
        return new Response(JSON.stringify(answer), { status: 200, headers: { 'content-type': 'application/json' } });
      },
    });
    const { data, error } = await client.POST('/psp/alfred/initiate-withdrawal', { body: { session_id: 'session-1' } });
    expect(error).toBeUndefined();
    expect(data?.data.status).toBe('pending');
    token = 'second-token';
    await client.GET('/psp/alfred/withdrawals/{id}', { params: { path: { id: '0197a3c2-0000-7000-8000-0000000000a1' } } });

    expect(sent.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST https://gateway.example.test/psp/alfred/initiate-withdrawal',
      'GET https://gateway.example.test/psp/alfred/withdrawals/0197a3c2-0000-7000-8000-0000000000a1',
    ]);
    expect(sent.map((r) => r.headers.get('authorization'))).toEqual(['Bearer first-token', 'Bearer second-token']);
    expect(sent.every((r) => r.headers.get('x-dev-secret') === 'qa')).toBe(true);
    expect(await sent[0]!.json()).toEqual({ session_id: 'session-1' });
  });

  it('when no token is given, then no Authorization header is sent; an error answer comes back as `error`', async () => {
    const sent: Request[] = [];
    const client = createGatewayClient({
      baseUrl: 'https://gateway.example.test',
      fetch: async (request) => {
        sent.push(request);
        return new Response(
          JSON.stringify({ success: false, error: { code: 'UNAUTHORIZED', message: 'Missing bearer token' }, trace_id: 't' }),
          { status: 401, headers: { 'content-type': 'application/json' } },
        );
      },
    });
    const { data, error, response } = await client.GET('/psp/alfred/balances');
    expect(sent[0]!.headers.has('authorization')).toBe(false);
    expect(data).toBeUndefined();
    expect(response.status).toBe(401);
    expect(error?.error.code).toBe('UNAUTHORIZED');
  });
});
