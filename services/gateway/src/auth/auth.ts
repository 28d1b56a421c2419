import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '@offramp/kit';
import type { GatewayConfig } from '../config.ts';
import { jwksKeys } from './jwks.ts';

/** Who calls: the JWT `sub`, and whether the token carries the operator role. */
export interface Trader {
  id: string;
  role: 'trader' | 'admin';
}

/** The time rules a verified token must also meet (from the configuration, in seconds). */
export interface TokenRules {
  maxLifetimeSeconds: number;
  adminMaxLifetimeSeconds: number;
  clockSkewSeconds: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `identify` when the bearer token verified; identity never comes from a body or query. */
    trader: Trader | null;
    /** Why `identify` refused the bearer token, for the 401's message; null when none was sent or it verified. */
    authFailure: string | null;
  }
  interface FastifyInstance {
    tokenRules: TokenRules;
    /** Authorization headers that verified (null with a JWKS, whose keys can be withdrawn). */
    verifiedTokens: VerifiedTokens | null;
  }
}

/**
 * What a verified token must also satisfy: a sub that is usable as a ledger owner id, an expiry
 * and an issue time (NumericDate: seconds, fractions allowed).
 */
const claims = z.object({
  sub: z.string().regex(/^[A-Za-z0-9:_.@-]{1,200}$/),
  exp: z.number().finite(),
  iat: z.number().finite(),
  nbf: z.number().finite().optional(),
  role: z.string().max(50).optional(),
});

type Claims = z.infer<typeof claims>;

/**
 * The claims of bearer tokens that verified, by the whole Authorization header: a widget sends the
 * same token with every request, and verifying it again (the plugin's option merging, decoding, the
 * HMAC or RSA check) was the largest cost of a request in the gateway itself. With a fixed key the
 * same header always verifies the same way, except for time: an entry is used only until the
 * token's `exp` (the verifier's own check, no tolerance; after it the header is verified again and
 * refused with the verifier's message), and the time rules are checked on every request. At most
 * `limit` headers; the oldest go first.
 */
export class VerifiedTokens {
  readonly #entries = new Map<string, Claims>();
  readonly #limit: number;
  constructor(limit = 10_000) {
    this.#limit = limit;
  }
  get(header: string, nowMs: number): Claims | undefined {
    const entry = this.#entries.get(header);
    if (entry && nowMs <= entry.exp * 1000) return entry;
    if (entry) this.#entries.delete(header);
    return undefined;
  }
  set(header: string, token: Claims): void {
    this.#entries.set(header, token);
    if (this.#entries.size > this.#limit) this.#entries.delete(this.#entries.keys().next().value!);
  }
}

/** Dev tokens live one hour, or less when the configured maximum is shorter. */
const devTokenSeconds = (config: GatewayConfig) => Math.min(3600, config.JWT_MAX_LIFETIME_SECONDS);

export function tokenRulesOf(config: GatewayConfig): TokenRules {
  return {
    maxLifetimeSeconds: config.JWT_MAX_LIFETIME_SECONDS,
    adminMaxLifetimeSeconds: config.JWT_ADMIN_MAX_LIFETIME_SECONDS,
    clockSkewSeconds: config.JWT_CLOCK_SKEW_SECONDS,
  };
}

/**
 * The time rules beyond what the verifier checks (signature, algorithm, issuer, audience, `exp`
 * against our clock with no tolerance): `exp` after `iat` and at most the role's maximum
 * lifetime after it; `iat` and `nbf` no further ahead of our clock than the allowed skew.
 * Returns why the token is refused, or null.
 */
export function timeRuleBroken(token: Claims, rules: TokenRules, nowSeconds: number): string | null {
  const admin = token.role === 'admin';
  const max = admin ? rules.adminMaxLifetimeSeconds : rules.maxLifetimeSeconds;
  if (token.exp <= token.iat) return 'The bearer token expires before it was issued (exp must be after iat)';
  if (token.exp - token.iat > max) {
    return `The bearer token lives ${token.exp - token.iat} s (exp - iat); at most ${max} s is allowed for ${admin ? 'an operator' : 'a trader'}`;
  }
  if (token.iat > nowSeconds + rules.clockSkewSeconds) {
    return `The bearer token was issued in the future (iat is more than the ${rules.clockSkewSeconds} s clock skew allowed ahead of the server's clock)`;
  }
  if (token.nbf !== undefined && token.nbf > nowSeconds + rules.clockSkewSeconds) {
    return `The bearer token is not valid yet (nbf is more than the ${rules.clockSkewSeconds} s clock skew allowed ahead of the server's clock)`;
  }
  return null;
}

/** The verifier is pinned to one algorithm: RS256 when a public key or a JWKS URL is configured, else HS256. */
export function algorithmOf(config: GatewayConfig): 'RS256' | 'HS256' {
  return config.JWT_PUBLIC_KEY || config.JWT_JWKS_URL ? 'RS256' : 'HS256';
}

/** The key @fastify/jwt verifies with: the static secret or public key, or a function picking the JWKS key by `kid`. */
function verifyKeyOf(config: GatewayConfig) {
  if (config.JWT_JWKS_URL) {
    return {
      public: jwksKeys({
        url: config.JWT_JWKS_URL,
        cacheSeconds: config.JWT_JWKS_CACHE_SECONDS,
        refetchCooldownMs: config.JWT_JWKS_REFETCH_COOLDOWN_MS,
        ...(config.JWT_PUBLIC_KEY ? { fallbackKey: config.JWT_PUBLIC_KEY } : {}),
      }),
    };
  }
  return algorithmOf(config) === 'RS256' ? { public: config.JWT_PUBLIC_KEY! } : config.JWT_SECRET!;
}

/** Registers @fastify/jwt with the pinned algorithm, issuer, audience and required claims. */
export async function registerAuth(app: FastifyInstance, config: GatewayConfig): Promise<void> {
  const algorithm = algorithmOf(config);
  await app.register(fastifyJwt, {
    secret: verifyKeyOf(config),
    // The key function reads the header's `kid`.
    ...(config.JWT_JWKS_URL ? { decode: { complete: true } } : {}),
    sign: { algorithm, iss: config.JWT_ISSUER, aud: config.JWT_AUDIENCE, expiresIn: `${devTokenSeconds(config)}s` },
    verify: {
      algorithms: [algorithm],
      allowedIss: config.JWT_ISSUER,
      allowedAud: config.JWT_AUDIENCE,
      requiredClaims: ['exp', 'iat', 'sub', 'iss', 'aud'],
      // `nbf` is checked by `timeRuleBroken`, with the clock skew that must not apply to `exp`.
      ignoreNotBefore: true,
    },
    // The verifier's reason (e.g. "The exp claim is required.") goes into the 401's message.
    messages: { authorizationTokenInvalid: (err: Error) => `The bearer token is invalid: ${err.message}` },
  });
  app.decorate('tokenRules', tokenRulesOf(config));
  app.decorate('verifiedTokens', config.JWT_JWKS_URL ? null : new VerifiedTokens());
  app.decorateRequest('trader', null);
  app.decorateRequest('authFailure', null);
}

/** The message of a refusal by @fastify/jwt or fast-jwt; anything else says no more than "invalid". */
function verifierReason(err: unknown): string {
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && typeof message === 'string' && /^(FST_JWT|FAST_JWT)_/.test(code)) return message;
  return 'The bearer token is invalid';
}

