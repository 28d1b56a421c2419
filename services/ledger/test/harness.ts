import { newId, openDatabase, type DatabaseOptions, type ServiceHooks } from '@offramp/kit';
import { startTestService } from '@offramp/kit/testing';
import { ledgerRpc } from '@offramp/contracts';
import { buildLedger, migrations, openLedgerDatabase, readLedgerConfig, type LedgerConfig } from '../src/app.ts';

export type TestLedger = Awaited<ReturnType<typeof startTestLedger>>;

/** A USDT account of `owner`, as requests name it. */
export const usdt = (owner: string) => ({ owner, currency: 'USDT' });

/**
 * A ledger on its own schema and NATS namespace, against the real Postgres and NATS. Load tests
 * pass `dbTimeouts` (a generous pool wait): what they check must not depend on the machine's speed.
 * `env` adds to the configuration (DEV_RPCS, for one).
 */
export async function startTestLedger(
  opts: { hooks?: ServiceHooks; poolMax?: number; dbTimeouts?: DatabaseOptions['timeouts']; env?: Record<string, string> } = {},
) {
  const { dbTimeouts } = opts;
  const openTestDatabase = (config: LedgerConfig) =>
    dbTimeouts
      ? openDatabase({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations, poolMax: config.DB_POOL_MAX, timeouts: dbTimeouts })
      : openLedgerDatabase(config);
  const ledger = await startTestService({
    name: 'ledger',
    readConfig: readLedgerConfig,
    env: { DB_POOL_MAX: String(opts.poolMax ?? 10), ...opts.env },
    openDatabase: openTestDatabase,
    build: buildLedger,
    hooks: opts.hooks,
  });
  const { call } = ledger;
  // Added to the service object itself: copying it would read its `app` getter once, for good.
  return Object.assign(ledger, {
    /** Opens `trader:<id>` (or the given owner) and funds it from `external:deposits` (opened by the migrations). */
    async fund(owner: string, amountMinor: bigint, currency = 'USDT') {
      await call(ledgerRpc.openAccount, { owner, currency, allowNegative: false });
      if (amountMinor > 0n) {
        const r = await call(ledgerRpc.transfer, {
          id: newId(),
          debit: { owner: 'external:deposits', currency },
          credit: { owner, currency },
          amountMinor,
          metadata: { reason: 'test-funding' },
        });
        if (r.outcome !== 'ok') throw new Error(`funding failed: ${r.outcome}`);
      }
    },
    /** A new trader funded with `amountMinor` USDT, and the clearing account its holds credit. */
    async trader(amountMinor: bigint) {
      const trader = `trader:${newId()}`;
      await this.fund(trader, amountMinor);
      await call(ledgerRpc.openAccount, { owner: 'psp:alfred:clearing', currency: 'USDT', allowNegative: true });
      return trader;
    },
    async available(owner: string, currency = 'USDT') {
      const { balances } = await call(ledgerRpc.getBalances, { owner, currency });
      return balances[0]?.availableMinor ?? 0n;
    },
  });
}
