import { randomUUID } from 'node:crypto';
import { inTransaction, makeEnvelope, newId, queryRow, queryRows, type EntityManager } from '@offramp/kit';
import { eventually, readStream, startTestService, testLogger } from '@offramp/kit/testing';
import { pspAlfredCommands, pspAlfredRpc, type MessageDef } from '@offramp/contracts';
import { basePath, buildSandbox, type SettingsPatch } from '@offramp/alfred-sandbox';
import { z } from 'zod';
import { buildPspAlfred, openPspAlfredDatabase, readPspAlfredConfig, type PspAlfredHooks } from '../src/app.ts';
import { insertIntent, markCreated } from '../src/offramps/offramps-store.ts';

export const webhookSecret = 'test-webhook-secret';
const credentials = { key: 'test-key', secret: 'test-secret' };

export type TestPspAlfred = Awaited<ReturnType<typeof startTestPspAlfred>>;

interface Options {
  env?: Record<string, string>;
  sandbox?: SettingsPatch;
  /** psp-alfred's test hooks; the consumer's backoff is short and the reconciler off its timer unless said otherwise. */
  hooks?: PspAlfredHooks;
}

/**
 * psp-alfred on its own schema and NATS namespace, against real Postgres and NATS, talking to the
 * real Alfred sandbox in-process (listening on a port of its own, sending its webhooks to ours).
 */
