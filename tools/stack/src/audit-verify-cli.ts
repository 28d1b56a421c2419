import { createLogger, describeVerdict, verifyChain, type ChainVerdict, type Database, type HashChain } from '@offramp/kit';
import { openRiskDatabase, readRiskConfig } from '@offramp/risk';
import { auditChain } from '@offramp/risk/audit';
import { openSessionsDatabase, readSessionsConfig } from '@offramp/sessions';
import { partnerAuditChain, timelineChain } from '@offramp/sessions/audit';

/**
 * `npm run audit:verify [-- sessions|risk ...] [--json]`: recomputes every hash of the audit chains
 * (sessions' withdrawal timeline and partner audit, risk's operator audit log) directly in Postgres, in order, and
 * names the first broken entry of each. DATABASE_URL, else the embedded Postgres of `npm start`;
 * SESSIONS_DB_SCHEMA and RISK_DB_SCHEMA when the schemas are not the defaults. Exit code 0 when
 * every chain is intact, 1 when one is broken, 2 when it could not run.
 */
type Env = Record<string, string | undefined>;

interface AuditedService {
  name: string;
  chains: HashChain[];
  open(env: Env): Promise<Database>;
}

const withSchema = (env: Env, schema: string | undefined): Env => (schema ? { ...env, DB_SCHEMA: schema } : env);

const audited: AuditedService[] = [
  {
    name: 'sessions',
    chains: [timelineChain, partnerAuditChain],
    open: (env) => openSessionsDatabase(readSessionsConfig(withSchema(env, env.SESSIONS_DB_SCHEMA))),
  },
  {
    name: 'risk',
    chains: [auditChain],
    open: (env) => openRiskDatabase(readRiskConfig(withSchema(env, env.RISK_DB_SCHEMA))),
  },
];

async function verifyOne(service: AuditedService, env: Env): Promise<ChainVerdict[]> {
  const db = await service.open(env);
  try {
    const verdicts: ChainVerdict[] = [];
    for (const chain of service.chains) verdicts.push(await verifyChain(db.em.fork(), chain));
    return verdicts;
  } finally {
    await db.close();
  }
}

const log = createLogger({ name: 'audit-verify', level: 'warn' });
const args = process.argv.slice(2);
const json = args.includes('--json');
const names = args.filter((a) => !a.startsWith('--'));
const unknown = names.filter((n) => !audited.some((s) => s.name === n));
if (unknown.length > 0) {
  process.stderr.write(`unknown chain ${unknown.join(', ')}: one of ${audited.map((s) => s.name).join(', ')}\n`);
  process.exitCode = 2;
} else {
  const embeddedDatabaseUrl = `postgres://postgres:postgres@127.0.0.1:${process.env.EMBEDDED_PG_PORT ?? '54329'}/offramp`;
  const env: Env = { ...process.env, DATABASE_URL: process.env.DATABASE_URL ?? embeddedDatabaseUrl };
  try {
    const verdicts: ChainVerdict[] = [];
    for (const service of audited.filter((s) => names.length === 0 || names.includes(s.name)))
      verdicts.push(...(await verifyOne(service, env)));
    if (json) process.stdout.write(`${JSON.stringify(verdicts, null, 2)}\n`);
    for (const v of verdicts) process.stdout.write(`${describeVerdict(v)}\n`);
    process.exitCode = verdicts.every((v) => v.ok) ? 0 : 1;
  } catch (err) {
    log.error({ err }, 'audit verify could not run');
    process.exitCode = 2;
  }
}
