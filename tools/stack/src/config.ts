import path from 'node:path';
import { z } from 'zod';
import { loadConfig } from '@offramp/kit';

export const repoRoot = path.resolve(import.meta.dirname, '../../..');

export const portSchema = z.coerce.number().int().min(1).max(65535);

/** What `npm start` reads; DATABASE_URL and NATS_URL are optional because the stack can start its own. */
export const stackConfig = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  NATS_URL: z.string().min(1).optional(),
  NATS_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9_]{0,32}$/)
    .default(''),
  EMBEDDED_PG_PORT: portSchema.default(54329),
  EMBEDDED_NATS_PORT: portSchema.default(4223),
  /**
   * Settings for the embedded Postgres, `name=value` separated by spaces, each passed as `-c`
   * (e.g. `shared_preload_libraries=pg_stat_statements` for `npm run bench:statements`).
   */
  EMBEDDED_PG_OPTIONS: z
    .string()
    .regex(/^\s*([a-z_.]+=[^\s]+\s*)*$/, 'name=value settings separated by spaces')
    .default(''),
  OFFRAMP_DATA_DIR: z.string().min(1).default(path.join(repoRoot, '.data')),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` or `pretty`; unset: pretty on a terminal outside CI, JSON otherwise (output.ts, logFormatOf). */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().positive().default(10_000),
  STARTUP_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
});

export type StackConfig = z.infer<typeof stackConfig>;

export const readStackConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(stackConfig, env);
