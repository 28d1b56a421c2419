import { runDatabaseService } from '@offramp/kit';
import { readNotifierConfig } from './config.ts';
import { buildNotifier, openNotifierDatabase } from './app.ts';

await runDatabaseService({ name: 'notifier', config: readNotifierConfig(), openDatabase: openNotifierDatabase, build: buildNotifier });
