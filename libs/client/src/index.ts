import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './gateway.d.ts';

export type { components, operations, paths } from './gateway.d.ts';

/** A client of the gateway's API: `client.GET('/psp/alfred/balances')`, typed path, params, body and answers. */
export type GatewayClient = Client<paths>;

export interface GatewayClientOptions {
  /** Where the gateway is, e.g. `https://api.example.com` (the paths carry `/psp/alfred` and `/api/admin`). */
  baseUrl: string;
  /** The trader's (or operator's) JWT, sent as `Authorization: Bearer …`; a function is asked on every request. */
  token?: string | (() => string | undefined);
  /** More headers on every request (e.g. `X-Dev-Secret` for the QA routes). */
  headers?: Record<string, string>;
  /** Another fetch (a test's, or a polyfill); the global one by default. */
  fetch?: (input: Request) => Promise<Response>;
}

/**
 * The typed client: openapi-fetch over the types that openapi-typescript generated from
 * `docs/openapi/gateway.json`, with the base URL and the bearer token set once. Answers are
 * `{ data, error, response }`: `data` is the 2xx body, `error` the documented error envelope.
 * Plain ES module apart from its types, so a browser can load it with type stripping and an import
 * map for `openapi-fetch`.
 */
export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const { token } = options;
  if (token !== undefined) {
    client.use({
      onRequest({ request }) {
        const value = typeof token === 'function' ? token() : token;
        if (value) request.headers.set('authorization', `Bearer ${value}`);
        return request;
      },
    });
  }
  return client;
}
