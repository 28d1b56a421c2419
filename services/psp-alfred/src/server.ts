import { runDatabaseService } from '@offramp/kit';
import { readPspAlfredConfig } from './config.ts';
import { buildPspAlfred, openPspAlfredDatabase } from './app.ts';

await runDatabaseService({ name: 'psp-alfred', config: readPspAlfredConfig(), openDatabase: openPspAlfredDatabase, build: buildPspAlfred });
