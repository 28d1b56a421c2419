import buildGetJwks, { type JWK } from 'get-jwks';
import type { FastifyRequest } from 'fastify';

export interface JwksOptions {
  /** The issuer's JSON Web Key Set. */
  url: string;
  /** How long a key read from the set is used before the set is read again for it. */
  cacheSeconds: number;
  /** After a fetch that did not find the `kid` asked for, other unknown kids are refused without a fetch for this long. */
  refetchCooldownMs: number;
  /** The static public key (JWT_PUBLIC_KEY) for tokens without `kid`. */
  fallbackKey?: string;
  /** Longest wait for the set (a hanging issuer must not hold requests). */
  timeoutMs?: number;
  now?: () => number;
}

/** A refusal whose message goes into the 401 (`identify` passes on messages of `FAST_JWT_*` codes only). */
class KeyRefused extends Error {
  readonly code = 'FAST_JWT_INVALID_KEY';
}

const notFound = new Set(['JWK_NOT_FOUND', 'NO_JWKS']);

/**
 * The verification key of a token, from the issuer's JWKS by the `kid` of its header (get-jwks).
 * A key read from the set is cached `cacheSeconds`; a `kid` not in the cache reads the set again,
 * so a key the issuer adds is used at once and one it removes is refused once its entry expired.
 * When the set cannot be read (an issuer outage, no answer within `timeoutMs`), the last key read
 * for that kid serves one more cache period; never when the set was read and no longer has it. A
 * read that did not find the kid starts a cooldown during which unknown kids are refused without
 * reading the set, so forged tokens cannot make the gateway fetch per request.
 */
export function jwksKeys(opts: JwksOptions) {
  const url = new URL(opts.url);
  const domain = url.origin;
  const now = opts.now ?? Date.now;
  const jwks = buildGetJwks({ ttl: opts.cacheSeconds * 1000, max: 100, jwksPath: `${url.pathname}${url.search}` });
  let cooldownUntil = 0;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  // The last key read for each kid, for an issuer outage only (get-jwks' own stale copy is never used:
  // it would also serve a key the issuer removed).
  const lastGood = new Map<string, JWK>();
  const remember = (cacheKey: string, jwk: JWK) => {
    lastGood.delete(cacheKey);
    lastGood.set(cacheKey, jwk);
    if (lastGood.size > 100) lastGood.delete(lastGood.keys().next().value!);
  };

  async function keyOf(kid: string, alg: string): Promise<string> {
    const cacheKey = jwks.generateCacheKey(alg, kid, `${domain}/`);
    const cached = jwks.cache.get(cacheKey) !== undefined;
    if (!cached) {
      if (now() < cooldownUntil && !lastGood.has(cacheKey)) throw new KeyRefused("The bearer token's key (kid) is unknown");
      jwks.staleCache.delete(cacheKey);
    }
    try {
      remember(cacheKey, await withTimeout(jwks.getJwk({ domain, alg, kid }), timeoutMs));
    } catch (err) {
      if (notFound.has((err as { code?: string }).code ?? '')) {
        lastGood.delete(cacheKey);
        cooldownUntil = now() + opts.refetchCooldownMs;
        throw new KeyRefused("The bearer token's key (kid) is not in the issuer's key set");
      }
      const last = lastGood.get(cacheKey);
      if (!last) throw new KeyRefused("The issuer's key set cannot be read: try again later");
      // The issuer is out of reach: the last key read serves one more cache period.
      jwks.cache.set(cacheKey, last);
    }
    // From the cache now: the PEM of the key.
    return jwks.getPublicKey({ domain, alg, kid });
  }

  return async (_request: FastifyRequest, token: unknown): Promise<string> => {
    const header = (token as { header?: { kid?: unknown } }).header ?? {};
    if (typeof header.kid !== 'string' || header.kid === '') {
      if (opts.fallbackKey) return opts.fallbackKey;
      throw new KeyRefused('The bearer token has no key id (kid)');
    }
    // The key is looked up as RS256 whatever the header says: the verifier accepts RS256 only.
    return keyOf(header.kid, 'RS256');
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('jwks fetch timed out')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