/**
 * onRequest: verifies the bearer token when there is one and remembers the trader. It never
 * refuses by itself, so that the rate limiter (which runs next) can key on the verified sub and
 * still count requests with bad tokens by IP; `requireTrader` refuses later.
 */
export async function identify(request: FastifyRequest): Promise<void> {
  request.trader = null;
  request.authFailure = null;
  const header = request.headers.authorization;
  if (!header) return;
  const cache = request.server.verifiedTokens;
  let token = cache?.get(header, Date.now());
  if (!token) {
    const verified = await verifyToken(request);
    if (!verified) return;
    cache?.set(header, verified);
    token = verified;
  }
  const broken = timeRuleBroken(token, request.server.tokenRules, Date.now() / 1000);
  if (broken) {
    request.authFailure = broken;
    request.log.debug({ reason: 'time rules' }, 'bearer token refused');
    return;
  }
  request.trader = { id: token.sub, role: token.role === 'admin' ? 'admin' : 'trader' };
}

/** The verifier's check and the claims' shape; null (with `authFailure` set) when either refuses the token. */
async function verifyToken(request: FastifyRequest): Promise<Claims | null> {
  let verified: unknown;
  try {
    verified = await request.jwtVerify();
  } catch (err) {
    request.authFailure = verifierReason(err);
    request.log.debug({ reason: (err as { code?: string }).code }, 'bearer token refused');
    return null;
  }
  const parsed = claims.safeParse(verified);
  if (!parsed.success) {
    request.authFailure = `The bearer token's claims are not usable: ${parsed.error.issues.map((i) => i.path.join('.') || 'claims').join(', ')}`;
    request.log.debug({ reason: 'claims' }, 'bearer token refused');
    return null;
  }
  return parsed.data;
}

/** The 401 for a request without a usable token: why the token was refused when one was sent. */
export function unauthorized(request: FastifyRequest): AppError {
  return new AppError('UNAUTHORIZED', request.authFailure ?? 'A valid bearer token is required');
}

/** preHandler: 401 UNAUTHORIZED unless `identify` found a valid token. */
export async function requireTrader(request: FastifyRequest): Promise<void> {
  if (!request.trader) throw unauthorized(request);
}

/** The caller of a route behind `requireTrader`. */
export function traderOf(request: FastifyRequest): Trader {
  if (!request.trader) throw unauthorized(request);
  return request.trader;
}

/** A dev token for the playground: HS256, configured issuer and audience, one hour (or the configured maximum when shorter). */
export function signDevToken(app: FastifyInstance, sub: string, role: Trader['role'] | undefined): string {
  return app.jwt.sign(role ? { sub, role } : { sub });
}
