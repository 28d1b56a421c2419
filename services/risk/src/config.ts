import { z } from 'zod';
import { baseConfig, loadConfig } from '@offramp/kit';

export const riskConfig = baseConfig.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8083),
  DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/)
    .default('risk'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(10),
});

export type RiskConfig = z.infer<typeof riskConfig>;

export const readRiskConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(riskConfig, env);
