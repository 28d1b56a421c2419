import { parseArgs } from 'node:util';

export interface BenchOptions {
  databaseUrl: string;
  natsUrl: string;
  clients: number;
  accounts: number;
  seconds: number;
  warmupSeconds: number;
  transferSeconds: number;
  poolMax: number;
  timeoutMs: number;
  /** Seconds of the one-client case (the latency of a lone hold); 0 skips it. */
  latencySeconds: number;
  /** Seconds of each SQL-ceiling case (the same work straight at Postgres); 0 skips them. */
  ceilingSeconds: number;
  /** Database sessions of the SQL ceiling: by default as many as the service's batches in flight (LEDGER_BATCH_IN_FLIGHT, 2). */
  ceilingConnections: number;
  /** The group commit's settings the environment gives the in-process ledger (LEDGER_BATCH_MAX, LEDGER_BATCH_IN_FLIGHT). */
  ledgerEnv: Record<string, string>;
  /** The in-process ledger's pino level; warnings and errors show up in the output by default. */
  logLevel: string;
}

const usage = `usage: npm run bench:ledger -- [--clients 32] [--accounts 1000] [--seconds 10]
  [--warmup 2] [--transfer-seconds 3] [--latency-seconds 3] [--ceiling-seconds 5] [--ceiling-connections 2]
  [--pool 20] [--timeout-ms 10000]
env: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), NATS_URL (default nats://127.0.0.1:4222),
  LOG_LEVEL (default warn), LEDGER_BATCH_MAX and LEDGER_BATCH_IN_FLIGHT (the ledger's group commit, default 256 and 2)`;

export class OptionsError extends Error {}

/** A positive number read from a flag, within bounds that keep a run short and sane. */
function boundedNumber(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new OptionsError(`--${name} must be a number from ${min} to ${max}\n${usage}`);
  return value;
}

/**
 * The benchmark creates and drops schemas and streams, so it only runs against services on this
 * machine; a mistyped URL must not turn it loose on a shared database.
 */
function requireLoopback(name: string, url: string): void {
  const hosts = url.replace(/^[a-z]+:\/\//, '').split(',');
  for (const entry of hosts) {
    const host = new URL(`x://${entry}`).hostname;
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(host))
      throw new OptionsError(`${name} must point at 127.0.0.1 or localhost, not ${host}`);
  }
}

/** Reads the flags and the environment; throws OptionsError with the usage text on anything odd. */
export function readBenchOptions(argv: string[], env: Record<string, string | undefined>): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        clients: { type: 'string' },
        accounts: { type: 'string' },
        seconds: { type: 'string' },
        warmup: { type: 'string' },
        'transfer-seconds': { type: 'string' },
        'latency-seconds': { type: 'string' },
        'ceiling-seconds': { type: 'string' },
        'ceiling-connections': { type: 'string' },
        pool: { type: 'string' },
        'timeout-ms': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    throw new OptionsError(`${(err as Error).message}\n${usage}`);
  }
  if (values.help) throw new OptionsError(usage);
  const databaseUrl = env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const natsUrl = env.NATS_URL || 'nats://127.0.0.1:4222';
  requireLoopback('DATABASE_URL', databaseUrl);
  requireLoopback('NATS_URL', natsUrl);
  const ledgerEnv = Object.fromEntries(
    (['LEDGER_BATCH_MAX', 'LEDGER_BATCH_IN_FLIGHT'] as const).flatMap((k) => (env[k] ? [[k, env[k]] as const] : [])),
  );
  return {
    databaseUrl,
    natsUrl,
    clients: Math.floor(boundedNumber('clients', values.clients, 32, 1, 1_000)),
    accounts: Math.floor(boundedNumber('accounts', values.accounts, 1_000, 1, 100_000)),
    seconds: boundedNumber('seconds', values.seconds, 10, 0.5, 600),
    warmupSeconds: boundedNumber('warmup', values.warmup, 2, 0, 60),
    transferSeconds: boundedNumber('transfer-seconds', values['transfer-seconds'], 3, 0, 600),
    poolMax: Math.floor(boundedNumber('pool', values.pool, 20, 1, 500)),
    timeoutMs: Math.floor(boundedNumber('timeout-ms', values['timeout-ms'], 10_000, 100, 120_000)),
    latencySeconds: boundedNumber('latency-seconds', values['latency-seconds'], 3, 0, 600),
    ceilingSeconds: boundedNumber('ceiling-seconds', values['ceiling-seconds'], 5, 0, 600),
    ceilingConnections: Math.floor(
      boundedNumber('ceiling-connections', values['ceiling-connections'], Number(ledgerEnv.LEDGER_BATCH_IN_FLIGHT ?? 2), 1, 64),
    ),
    ledgerEnv,
    logLevel: env.LOG_LEVEL || 'warn',
  };
}
