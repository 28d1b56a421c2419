import { createPublicKey } from 'node:crypto';
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

/** The gateway has no database: the base config without DATABASE_URL nor MIGRATE_ON_START, plus auth, QA and rate limits. */
export const gatewayConfig = baseConfig
  .omit({ DATABASE_URL: true, MIGRATE_ON_START: true })
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    /** HS256 secret (dev); ignored when JWT_PUBLIC_KEY is set. */
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** RS256 public key (production); when set, only RS256 tokens are accepted. */
    JWT_PUBLIC_KEY: pem.optional(),
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
    RATE_LIMIT_WINDOW_MS: positiveInt(60_000),
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
    if (!c.JWT_SECRET && !c.JWT_PUBLIC_KEY) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256) is required' });
    }
    if (c.DEV_ENDPOINTS && !c.DEV_SECRET)
      ctx.addIssue({ code: 'custom', path: ['DEV_SECRET'], message: 'required when DEV_ENDPOINTS=true' });
  });

export type GatewayConfig = z.infer<typeof gatewayConfig>;

export const readGatewayConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(gatewayConfig, env);
