import { runDatabaseService } from '@offramp/kit';
import { readSessionsConfig } from './config.ts';
import { buildSessions, openSessionsDatabase } from './app.ts';

await runDatabaseService({ name: 'sessions', config: readSessionsConfig(), openDatabase: openSessionsDatabase, build: buildSessions });
