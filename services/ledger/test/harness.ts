import { callRpc, migrate, newId, openDatabase, type DatabaseOptions, type Messaging } from '@offramp/kit';
import { testInfra, testLogger, testMessaging, uniqueName } from '@offramp/kit/testing';
import { ledgerRpc, type RpcDef } from '@offramp/contracts';
import type { z } from 'zod';
import { buildLedger, migrations, openLedgerDatabase, type LedgerDeps } from '../src/app.ts';
import { readLedgerConfig } from '../src/config.ts';

export type TestLedger = Awaited<ReturnType<typeof startTestLedger>>;

/**
 * A ledger on its own schema and NATS namespace, against the real Postgres and NATS. Load tests
 * pass `dbTimeouts` (a generous pool wait): what they check must not depend on the machine's speed.
 */
export async function startTestLedger(opts: Pick<LedgerDeps, 'consumer' | 'relay'> & { poolMax?: number; dbTimeouts?: DatabaseOptions['timeouts'] } = {}) {
  const { databaseUrl, natsUrl } = testInfra();
  const messaging = await testMessaging('ledger-test');
  const config = readLedgerConfig({
    DATABASE_URL: databaseUrl,
    NATS_URL: natsUrl,
    DB_SCHEMA: uniqueName('ledger_t'),
    DB_POOL_MAX: String(opts.poolMax ?? 10),
  });
  const db = opts.dbTimeouts
    ? await openDatabase({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations, poolMax: config.DB_POOL_MAX, timeouts: opts.dbTimeouts })
    : await openLedgerDatabase(config);
  await migrate(db);
  const log = testLogger('ledger');
  let app = await buildLedger({ config, db, messaging, log, ...opts });
  const call = <D extends RpcDef>(def: D, req: z.output<D['request']>) => callRpc(messaging, def, req, { timeoutMs: 30_000 });

  return {
    config,
    db,
    messaging: messaging as Messaging,
    get app() {
      return app;
    },
    call,
    /** Stops and starts the service process parts (rpc, consumer, relay) on the same database. */
    async restart(next: Pick<LedgerDeps, 'consumer' | 'relay'> = {}) {
      await app.close();
      app = await buildLedger({ config, db, messaging, log, ...next });
    },
    /** Opens `trader:<id>` (or the given owner) and funds it from `external:deposits`. */
    async fund(owner: string, amountMinor: bigint, currency = 'USDT') {
      await call(ledgerRpc.openAccount, { owner: 'external:deposits', currency, allowNegative: true });
      await call(ledgerRpc.openAccount, { owner, currency, allowNegative: false });
      if (amountMinor > 0n) {
        const r = await call(ledgerRpc.transfer, {
          id: newId(),
          debit: { owner: 'external:deposits', currency },
          credit: { owner, currency },
          amountMinor,
          metadata: { reason: 'test-funding' },
        });
        if (r.outcome !== 'ok') throw new Error(`funding failed: ${r.outcome}`);
      }
    },
    async available(owner: string, currency = 'USDT') {
      const { balances } = await call(ledgerRpc.getBalances, { owner, currency });
      return balances[0]?.availableMinor ?? 0n;
    },
    async cleanup() {
      await app.close();
      await db.em.fork().execute(`drop schema if exists "${config.DB_SCHEMA}" cascade`);
      await db.close();
      await messaging.cleanup();
    },
  };
}

/** Reads every message of a stream subject (wire subject) through an ephemeral ordered consumer. */
export async function readStream(messaging: Messaging, stream: string, subject: string): Promise<{ id: string; data: unknown }[]> {
  const name = messaging.streamName(stream);
  const info = await messaging.jsm.streams.info(name);
  const out: { id: string; data: unknown }[] = [];
  if (info.state.messages === 0) return out;
  // An unfiltered ordered consumer: subject filters on consumers vary across server versions.
  const consumer = await messaging.js.consumers.get(name);
  for (;;) {
    const m = await consumer.next({ expires: 1_000 });
    if (!m) break;
    if (m.subject === messaging.wire(subject)) out.push({ id: m.headers?.get('Nats-Msg-Id') ?? '', data: m.json() });
    if (m.info.pending === 0) break;
  }
  return out;
}
