import { z } from 'zod';
import { baseConfig, loadConfig } from '@offramp/kit';

/** `true`/`1` on, anything else of the accepted values off; unset is off. */
const flag = z
  .enum(['true', 'false', '1', '0', ''])
  .default('false')
  .transform((v) => v === 'true' || v === '1');

export const ledgerConfig = baseConfig.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8082),
  DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/)
    .default('ledger'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(20),
  /** Group commit: most transfers, holds, posts and voids applied in one statement. */
  LEDGER_BATCH_MAX: z.coerce.number().int().min(1).max(10_000).default(256),
  /** Group commit: most batches running at once (each holds a database connection; keep below DB_POOL_MAX). */
  LEDGER_BATCH_IN_FLIGHT: z.coerce.number().int().min(1).max(64).default(2),
  /**
   * Serves the QA rpcs (`ledgerRpc.devFund`). Set only where the gateway's DEV_ENDPOINTS is: off,
   * nobody answers them and a caller gets NO_RESPONDERS.
   */
  DEV_RPCS: flag,
});

export type LedgerConfig = z.infer<typeof ledgerConfig>;

export const readLedgerConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(ledgerConfig, env);
