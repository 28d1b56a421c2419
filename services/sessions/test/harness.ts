import type { z } from 'zod';
import { callRpc, migrate, newId, type Messaging } from '@offramp/kit';
import { eventually, testInfra, testLogger, testMessaging, uniqueName, waitUntilQuiet } from '@offramp/kit/testing';
import { buildLedger, openLedgerDatabase, readLedgerConfig, type LedgerApp } from '@offramp/ledger';
import { exceptionsRpc, ledgerRpc, sessionsRpc, type RpcDef, type WithdrawalStatus } from '@offramp/contracts';
import { buildSessions, openSessionsDatabase, readSessionsConfig, type SessionsApp, type SessionsDeps } from '../src/app.ts';
import { fiatAccountId, playPspAlfred, playRisk, type OfframpScenario } from './players.ts';

export type TestStack = Awaited<ReturnType<typeof startTestStack>>;

/** Waits until the predicate holds (the kit's one polling helper), or fails naming what it waited for. */
export async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  await eventually(what, predicate, { timeoutMs });
}

/** Sweeper settings for tests: a pass every 200 ms and thresholds in seconds, overridable per test. */
const testEnv = {
  SWEEPER_INTERVAL_MS: '200',
  SWEEPER_INITIATING_STALE_MS: '1000',
  SWEEPER_OFFRAMP_RESEND_MS: '5000',
  SWEEPER_RISK_REPUBLISH_MS: '5000',
  RPC_TIMEOUT_MS: '10000',
};

/**
 * The sessions service with a real ledger on the same NATS namespace, each on its own schema,
 * and the risk and psp-alfred services played over the bus by the test.
 */
