import { createPublicKey } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { baseConfig, envFlag, loadConfig } from '@offramp/kit';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** PEM from the environment, where newlines are often written as `\n`. */
const pem = z
  .string()
  .transform((v) => v.replaceAll('\\n', '\n'))
  .refine((v) => {
    try {
      return createPublicKey(v).asymmetricKeyType === 'rsa';
    } catch {
      return false;
    }
  }, 'must be a PEM-encoded RSA public key');

/** A comma-separated list of origins (scheme://host[:port], nothing more); empty allows none. */
const corsOrigins = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
  )
  .pipe(
    z.array(
      z.string().refine((o) => {
        try {
          const url = new URL(o);
          return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === o;
        } catch {
          return false;
        }
      }, 'each origin must be scheme://host[:port] with no path or trailing slash'),
    ),
  );

/** proxy-addr's names for address ranges, allowed in TRUST_PROXY beside addresses and CIDRs. */
const namedRanges = ['loopback', 'linklocal', 'uniquelocal'];

function isAddressOrCidr(entry: string): boolean {
  if (namedRanges.includes(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY as Fastify's `trustProxy`: `false` (default: `X-Forwarded-For` is ignored and the
 * client is the TCP peer), `true` (every hop is trusted: only when nothing can reach the gateway
 * but the proxy), a hop count (`1`: the ingress controller in front), or comma-separated addresses
 * and CIDRs of the proxies (`10.0.0.0/8,127.0.0.1`; also `loopback`, `linklocal`, `uniquelocal`).
 */
const trustProxy = z
  .string()
  .trim()
  .default('false')
  .transform((v, ctx): boolean | number | string[] => {
    if (v === '' || v === 'false') return false;
    if (v === 'true') return true;
    if (/^[0-9]{1,3}$/.test(v)) return Number(v) === 0 ? false : Number(v);
    const entries = v
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    const bad = entries.filter((e) => !isAddressOrCidr(e));
    if (bad.length > 0 || entries.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `must be false, true, a hop count, or comma-separated IP addresses or CIDRs (not: ${bad.join(', ') || v})`,
      });
      return z.NEVER;
    }
    return entries;
  });

/** The gateway has no database: the base config without DATABASE_URL nor MIGRATE_ON_START, plus auth, QA and rate limits. */
export const gatewayConfig = baseConfig
  .omit({ DATABASE_URL: true, MIGRATE_ON_START: true })
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    /** HS256 secret (dev); ignored when JWT_PUBLIC_KEY or JWT_JWKS_URL is set. */
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** RS256 public key (production); when set, only RS256 tokens are accepted. */
    JWT_PUBLIC_KEY: pem.optional(),
    /**
     * An issuer's JSON Web Key Set (`https://issuer.example.com/.well-known/jwks.json`): RS256 tokens
     * are verified with the key their header's `kid` names. Keys are cached JWT_JWKS_CACHE_SECONDS;
     * a `kid` not in the cache fetches the set again, so a rotated key works without a restart and a
     * removed one stops working once its cache entry is gone. A token without `kid` is verified with
     * JWT_PUBLIC_KEY when that is set too, else refused.
     */
    JWT_JWKS_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    JWT_JWKS_CACHE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
    /** After a fetch that did not find the `kid` asked for, unknown kids are refused without fetching for this long (no fetch per forged token). */
    JWT_JWKS_REFETCH_COOLDOWN_MS: z.coerce.number().int().min(0).max(600_000).default(5_000),
    JWT_ISSUER: z.string().min(1).max(200).default('offramp-dev'),
    JWT_AUDIENCE: z.string().min(1).max(200).default('offramp'),
    /** Longest lifetime (`exp - iat`) of a trader's token, and of an operator's (`role: "admin"`): one shift. */
    JWT_MAX_LIFETIME_SECONDS: positiveInt(3600),
    JWT_ADMIN_MAX_LIFETIME_SECONDS: positiveInt(8 * 3600),
    /** How far the issuer's clock may run ahead of ours for `iat` and `nbf` (bounded: at most 5 minutes). */
    JWT_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(300).default(60),
    DEV_ENDPOINTS: envFlag,
    DEV_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    RATE_LIMIT_MAX: positiveInt(120),
    /** Requests without a valid token are counted per IP, in a bucket apart from every trader's. */
    RATE_LIMIT_ANON_MAX: positiveInt(30),
    /** The partner API (`/partner/v1`): requests per window of each partner, counted by its `x-api-key`. */
    PARTNER_RATE_LIMIT_MAX: positiveInt(300),
    /** At most an hour: the shared store's bucket keeps a count that long. */
    RATE_LIMIT_WINDOW_MS: z.coerce.number().int().positive().max(3_600_000).default(60_000),
    /**
     * Where request counts live: `nats` (default) in the JetStream key-value bucket `RATE_LIMITS`,
     * shared by every gateway replica, so a trader's budget is the same whichever replica answers;
     * `memory` in each replica (a trader gets the budget once per replica).
     */
    RATE_LIMIT_STORE: z.enum(['nats', 'memory']).default('nats'),
    /** Which proxies may name the client (`X-Forwarded-For`) for `request.ip`, the rate limits' IP buckets and the logs. */
    TRUST_PROXY: trustProxy,
    /** Browser origins allowed to call the API (CORS), comma-separated (`https://widget.example.com,http://localhost:5173`); none by default. */
    CORS_ORIGINS: corsOrigins,
    RPC_TIMEOUT_MS: positiveInt(5_000),
    BODY_LIMIT_BYTES: positiveInt(16 * 1024),
    /**
     * Four-eyes on money-moving operator actions (on unless `false`): an override, an out-of-band
     * complete, a reject past `in_review`, lifting a freeze, a threshold or screening change, and
     * approving a withdrawal above FOUR_EYES_ABOVE_USDT answer 202 with a pending approval that a
     * second operator confirms. `false`: every action runs at once (200), one operator alone.
     */
    FOUR_EYES: z
      .enum(['true', 'false', '1', '0'])
      .default('true')
      .transform((v) => v === 'true' || v === '1'),
    /** Approving an `in_review` withdrawal of more USDT than this needs a second operator. */
    FOUR_EYES_ABOVE_USDT: z
      .string()
      .regex(/^(0|[1-9][0-9]{0,17})(\.[0-9]{1,6})?$/, 'must be a USDT amount (at most 6 decimals)')
      .default('1000'),
  })
  .superRefine((c, ctx) => {
    if (!c.JWT_SECRET && !c.JWT_PUBLIC_KEY && !c.JWT_JWKS_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_SECRET'],
        message: 'JWT_SECRET (HS256), JWT_PUBLIC_KEY (RS256) or JWT_JWKS_URL (RS256) is required',
      });
    }
    if (c.DEV_ENDPOINTS && !c.DEV_SECRET)
      ctx.addIssue({ code: 'custom', path: ['DEV_SECRET'], message: 'required when DEV_ENDPOINTS=true' });
  });

export type GatewayConfig = z.infer<typeof gatewayConfig>;

export const readGatewayConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(gatewayConfig, env);
