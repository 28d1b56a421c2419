import { openDatabase, sendData, startService, type Service, type ServiceDeps } from '@offramp/kit';
import type { LedgerConfig } from './config.ts';
import { migrations } from './migrations/index.ts';
import { ledgerRoutes } from './rpc.ts';
import { ledgerConsumers } from './consumers.ts';
import { checkLedger } from './check/check.ts';
import { createLedgerBatcher } from './transfers/batcher.ts';

export { migrations };
export { checkLedger };
export { readLedgerConfig, ledgerConfig, type LedgerConfig } from './config.ts';

export type LedgerDeps = ServiceDeps<LedgerConfig>;
export type LedgerApp = Service;

export const openLedgerDatabase = (config: LedgerConfig) =>
  openDatabase({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations, poolMax: config.DB_POOL_MAX });

/** The ledger: its rpcs (transfers through the group commit), the consumer of the commands sent to it, and `/ledger/check` over HTTP. */
export function buildLedger(deps: LedgerDeps): Promise<LedgerApp> {
  const { config, db, log } = deps;
  if (config.DEV_RPCS) log.warn('serving the QA rpcs (DEV_RPCS=true): never in production');
  return startService('ledger', deps, ({ relay }) => ({
    rpcs: ledgerRoutes({
      config,
      db,
      relay,
      batcher: createLedgerBatcher({
        db,
        maxBatch: config.LEDGER_BATCH_MAX,
        maxInFlight: config.LEDGER_BATCH_IN_FLIGHT,
        onApplied: relay.wake,
      }),
    }),
    consumers: ledgerConsumers(),
    http: (app) => {
      app.get('/ledger/check', async (request, reply) => sendData(request, reply, await checkLedger(db)));
    },
  }));
}