export async function startTestStack(opts: { env?: Record<string, string>; hooks?: SessionsDeps['hooks']; scenario?: OfframpScenario } = {}) {
  const { databaseUrl, natsUrl } = testInfra();
  const messaging = await testMessaging('sessions-test');
  const log = testLogger('sessions');
  const ledgerConfig = readLedgerConfig({ DATABASE_URL: databaseUrl, NATS_URL: natsUrl, DB_SCHEMA: uniqueName('ledger_t') });
  const ledgerDb = await openLedgerDatabase(ledgerConfig);
  await migrate(ledgerDb);
  const startLedger = () => buildLedger({ config: ledgerConfig, db: ledgerDb, messaging, log: testLogger('ledger'), relay: { pollMs: 50 } });
  let ledger: LedgerApp | null = await startLedger();
  const config = readSessionsConfig({ DATABASE_URL: databaseUrl, NATS_URL: natsUrl, DB_SCHEMA: uniqueName('sessions_t'), ...testEnv, ...opts.env });
  const db = await openSessionsDatabase(config);
  await migrate(db);
  const risk = await playRisk(messaging, testLogger('risk-player'));
  const psp = await playPspAlfred(messaging, testLogger('psp-player'), opts.scenario ?? 'success');
  const withRelay = (hooks: SessionsDeps['hooks'] = {}) => ({ ...hooks, relay: { pollMs: 50, ...hooks.relay } });
  let app: SessionsApp = await buildSessions({ config, db, messaging, log, hooks: withRelay(opts.hooks) });
  const call = <D extends RpcDef>(def: D, req: z.output<D['request']>) => callRpc(messaging, def, req, { timeoutMs: 30_000 });

  const stack = {
    config,
    db,
    messaging: messaging as Messaging,
    risk,
    psp,
    call,
    get app() {
      return app;
    },
    /** Closes the service (as a process stop would) and builds a new one on the same schema. */
    async restart(hooks: SessionsDeps['hooks'] = {}) {
      await app.close();
      app = await buildSessions({ config, db, messaging, log, hooks: withRelay(hooks) });
    },
    /** Stops the ledger service (its rpcs then get no responders); `startLedger` brings it back on the same schema. */
    async stopLedger() {
      await ledger?.close();
      ledger = null;
    },
    async startLedger() {
      ledger ??= await startLedger();
    },
    /** The exceptions opened about a withdrawal (the operators' rpc). */
    async exceptionsOf(withdrawalId: string) {
      return (await call(exceptionsRpc.list, { withdrawalId, page: 1, limit: 100 })).exceptions;
    },
    /** A trader with a PIX account and `amountMinor` USDT on the ledger. */
    async trader(amountMinor: bigint, country = 'BR') {
      const traderId = `t-${newId()}`;
      psp.countries.set(traderId, country);
      await call(ledgerRpc.openAccount, { owner: 'external:deposits', currency: 'USDT', allowNegative: true });
      await call(ledgerRpc.openAccount, { owner: `trader:${traderId}`, currency: 'USDT', allowNegative: false });
      if (amountMinor > 0n) await stack.fund(traderId, amountMinor);
      return traderId;
    },
    async fund(traderId: string, amountMinor: bigint) {
      const r = await call(ledgerRpc.transfer, {
        id: newId(),
        debit: { owner: 'external:deposits', currency: 'USDT' },
        credit: { owner: `trader:${traderId}`, currency: 'USDT' },
        amountMinor,
        metadata: {},
      });
      if (r.outcome !== 'ok') throw new Error(`funding failed: ${r.outcome}`);
    },
    async balance(traderId: string) {
      const { balances } = await call(ledgerRpc.getBalances, { owner: `trader:${traderId}`, currency: 'USDT' });
      return balances[0] ?? null;
    },
    /** Opens a BR_PIX session for `amount` BRL; throws when refused. */
    async session(traderId: string, amount = '50.00') {
      const r = await call(sessionsRpc.createSession, { traderId, amount, sourceCurrency: 'BRL', paymentRouteId: 'BR_PIX', walletId: 'MAIN', fiatAccountId: fiatAccountId(traderId) });
      if (!r.ok) throw new Error(`session refused: ${r.error.code}`);
      return r.data;
    },
    initiate: (traderId: string, sessionId: string) => call(sessionsRpc.initiateWithdrawal, { traderId, sessionId }),
    async withdrawal(withdrawalId: string) {
      const r = await call(sessionsRpc.getWithdrawal, { withdrawalId });
      if (!r.ok) throw new Error(`withdrawal ${withdrawalId}: ${r.error.code}`);
      return r.data;
    },
    async reaches(withdrawalId: string, status: WithdrawalStatus) {
      await until(`withdrawal ${withdrawalId} ${status}`, async () => {
        const r = await call(sessionsRpc.getWithdrawal, { withdrawalId });
        return r.ok && r.data.status === status;
      });
    },
    /** Waits until the ledger has resolved the hold (posted or voided), i.e. the money effect landed. */
    async holdResolved(withdrawalId: string) {
      await until(`hold ${withdrawalId} resolved`, async () => {
        const { transfer } = await call(ledgerRpc.getTransfer, { id: withdrawalId });
        return transfer !== null && transfer.holdStatus !== 'pending';
      });
      return (await call(ledgerRpc.getTransfer, { id: withdrawalId })).transfer!;
    },
    /** Until every outbox is drained and every durable consumer has nothing pending: whatever a message could cause has happened. */
    quiet: () => waitUntilQuiet({ databases: [db, ledgerDb], messaging }),
    async rows<T>(sql: string, params: unknown[] = []) {
      return db.em.fork().execute<T[]>(sql, params);
    },
    async cleanup() {
      await app.close();
      await risk.stop();
      await psp.stop();
      await ledger?.close();
      await db.em.fork().execute(`drop schema if exists "${config.DB_SCHEMA}" cascade`);
      await ledgerDb.em.fork().execute(`drop schema if exists "${ledgerConfig.DB_SCHEMA}" cascade`);
      await db.close();
      await ledgerDb.close();
      await messaging.cleanup();
    },
  };
  return stack;
}

/** The payloads of every message on a subject, read from the stream by sequence (no consumer left behind). */
export async function readStream<T = unknown>(messaging: Messaging, stream: string, subject: string): Promise<T[]> {
  const name = messaging.streamName(stream);
  const { state } = await messaging.jsm.streams.info(name);
  const out: T[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const m = await messaging.jsm.streams.getMessage(name, { seq }).catch(() => null);
    if (m && m.subject === messaging.wire(subject)) out.push((m.json() as { payload: T }).payload);
  }
  return out;
}
