import { createLogger, type Logger } from '@offramp/kit';
import { readStackConfig } from './config.ts';
import { migrateAll } from './services.ts';
import { exitAfterFlush } from './shutdown.ts';

/** `npm run migrate`: applies every service's pending migrations to DATABASE_URL, then exits. */
async function migrateFromEnv(log: Logger): Promise<number> {
  try {
    const config = readStackConfig();
    if (!config.DATABASE_URL) {
      log.error('DATABASE_URL is required, e.g. postgres://user:password@127.0.0.1:5432/offramp');
      return 1;
    }
    log.level = config.LOG_LEVEL;
    await migrateAll({ ...process.env, DATABASE_URL: config.DATABASE_URL }, log);
    return 0;
  } catch (err) {
    log.error({ err }, 'migration failed');
    return 1;
  }
}

const log = createLogger({ name: 'migrate' });
await exitAfterFlush(log, await migrateFromEnv(log));
