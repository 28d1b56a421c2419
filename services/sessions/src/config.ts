import { z } from 'zod';
import { baseConfig, loadConfig } from '@offramp/kit';

const ms = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const sessionsConfig = baseConfig.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8084),
  DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/)
    .default('sessions'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(10),
  /** Transactions each of the service's consumers runs at once (at most DB_POOL_MAX). */
  CONSUMER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  /** Messages of different withdrawals committed together in one of those transactions when they wait together (group commit; 1: one each). */
  CONSUMER_BATCH: z.coerce.number().int().min(1).max(256).default(16),
  /** How long a session (intent + quote) may be initiated. */
  SESSION_TTL_SECONDS: z.coerce
    .number()
    .int()
    .positive()
    .default(24 * 3600),
  /** Timeout of the rpcs to ledger, risk and psp-alfred. */
  RPC_TIMEOUT_MS: ms(5_000),
  SWEEPER_INTERVAL_MS: ms(10_000),
  /** A session `initiating` for longer than this is finished (or given up) by the sweeper. */
  SWEEPER_INITIATING_STALE_MS: ms(30_000),
  /** An `approved` withdrawal without an offramp for this long gets createOfframp again. */
  SWEEPER_OFFRAMP_RESEND_MS: ms(120_000),
  /** A `pending` withdrawal without a risk decision for this long gets `debited` published again. */
  SWEEPER_RISK_REPUBLISH_MS: ms(120_000),
  /**
   * An `approved` or `processing` withdrawal whose status has not moved for this long gets
   * psp-alfred's reconcile-offramp (and again each such period while it stays).
   */
  RECONCILE_AFTER_MS: ms(60_000),
  /** Time in pending, approved or processing after which a withdrawal is flagged stuck. */
  WITHDRAWAL_SLA_MS: ms(3_600_000),
  /** Time in in_review (waiting for an operator) after which it is flagged stuck. */
  REVIEW_SLA_MS: ms(24 * 3_600_000),
  /** Four-eyes: how long an operator's request waits for a second operator before it expires. */
  FOUR_EYES_TTL_MINUTES: z.coerce
    .number()
    .int()
    .positive()
    .max(7 * 24 * 60)
    .default(60),
  /** How many new partner orders a payout Alfred FAILED as bank_unavailable gets (each after the previous one FAILED); 0: none. */
  PAYOUT_REDISPATCH_MAX: z.coerce.number().int().min(0).max(10).default(2),
  /** How long a payout may stay `processing` at the partner before the trader is told it is delayed (once) and an exception opened. */
  PAYOUT_SLA_MS: ms(3_600_000),
  /** Per rail, over PAYOUT_SLA_MS: `SPEI=1800000,PIX=600000`. */
  PAYOUT_SLA_MS_BY_RAIL: z
    .string()
    .regex(/^$|^[A-Z_]+=[1-9][0-9]*(,[A-Z_]+=[1-9][0-9]*)*$/, 'must be RAIL=ms pairs separated by commas, e.g. SPEI=1800000,PIX=600000')
    .default(''),
  /** Webhooks to the partner: how long one attempt waits for the partner's answer. */
  PARTNER_WEBHOOK_TIMEOUT_MS: ms(10_000),
  /** An operator's replay waits this long for the partner (keep it under the gateway's RPC_TIMEOUT_MS, 5 s). */
  PARTNER_WEBHOOK_REPLAY_TIMEOUT_MS: ms(4_000),
  /** The first retry's delay; it doubles per attempt up to PARTNER_WEBHOOK_BACKOFF_MAX_MS, each drawn between half and all of it (jitter). */
  PARTNER_WEBHOOK_BACKOFF_MS: ms(5_000),
  PARTNER_WEBHOOK_BACKOFF_MAX_MS: ms(3_600_000),
  /** Attempts before a delivery is given up as `failed` (15: about 2.7 to 5.4 hours with the defaults). */
  PARTNER_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(15),
  /** Deliveries sent at once (at most DB_POOL_MAX: each records its outcome in its own transaction). */
  PARTNER_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  /** How often the dispatcher looks for due deliveries (retries, a partner enabled again); an idle one backs off to PARTNER_WEBHOOK_IDLE_POLL_MS. */
  PARTNER_WEBHOOK_POLL_MS: ms(1_000),
  PARTNER_WEBHOOK_IDLE_POLL_MS: ms(5_000),
  /** The partner API: how far a request's `withdrawRequestDate` may be from our clock, either way (older or newer: PARTNER_REQUEST_STALE). */
  PARTNER_REQUEST_WINDOW_MS: ms(300_000),
});

export type SessionsConfig = z.infer<typeof sessionsConfig>;

export const readSessionsConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(sessionsConfig, env);
