import { newId } from '@offramp/kit';
import { eventually, readStream, startTestService, testLogger, testMessaging, waitUntilQuiet } from '@offramp/kit/testing';
import { buildLedger, openLedgerDatabase, readLedgerConfig } from '@offramp/ledger';
import { exceptionsRpc, ledgerRpc, pspAlfredEvents, sessionsRpc, type RiskDecision, type WithdrawalStatus } from '@offramp/contracts';
import { buildSessions, openSessionsDatabase, readSessionsConfig, type SessionsHooks } from '../src/app.ts';
import { fiatAccountId, playPspAlfred, playRisk, publishEvent, type OfframpScenario } from './players.ts';

export type TestStack = Awaited<ReturnType<typeof startTestStack>>;

/** What the tests fund a trader with, and what a 50 BRL session debits (1 USDT = 5 BRL at the players' quote). */
export const funded = 25_000_000n;
export const debit = 10_000_000n;

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

/** Both services publish their outboxes every 50 ms besides the wake-ups, so tests do not wait on the default poll. */
const ledgerHooks = { relay: { pollMs: 50 } };
const withRelay = (hooks: SessionsHooks = {}): SessionsHooks => ({ ...hooks, relay: { pollMs: 50, ...hooks.relay } });

/**
 * The sessions service with a real ledger on one NATS namespace (the harness's), each on its own
 * schema, and the risk and psp-alfred services played over the bus by the test.
 */
export async function startTestStack(opts: { env?: Record<string, string>; hooks?: SessionsHooks; scenario?: OfframpScenario } = {}) {
  const messaging = await testMessaging('sessions-test');
  const ledger = await startTestService({
    name: 'ledger',
    readConfig: readLedgerConfig,
    openDatabase: openLedgerDatabase,
    build: buildLedger,
    messaging,
    hooks: ledgerHooks,
  });
  const sessions = await startTestService({
    name: 'sessions',
    readConfig: readSessionsConfig,
    env: { ...testEnv, ...opts.env },
    openDatabase: openSessionsDatabase,
    build: buildSessions,
    messaging,
    hooks: withRelay(opts.hooks),
  });
  const risk = await playRisk(messaging, testLogger('risk-player'));
  const psp = await playPspAlfred(messaging, testLogger('psp-player'), opts.scenario ?? 'success');
  const { call, db, config, rows, run } = sessions;

  const stack = {
    config,
    db,
    messaging,
    risk,
    psp,
    call,
    rows,
    run,
    get app() {
      return sessions.app;
    },
    /** Closes the service (as a process stop would) and builds a new one on the same schema. */
    restart: (hooks?: SessionsHooks) => sessions.restart(withRelay(hooks)),
    /** Stops the ledger service (its rpcs then get no responders); `startLedger` brings it back on the same schema. */
    stopLedger: () => ledger.stop(),
    startLedger: () => ledger.restart(ledgerHooks),
    /** The exceptions opened about a withdrawal (the operators' rpc). */
    async exceptionsOf(withdrawalId: string) {
      return (await call(exceptionsRpc.list, { withdrawalId, page: 1, limit: 100 })).exceptions;
    },
    /** A trader with a PIX account and `amountMinor` USDT on the ledger. */
    async trader(amountMinor: bigint, country = 'BR') {
      const traderId = `t-${newId()}`;
      psp.countries.set(traderId, country);
      await call(ledgerRpc.openAccount, { owner: `trader:${traderId}`, currency: 'USDT', allowNegative: false });
      if (amountMinor > 0n) await stack.fund(traderId, amountMinor);
      return traderId;
    },
    /** Credits the trader from `external:deposits` (a system account the ledger's migration creates). */
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
      const r = await call(sessionsRpc.createSession, {
        traderId,
        amount,
        sourceCurrency: 'BRL',
        paymentRouteId: 'BR_PIX',
        walletId: 'MAIN',
        fiatAccountId: fiatAccountId(traderId),
      });
      if (!r.ok) throw new Error(`session refused: ${r.error.code}`);
      return r.data;
    },
    initiate: (traderId: string, sessionId: string) => call(sessionsRpc.initiateWithdrawal, { traderId, sessionId }),
    /**
     * A 50 BRL (10 USDT) withdrawal initiated by a trader (a new one funded with `funded` unless
     * given), with the given risk decision and Alfred scenario; throws when initiate refuses.
     */
    async withdraw(o: { traderId?: string; funded?: bigint; scenario?: OfframpScenario; decision?: RiskDecision | 'hold' } = {}) {
      const traderId = o.traderId ?? (await stack.trader(o.funded ?? funded));
      if (o.scenario) psp.scenarios.set(traderId, o.scenario);
      if (o.decision) risk.decisions.set(traderId, o.decision);
      const { sessionId } = await stack.session(traderId);
      const r = await stack.initiate(traderId, sessionId);
      if (!r.ok) throw new Error(`initiate refused: ${r.error.code}`);
      return { traderId, sessionId, withdrawalId: r.data.withdrawalId };
    },
    /** Reports the withdrawal's order created at Alfred for its debit, as psp-alfred would; answers the order's id. */
    async offrampCreated(withdrawalId: string, transactionId = psp.transactionOf(withdrawalId)) {
      await publishEvent(messaging, pspAlfredEvents.offrampCreated, {
        withdrawalId,
        transactionId,
        depositAddress: '0xd',
        chain: 'TRON',
        cryptoAmountMinor: debit,
      });
      return transactionId;
    },
    /** A withdrawal in `processing`: approved, its order at Alfred reported by the test. */
    async processing() {
      const w = await stack.withdraw({ scenario: 'manual' });
      await stack.reaches(w.withdrawalId, 'approved');
      const transactionId = await stack.offrampCreated(w.withdrawalId);
      await stack.reaches(w.withdrawalId, 'processing');
      return { ...w, transactionId };
    },
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
    /** The payloads of every event published on `subject`, in order. */
    async published<T>(subject: string): Promise<T[]> {
      return (await readStream(messaging, 'EVENTS', subject)).map((m) => (m.data as { payload: T }).payload);
    },
    /** Until every outbox is drained and every durable consumer has nothing pending: whatever a message could cause has happened. */
    quiet: () => waitUntilQuiet({ databases: [db, ledger.db], messaging }),
    async cleanup() {
      await sessions.stop();
      await risk.stop();
      await psp.stop();
      await ledger.cleanup();
      await sessions.cleanup();
      await messaging.cleanup();
    },
  };
  return stack;
}
