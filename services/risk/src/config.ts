import { z } from 'zod';
import { baseConfig, loadConfig } from '@offramp/kit';

export const riskConfig = baseConfig.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8083),
  DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/)
    .default('risk'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(10),
  /** Messages each of the service's consumers handles at once (each in its own inbox transaction; at most DB_POOL_MAX). */
  CONSUMER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
});

export type RiskConfig = z.infer<typeof riskConfig>;

export const readRiskConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(riskConfig, env);
