import path from 'node:path';
import { ConfigError, migrate, type Database, type Logger } from '@offramp/kit';
import { openLedgerDatabase, readLedgerConfig } from '@offramp/ledger';
import { openRiskDatabase, readRiskConfig } from '@offramp/risk';
import { openSessionsDatabase, readSessionsConfig } from '@offramp/sessions';
import { openPspAlfredDatabase, readPspAlfredDatabaseConfig } from '@offramp/psp-alfred';
import { openNotifierDatabase, readNotifierConfig } from '@offramp/notifier';
import { portSchema, repoRoot } from './config.ts';

type Env = Record<string, string | undefined>;

export interface ServiceDefinition {
  name: string;
  /** The process entry, relative to the repository root. */
  entry: string;
  /** Default HTTP port; `<NAME>_PORT` in the environment overrides it. */
  port: number;
  /** Applies the service's pending migrations against `env.DATABASE_URL`; returns the names applied. */
  migrate(env: Env): Promise<string[]>;
}

/** Every service the stack runs; adding one is adding one entry. */
export const services: readonly ServiceDefinition[] = [
  {
    name: 'ledger',
    entry: 'services/ledger/src/server.ts',
    port: 8082,
    migrate: (env) => migrateAndClose(openLedgerDatabase(readLedgerConfig(env))),
  },
  {
    name: 'risk',
    entry: 'services/risk/src/server.ts',
    port: 8083,
    migrate: (env) => migrateAndClose(openRiskDatabase(readRiskConfig(env))),
  },
  {
    name: 'sessions',
    entry: 'services/sessions/src/server.ts',
    port: 8084,
    migrate: (env) => migrateAndClose(openSessionsDatabase(readSessionsConfig(env))),
  },
  {
    name: 'psp-alfred',
    entry: 'services/psp-alfred/src/server.ts',
    port: 8081,
    migrate: (env) => migrateAndClose(openPspAlfredDatabase(readPspAlfredDatabaseConfig(env))),
  },
  {
    name: 'notifier',
    entry: 'services/notifier/src/server.ts',
    port: 8085,
    migrate: (env) => migrateAndClose(openNotifierDatabase(readNotifierConfig(env))),
  },
  {
    name: 'alfred-sandbox',
    entry: 'tools/alfred-sandbox/src/server.ts',
    port: 8090,
    // In-memory emulator of Alfred: nothing to migrate.
    migrate: async () => [],
  },
  {
    name: 'gateway',
    entry: 'services/gateway/src/server.ts',
    port: 8080,
    // The gateway keeps no state of its own.
    migrate: async () => [],
  },
];

async function migrateAndClose(opening: Promise<Database>): Promise<string[]> {
  const db = await opening;
  try {
    return await migrate(db);
  } finally {
    await db.close();
  }
}

export function entryPath(service: ServiceDefinition): string {
  return path.join(repoRoot, service.entry);
}

export function portEnvName(service: ServiceDefinition): string {
  return `${service.name.toUpperCase().replaceAll('-', '_')}_PORT`;
}

export function servicePort(service: ServiceDefinition, env: Env): number {
  const name = portEnvName(service);
  const given = env[name];
  if (given === undefined) return service.port;
  const parsed = portSchema.safeParse(given);
  if (!parsed.success) throw new ConfigError(`invalid configuration:\n  ${name}: not a port number`);
  return parsed.data;
}

/** Runs every service's migrations in registry order. */
export async function migrateAll(env: Env, log: Logger): Promise<void> {
  for (const service of services) {
    const applied = await service.migrate(env);
    log.info({ serviceName: service.name, applied }, `${service.name}: ${applied.length} migration(s) applied`);
  }
}
