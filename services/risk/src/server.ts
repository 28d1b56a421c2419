import { runDatabaseService } from '@offramp/kit';
import { readRiskConfig } from './config.ts';
import { buildRisk, openRiskDatabase } from './app.ts';

await runDatabaseService({ name: 'risk', config: readRiskConfig(), openDatabase: openRiskDatabase, build: buildRisk });
