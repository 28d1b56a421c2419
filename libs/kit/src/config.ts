import { z } from 'zod';

const millis = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/**
 * How long the database may keep a caller waiting (see `openDatabase`). A service that opens its
 * database without passing them explicitly gets them from the environment through this schema.
 */
export const databaseTimeoutsConfig = z.object({
  /** Longest wait for a connection, from the pool or a new one; then the query fails (503 at the edge). */
  DB_ACQUIRE_TIMEOUT_MS: millis(5_000),
  /** Longest a new connection may take to be established. */
  DB_CONNECT_TIMEOUT_MS: millis(3_000),
  /** Postgres `statement_timeout`: a statement running longer is cancelled by the server. */
  DB_STATEMENT_TIMEOUT_MS: millis(30_000),
  /** Postgres `idle_in_transaction_session_timeout`: a transaction left idle this long is ended by the server. */
  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: millis(60_000),
});

/**
 * An on/off switch from the environment: `true` or `1` is on; `false`, `0`, empty or unset is off;
 * anything else is refused (a typo must not silently mean off).
 */
export const envFlag = z
  .enum(['true', 'false', '1', '0', ''])
  .default('false')
  .transform((v) => v === 'true' || v === '1');

/** Fields every service reads from the environment. Services extend this schema. */
export const baseConfig = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  /** Apply pending migrations before starting (off in production: a deploy job migrates first). */
  MIGRATE_ON_START: envFlag,
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  /** Prefixes subjects and stream names so that several stacks (or tests) share one NATS. */
  NATS_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9_]{0,32}$/)
    .default(''),
  /** JetStream replication of the streams: 3 on a 3-node cluster (see deploy/k8s). */
  NATS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().positive().default(10_000),
  ...databaseTimeoutsConfig.shape,
});

export class ConfigError extends Error {}

/** Parses the environment with a zod schema; fails fast naming every bad variable (never its value). */
export function loadConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined> = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}