export async function startTestPspAlfred(opts: Options = {}) {
  const sandbox = buildSandbox({
    apiKey: credentials.key,
    apiSecret: credentials.secret,
    log: testLogger('alfred-sandbox'),
    settings: { webhookSecret, webhookRetryBaseDelayMs: 50, webhookMaxAttempts: 3, ...opts.sandbox },
  });
  const sandboxUrl = await sandbox.app.listen({ port: 0, host: '127.0.0.1' });
  const service = await startTestService({
    name: 'psp-alfred',
    readConfig: readPspAlfredConfig,
    env: {
      ALFRED_BASE_URL: `${sandboxUrl}${basePath}`,
      ALFRED_API_KEY: credentials.key,
      ALFRED_API_SECRET: credentials.secret,
      ALFRED_WEBHOOK_SECRET: webhookSecret,
      ALFRED_TIMEOUT_MS: '1000',
      ALFRED_BREAKER_RESET_MS: '1000',
      ALFRED_BREAKER_VOLUME: '3',
      RECONCILE_AFTER_SECONDS: '1',
      RECONCILE_INTERVAL_MS: '200',
      ...opts.env,
    },
    openDatabase: openPspAlfredDatabase,
    build: buildPspAlfred,
    hooks: {
      reconcileOnTimer: false,
      devSettleMs: 2_000,
      ...opts.hooks,
      consumer: { backoffMs: [100, 200, 400], ...opts.hooks?.consumer },
    },
  });
  const { config, db, messaging, call } = service;
  const address = await service.app.http.app.listen({ port: 0, host: '127.0.0.1' });
  const webhookUrl = `${address}/psp/alfred/webhook`;
  const emu = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: object) => {
    const res = await sandbox.app.inject({ method, url: `/__emu${path}`, ...(body === undefined ? {} : { payload: body }) });
    if (res.statusCode >= 300) throw new Error(`emulator ${method} ${path}: ${res.statusCode} ${res.body}`);
    return res.statusCode === 204 ? null : (res.json() as Record<string, unknown>);
  };
  await emu('PUT', '/config', { webhookUrl });

  return {
    config,
    db,
    messaging,
    get app() {
      return service.app;
    },
    sandbox,
    webhookUrl,
    call,
    emu,
    /** Partner-API calls the sandbox saw, e.g. `('POST', '/fiatAccounts')`. */
    async partnerCalls(method: string, pathPrefix: string) {
      const { requests } = (await emu('GET', `/requests?method=${method}&pathPrefix=${encodeURIComponent(pathPrefix)}`)) as {
        requests: { path: string; statusCode: number | null }[];
      };
      return requests;
    },
    rows: service.rows,
    run: service.run,
    /** The payloads of the events of one subject that went through the outbox (of one withdrawal if given), oldest first. */
    async outboxEvents(subject: string, withdrawalId?: string) {
      const rows = await queryRows(
        db.em.fork(),
        z.object({ envelope: z.object({ payload: z.record(z.string(), z.unknown()) }) }),
        'select envelope from outbox where subject = ? order by seq',
        [subject],
      );
      const payloads = rows.map((r) => r.envelope.payload);
      return withdrawalId === undefined ? payloads : payloads.filter((p) => p.withdrawalId === withdrawalId);
    },
    /** The orders the sandbox holds for a withdrawal (its id is the order's memo). */
    ordersFor(withdrawalId: string) {
      return [...sandbox.state.offramps.values()].filter((o) => o.memo === withdrawalId);
    },
    /**
     * An offramp intent of a new withdrawal stored directly, as create-offramp stores it but with no
     * command nor call to Alfred; `then` takes it further in the same transaction. Answers its withdrawal id.
     */
    async storedIntent(then: (em: EntityManager, withdrawalId: string) => Promise<unknown>) {
      const withdrawalId = randomUUID();
      await inTransaction(db, async (em) => {
        await insertIntent(em, {
          withdrawalId,
          traderId: 'trader-x',
          fiatAccountId: 'fa-x',
          cryptoAmountMinor: 50_000_000n,
          fiatCurrency: 'MXN',
          fiatAmount: '800.00',
        });
        await then(em, withdrawalId);
      });
      return withdrawalId;
    },
    /** An order we know, stored directly: an offramp row in `created` with Alfred's transaction id (a new one unless given). */
    async knownOrder(transactionId: string = randomUUID()) {
      const withdrawalId = await this.storedIntent((em, withdrawalId) =>
        markCreated(em, withdrawalId, {
          transactionId,
          status: 'CREATED',
          depositAddress: 'TAddress',
          chain: 'TRON',
          sentAmountMinor: 50_000_000n,
        }),
      );
      return { withdrawalId, transactionId };
    },
    /** A trader verified by the platform, provisioned at Alfred and approved there (webhooks fanned back). */
    async readyTrader(country: string, traderId = `trader-${randomUUID()}`) {
      await expectOk(call(pspAlfredRpc.devSeedKyc, { traderId, country }));
      await expectOk(call(pspAlfredRpc.devProvisionCustomer, { traderId }));
      await expectOk(call(pspAlfredRpc.devApproveKyc, { traderId }));
      const row = await queryRow(
        db.em.fork(),
        z.object({ customer_id: z.string() }),
        'select customer_id from traders where trader_id = ?',
        [traderId],
      );
      return { traderId, customerId: row!.customer_id };
    },
    /** A ready MX trader with a SPEI account, and the create-offramp command of a withdrawal to it. */
    async prepareWithdrawal(cryptoAmountMinor = 50_000_000n) {
      const trader = await this.readyTrader('MX');
      const { fiatAccountId } = await expectOk(
        call(pspAlfredRpc.createFiatAccount, {
          traderId: trader.traderId,
          type: 'SPEI',
          fields: { accountNumber: validClabe, accountHolderName: 'Maria Hernandez' },
        }),
      );
      const command = {
        withdrawalId: randomUUID(),
        traderId: trader.traderId,
        fiatAccountId,
        cryptoAmountMinor,
        fiatCurrency: 'MXN',
        fiatAmount: '800.00',
      };
      return { ...trader, fiatAccountId, command };
    },
    /** The offramp row of a withdrawal once it is no longer `requested`. */
    async settledOfframp(withdrawalId: string, timeoutMs = 15_000) {
      return eventually(
        `the offramp of ${withdrawalId}`,
        async () => {
          const row = await queryRow(
            db.em.fork(),
            z.object({
              state: z.string(),
              transaction_id: z.string().nullable(),
              alfred_status: z.string().nullable(),
              attempts: z.number(),
            }),
            'select state, transaction_id, alfred_status, attempts from offramps where withdrawal_id = ?',
            [withdrawalId],
          );
          return row && row.state !== 'requested' ? row : undefined;
        },
        { timeoutMs },
      );
    },
    /** Every message of an event subject that reached JetStream, oldest first. */
    async published(subject: string) {
      await service.app.relay.flush();
      return (await readStream(messaging, 'EVENTS', subject)).map((m) => (m.data as { payload: Record<string, unknown> }).payload);
    },
    /** Sends `cmd.psp-alfred.create-offramp.v1` as sessions would (a new envelope each time). */
    async sendCreateOfframp(payload: z.output<typeof pspAlfredCommands.createOfframp.payload>) {
      return this.sendCommand(pspAlfredCommands.createOfframp, payload);
    },
    /** Sends one of psp-alfred's commands as sessions would (a new envelope each time). */
    async sendCommand<S extends z.ZodType<{ withdrawalId: string }>>(def: MessageDef<S>, payload: z.output<S>) {
      const envelope = makeEnvelope(def, payload, { correlationId: payload.withdrawalId, traceId: newId() });
      await messaging.js.publish(messaging.wire(def.subject), JSON.stringify(envelope), { msgID: envelope.id });
      return envelope;
    },
    /** How many commands psp-alfred's consumer has handled (its inbox rows). */
    async handledCommands() {
      const row = await queryRow(
        db.em.fork(),
        z.object({ n: z.coerce.number() }),
        "select count(*) as n from inbox where consumer = 'psp-alfred-commands'",
      );
      return row!.n;
    },
    async cleanup() {
      await service.cleanup();
      await sandbox.close();
    },
  };
}

/** The data of an ok service result; fails the test with the refusal otherwise. */
export async function expectOk<T>(pending: Promise<{ ok: true; data: T } | { ok: false; error: unknown }>): Promise<T> {
  const result = await pending;
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.error)}`);
  return result.data;
}

export const validClabe = '002010077777777771';
export const badClabe = '002010077777777770';
