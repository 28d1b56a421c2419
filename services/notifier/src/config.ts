import { z } from 'zod';
import { baseConfig, loadConfig } from '@offramp/kit';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** An empty variable counts as unset, so `SMTP_URL=` turns the e-mail channel off like leaving it out. */
const optional = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

export const notifierConfig = baseConfig.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8085),
  DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/)
    .default('notifier'),
  DB_POOL_MAX: positiveInt(10),
  /** Transactions each of the service's consumers runs at once (at most DB_POOL_MAX). */
  CONSUMER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  /** Messages of different withdrawals committed together in one of those transactions when they wait together (group commit; 1: one each). */
  CONSUMER_BATCH: z.coerce.number().int().min(1).max(256).default(16),
  /** `smtp://user:pass@host:port` or `smtps://…`; unset turns the e-mail channel off (deliveries are logged as skipped). */
  SMTP_URL: optional(z.url({ protocol: /^smtps?$/ })),
  MAIL_FROM: z.string().min(3).max(200).default('Offramp <notifications@example.test>'),
  /**
   * The recipient of a trader's e-mails. There is no user directory yet, so the address is made
   * from the trader id; `{traderId}` is replaced by the id, encoded for an address's local part.
   */
  MAIL_TO_TEMPLATE: z
    .string()
    .max(200)
    .regex(/^[^\s@]*\{traderId\}[^\s@]*@[^\s@]+\.[^\s@]+$/, 'must be an address containing {traderId}')
    .default('trader+{traderId}@example.test'),
  /** Status changes older than this are recorded but not sent (see notifications/notifications.ts). */
  NOTIFY_MAX_EVENT_AGE_SECONDS: positiveInt(24 * 3600),
  /** Per SMTP phase (connect, greeting, each command). */
  SMTP_TIMEOUT_MS: positiveInt(10_000),
  /** Attempts per delivery before it is given up as failed. */
  DELIVERY_MAX_ATTEMPTS: positiveInt(8),
  /**
   * How long a claimed delivery stays reserved for the sender that claimed it. Longer than a send
   * can take (the SMTP timeouts bound it); after it, another loop or replica takes the delivery
   * over, which is how a crash between send and record is retried.
   */
  DELIVERY_LEASE_MS: positiveInt(120_000),
  DELIVERY_POLL_MS: positiveInt(500),
  /** First retry delay; it doubles per attempt up to five minutes. */
  DELIVERY_RETRY_BASE_MS: positiveInt(1_000),
});

export type NotifierConfig = z.infer<typeof notifierConfig>;

export const readNotifierConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(notifierConfig, env);
