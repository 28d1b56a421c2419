import { z } from 'zod';
import { baseConfig, loadConfig } from '@offramp/kit';

export const ledgerConfig = baseConfig.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8082),
  DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).default('ledger'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(20),
});

export type LedgerConfig = z.infer<typeof ledgerConfig>;

export const readLedgerConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(ledgerConfig, env);
