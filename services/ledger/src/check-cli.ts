import { createLogger, loadConfig } from '@offramp/kit';
import { ledgerConfig } from './config.ts';
import { openLedgerDatabase } from './app.ts';
import { checkLedger } from './check/check.ts';

/**
 * `npm run ledger:check`: verifies the ledger directly in Postgres and prints the result as JSON.
 * Uses DATABASE_URL, else the embedded Postgres that `npm start` runs. Exit code 0 when clean,
 * 1 when there are mismatches, 2 when it could not run.
 */
const embeddedDatabaseUrl = `postgres://postgres:postgres@127.0.0.1:${process.env.EMBEDDED_PG_PORT ?? '54329'}/offramp`;
const log = createLogger({ name: 'ledger-check', level: 'warn' });
try {
  const config = loadConfig(ledgerConfig, { ...process.env, DATABASE_URL: process.env.DATABASE_URL ?? embeddedDatabaseUrl });
  const db = await openLedgerDatabase(config);
  try {
    const result = await checkLedger(db);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(
      result.ok
        ? `ledger consistent: ${result.accountsChecked} accounts, currencies ${result.currencies.join(', ') || '(none)'}\n`
        : `LEDGER INCONSISTENT: ${result.mismatches.length} mismatches\n`,
    );
    process.exitCode = result.ok ? 0 : 1;
  } finally {
    await db.close();
  }
} catch (err) {
  log.error({ err }, 'ledger check could not run');
  process.exitCode = 2;
}
