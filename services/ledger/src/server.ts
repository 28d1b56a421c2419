import { runDatabaseService } from '@offramp/kit';
import { readLedgerConfig } from './config.ts';
import { buildLedger, openLedgerDatabase } from './app.ts';

await runDatabaseService({ name: 'ledger', config: readLedgerConfig(), openDatabase: openLedgerDatabase, build: buildLedger });
