import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { Logger, Messaging } from '@offramp/kit';
import { startTestService, testInfra, testLogger, testMessaging } from '@offramp/kit/testing';
import { buildLedger, openLedgerDatabase, readLedgerConfig } from '@offramp/ledger';
import { buildGateway, readGatewayConfig, type GatewayApp } from '../src/app.ts';
import type { OpenAPIV3_1 } from 'openapi-types';
import { startFakeServices, type FakeServices } from './fake-services.ts';
import { openApiChecker } from '@offramp/kit/testing-openapi';

export const jwtSecret = 'test-secret-that-is-long-enough-0123456789';
export const devSecret = 'dev-secret-0123456789';
export const issuer = 'offramp-test';
export const audience = 'offramp-widget';

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

export type SigningKey = { alg: 'HS256'; secret: string } | { alg: 'RS256'; privateKey: KeyObject } | { alg: 'none' };

/** Signs a JWT by hand, so tests can also make the tokens a real issuer never would. */
export function signJwt(payload: Record<string, unknown>, key: SigningKey = { alg: 'HS256', secret: jwtSecret }): string {
  const input = `${b64({ alg: key.alg, typ: 'JWT' })}.${b64(payload)}`;
  if (key.alg === 'none') return `${input}.`;
  const signature =
    key.alg === 'HS256' ? createHmac('sha256', key.secret).update(input).digest() : sign('sha256', Buffer.from(input), key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

/** Claims a valid token carries; override any of them (undefined removes it). */
export function claims(sub: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const all: Record<string, unknown> = { sub, iss: issuer, aud: audience, iat: now, exp: now + 600, ...extra };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}

export const tokenFor = (sub: string, extra: Record<string, unknown> = {}) => signJwt(claims(sub, extra));

export function rsaKeys() {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export interface TestGateway {
  app: GatewayApp;
  messaging: Messaging;
  fake: FakeServices;
  inject(opts: {
    method?: string;
    url: string;
    token?: string;
    body?: unknown;
    headers?: Record<string, string>;
    /** The client's address as the socket gives it (default 127.0.0.1). */
    remoteAddress?: string;
  }): Promise<Awaited<ReturnType<GatewayApp['http']['app']['inject']>>>;
  cleanup(): Promise<void>;
}

/**
 * A gateway on its own NATS namespace with the fake psp-alfred and sessions responders; `env`
 * overrides the test configuration. Pass `messaging` to share a namespace (with a real ledger), `log`
 * to read what the gateway logs.
 */
export async function startTestGateway(
  opts: { env?: Record<string, string>; messaging?: Messaging; log?: Logger } = {},
): Promise<TestGateway> {
  const own = opts.messaging ? null : await testMessaging('gateway-test');
  const messaging = opts.messaging ?? own!;
  const config = readGatewayConfig({
    NATS_URL: testInfra().natsUrl,
    NATS_NAMESPACE: messaging.namespace,
    JWT_SECRET: jwtSecret,
    JWT_ISSUER: issuer,
    JWT_AUDIENCE: audience,
    DEV_ENDPOINTS: 'true',
    DEV_SECRET: devSecret,
    RATE_LIMIT_MAX: '1000',
    RATE_LIMIT_ANON_MAX: '1000',
    RPC_TIMEOUT_MS: '2000',
    // The single-operator answers; the four-eyes e2e test (tools/e2e) turns four-eyes on.
    FOUR_EYES: 'false',
    ...opts.env,
  });
  const app = await buildGateway({ config, messaging, log: opts.log ?? testLogger('gateway') });
  const fake = startFakeServices(messaging);
  // Every answer these tests get is checked against the OpenAPI document the gateway serves.
  const conforms = openApiChecker(app.http.app.swagger() as OpenAPIV3_1.Document);
  return {
    app,
    messaging,
    fake,
    async inject({ method = 'GET', url, token, body, headers = {}, remoteAddress }) {
      const res = await app.http.app.inject({
        method: method as 'GET',
        url,
        ...(remoteAddress ? { remoteAddress } : {}),
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
        ...(body === undefined ? {} : { payload: body as object }),
      });
      const mismatch = conforms(method, url, res);
      if (mismatch) throw new Error(`The answer disagrees with the OpenAPI document: ${mismatch}`);
      return res;
    },
    async cleanup() {
      await app.close();
      await fake.stop();
      await own?.cleanup();
    },
  };
}

/** A real ledger in-process on its own schema and NATS namespace, serving QA funding; share its `messaging` with the gateway. */
export const startTestLedger = () =>
  startTestService({
    name: 'ledger',
    readConfig: readLedgerConfig,
    env: { DB_POOL_MAX: '4', DEV_RPCS: 'true' },
    openDatabase: openLedgerDatabase,
    build: buildLedger,
  });

/**
 * A gateway for a describe block, with fake responders of the block's own started on its NATS:
 * both reset before each test and stopped after the block. Tests read `.gw` and `.fakes`.
 */
export function useGatewayWithFakes<F extends { reset(): void; stop(): Promise<void> }>(start: (messaging: Messaging) => F) {
  const ctx = {} as { gw: TestGateway; fakes: F };
  beforeAll(async () => {
    ctx.gw = await startTestGateway();
    ctx.fakes = start(ctx.gw.messaging);
  });
  afterAll(async () => {
    await ctx.fakes?.stop();
    await ctx.gw?.cleanup();
  });
  beforeEach(() => {
    ctx.gw.fake.reset();
    ctx.fakes.reset();
  });
  return ctx;
}
