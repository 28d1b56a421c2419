import { z } from 'zod';
import { baseConfig, loadConfig } from '@offramp/kit';

const positiveInt = z.coerce.number().int().positive();

export const pspAlfredConfig = baseConfig.extend({
  /** The HTTP port serves Alfred's webhook beside /healthz, /readyz and /metrics. */
  PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/)
    .default('psp_alfred'),
  /** Each offramp command in hand may hold two connections at once (see CONSUMER_CONCURRENCY): 32 leaves half for the rest. */
  DB_POOL_MAX: positiveInt.default(32),
  /**
   * Offramp commands handled at once. Each spends most of its time in two calls to Alfred, so one
   * at a time left Alfred's latency to add up; at most half the pool is used for them, as each
   * holds its inbox transaction and may open a short one of its own beside it.
   */
  CONSUMER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  ALFRED_BASE_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8090/api/v1/third-party-service/penny'),
  ALFRED_API_KEY: z.string().min(1),
  ALFRED_API_SECRET: z.string().min(1),
  ALFRED_WEBHOOK_SECRET: z.string().min(1),
  /** `dot` verifies `t + "." + body`, `concat` verifies `t + body`: Alfred's exact signed string is not public. */
  ALFRED_WEBHOOK_SIGNATURE_FORMAT: z.enum(['dot', 'concat']).default('dot'),
  ALFRED_WEBHOOK_TOLERANCE_SECONDS: positiveInt.default(300),
  ALFRED_TIMEOUT_MS: positiveInt.default(10_000),
  /** Retries of idempotent GETs after a 5xx or a timeout (never of POSTs). */
  ALFRED_GET_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  ALFRED_BREAKER_RESET_MS: positiveInt.default(30_000),
  ALFRED_BREAKER_ERROR_PERCENT: z.coerce.number().int().min(1).max(100).default(50),
  /** Calls in the rolling window before the breaker may open at all. */
  ALFRED_BREAKER_VOLUME: positiveInt.default(5),
  ALFRED_BREAKER_WINDOW_MS: positiveInt.default(10_000),
  /** The chain the exchange's custody funds offramps on. */
  ALFRED_CHAIN: z.string().min(1).default('TRON'),
  /** The exchange treasury address the USDT leaves from (Alfred's `originAddress`). */
  ALFRED_ORIGIN_ADDRESS: z.string().min(1).default('TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE'),
  /** An offramp whose status has not moved for this long is polled at Alfred. */
  RECONCILE_AFTER_SECONDS: positiveInt.default(60),
  RECONCILE_INTERVAL_MS: positiveInt.default(15_000),
  RECONCILE_BATCH: positiveInt.default(100),
  /** An OFFRAMP event whose reference is still unknown after this long is reported as a discrepancy. */
  UNKNOWN_REFERENCE_AFTER_SECONDS: positiveInt.default(300),
  /** How far (percent) Alfred's fiat amount may be from the accepted quote's before it is a discrepancy. */
  ALFRED_FIAT_TOLERANCE_PCT: z.coerce.number().min(0).max(100).default(2),
  /** Where the Alfred customers of dev-provisioned traders get their e-mail addresses. */
  DEV_EMAIL_DOMAIN: z.string().min(1).default('traders.offramp.test'),
});

export type PspAlfredConfig = z.infer<typeof pspAlfredConfig>;

export const readPspAlfredConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(pspAlfredConfig, env);

/** What migrations need: the database alone, so `npm run migrate` needs no Alfred credentials. */
export const pspAlfredDatabaseConfig = pspAlfredConfig.pick({ DATABASE_URL: true, DB_SCHEMA: true, DB_POOL_MAX: true });
export type PspAlfredDatabaseConfig = z.infer<typeof pspAlfredDatabaseConfig>;

export const readPspAlfredDatabaseConfig = (env: Record<string, string | undefined> = process.env) =>
  loadConfig(pspAlfredDatabaseConfig, env);
