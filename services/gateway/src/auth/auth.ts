import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '@offramp/kit';
import type { GatewayConfig } from '../config.ts';

/** Who calls: the JWT `sub`, and whether the token carries the operator role. */
export interface Trader {
  id: string;
  role: 'trader' | 'admin';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `identify` when the bearer token verified; identity never comes from a body or query. */
    trader: Trader | null;
  }
}

/** What a verified token must also satisfy: a sub that is usable as a ledger owner id, an expiry. */
const claims = z.object({
  sub: z.string().regex(/^[A-Za-z0-9:_.@-]{1,200}$/),
  exp: z.number(),
  role: z.string().max(50).optional(),
});

const devTokenTtl = '1h';

/** The verifier is pinned to one algorithm: RS256 when a public key is configured, else HS256. */
export function algorithmOf(config: GatewayConfig): 'RS256' | 'HS256' {
  return config.JWT_PUBLIC_KEY ? 'RS256' : 'HS256';
}

/** Registers @fastify/jwt with the pinned algorithm, issuer, audience and required claims. */
export async function registerAuth(app: FastifyInstance, config: GatewayConfig): Promise<void> {
  const algorithm = algorithmOf(config);
  const key = algorithm === 'RS256' ? { public: config.JWT_PUBLIC_KEY! } : config.JWT_SECRET!;
  await app.register(fastifyJwt, {
    secret: key,
    sign: { algorithm, iss: config.JWT_ISSUER, aud: config.JWT_AUDIENCE, expiresIn: devTokenTtl },
    verify: {
      algorithms: [algorithm],
      allowedIss: config.JWT_ISSUER,
      allowedAud: config.JWT_AUDIENCE,
      requiredClaims: ['exp', 'sub', 'iss', 'aud'],
    },
  });
  app.decorateRequest('trader', null);
}

/**
 * onRequest: verifies the bearer token when there is one and remembers the trader. It never
 * refuses by itself, so that the rate limiter (which runs next) can key on the verified sub and
 * still count requests with bad tokens by IP; `requireTrader` refuses later.
 */
export async function identify(request: FastifyRequest): Promise<void> {
  request.trader = null;
  if (!request.headers.authorization) return;
  try {
    const parsed = claims.safeParse(await request.jwtVerify());
    if (parsed.success) request.trader = { id: parsed.data.sub, role: parsed.data.role === 'admin' ? 'admin' : 'trader' };
  } catch (err) {
    request.log.debug({ reason: (err as { code?: string }).code }, 'bearer token refused');
  }
}

/** preHandler: 401 UNAUTHORIZED unless `identify` found a valid token. */
export async function requireTrader(request: FastifyRequest): Promise<void> {
  if (!request.trader) throw new AppError('UNAUTHORIZED', 'A valid bearer token is required');
}

/** The caller of a route behind `requireTrader`. */
export function traderOf(request: FastifyRequest): Trader {
  if (!request.trader) throw new AppError('UNAUTHORIZED', 'A valid bearer token is required');
  return request.trader;
}

/** A dev token for the playground: HS256, configured issuer and audience, one hour. */
export function signDevToken(app: FastifyInstance, sub: string, role: Trader['role'] | undefined): string {
  return app.jwt.sign(role ? { sub, role } : { sub });
}
