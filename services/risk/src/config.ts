import { z } from 'zod';
import { baseConfig, loadConfig } from '@offramp/kit';

export const riskConfig = baseConfig.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8083),
  DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/)
    .default('risk'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(10),
  /** Transactions each of the service's consumers runs at once (at most DB_POOL_MAX). */
  CONSUMER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  /** Messages of different withdrawals committed together in one of those transactions when they wait together (group commit; 1: one each). */
  CONSUMER_BATCH: z.coerce.number().int().min(1).max(256).default(16),
});

export type RiskConfig = z.infer<typeof riskConfig>;

export const readRiskConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(riskConfig, env);
