import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { signatureHeader } from '@offramp/alfred-sandbox';
import { minorToDecimal, pspAlfredCommands, pspAlfredEvents, pspAlfredRpc } from '@offramp/contracts';
import { inTransaction, type EntityManager } from '@offramp/kit';
import { eventually } from '@offramp/kit/testing';
import { z } from 'zod';
import { checkAmounts } from '../src/discrepancies/discrepancies.ts';
import { storeTransactionId } from '../src/offramps/reference.ts';
import { recordAttempt } from '../src/offramps/offramps-store.ts';
import { ingestPartnerEvent } from '../src/webhooks/ingest.ts';
import { expectOk, startTestPspAlfred, webhookSecret, type TestPspAlfred } from './harness.ts';

/** Per-withdrawal gates run between Alfred's answer to POST /offramp and the store of its transaction id. */
const gates = new Map<string, (transactionId: string) => Promise<void>>();

let t: TestPspAlfred;
beforeAll(async () => {
  t = await startTestPspAlfred({
    hooks: { offramp: { afterOfframpAnswer: async (withdrawalId, transactionId) => gates.get(withdrawalId)?.(transactionId) } },
  });
});
afterAll(async () => {
  await t?.cleanup();
});

type Harness = TestPspAlfred;
const chain = ['ON_CHAIN_DEPOSIT_RECEIVED', 'TRADE_COMPLETED', 'FIAT_TRANSFER_INITIATED', 'FIAT_TRANSFER_COMPLETED'];

const statusEvents = (h: Harness, withdrawalId: string) => h.outboxEvents(pspAlfredEvents.offrampStatusChanged.subject, withdrawalId);
const createdEvents = (h: Harness, withdrawalId: string) => h.outboxEvents(pspAlfredEvents.offrampCreated.subject, withdrawalId);
const discrepancies = async (h: Harness, key: string) =>
  (await h.outboxEvents(pspAlfredEvents.discrepancyFound.subject)).filter((e) => e.key === key);
const kept = (h: Harness, referenceId: string) =>
  h.rows(
    z.object({ status: z.string(), outcome: z.string() }),
    "select status, outcome from partner_events where event_type = 'OFFRAMP' and reference_id = ? order by id",
    [referenceId],
  );

/** Waits until the sandbox's webhooks for `referenceId` reached psp-alfred and were kept as unknown. */
async function keptAsUnknown(h: Harness, referenceId: string, count: number) {
  return eventually(`${count} events of ${referenceId} kept as unknown`, async () => {
    const rows = await kept(h, referenceId);
    return rows.length === count && rows.every((r) => r.outcome === 'unknown_reference') && rows;
  });
}

/** A create-offramp whose POST /offramp takes effect at Alfred while every answer is lost, until `release`. */
async function orderWithLostAnswer(h: Harness) {
  const { command } = await h.prepareWithdrawal();
  await h.emu('POST', '/faults', { mode: 'timeout', count: 1_000, pathPrefix: '/offramp', afterEffect: true, delayMs: 3_000 });
  await h.sendCreateOfframp(command);
  const order = await eventually('the order at Alfred', async () => h.ordersFor(command.withdrawalId)[0]);
  return { command, transactionId: order.transactionId, release: () => h.emu('DELETE', '/faults') };
}

const signedWebhook = (h: Harness, body: object) => {
  const raw = JSON.stringify(body);
  return h.app.http.app.inject({
    method: 'POST',
    url: '/psp/alfred/webhook',
    headers: { 'content-type': 'application/json', signature: signatureHeader(webhookSecret, raw, Math.floor(Date.now() / 1000), 'dot') },
    payload: raw,
  });
};

/** A transaction that does `work` and then stays open until released: a webhook or a store caught mid-way. */
function heldTransaction<T>(h: Harness, work: (em: EntityManager) => Promise<T>) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let worked!: (value: T) => void;
  const done = new Promise<T>((resolve) => (worked = resolve));
  const committed = h.db.em.fork().transactional(async (em) => {
    const value = await work(em);
    worked(value);
    await released;
    return value;
  });
  return { done, release, committed };
}

/** Waits until some backend waits for the reference's advisory lock (the other side is parked on it). */
async function waitingOnReference(h: Harness, referenceId: string) {
  await eventually(`a transaction waiting on the lock of ${referenceId}`, async () => {
    const [row] = await h.rows(
      z.object({ n: z.number() }),
      "select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted and objid::bigint = (hashtext('offramp-ref:' || ?)::bigint & 4294967295)",
      [referenceId],
    );
    return row!.n > 0;
  });
}

/** An intent that sent its POST /offramp and has not heard back (no transaction id). */
const intentInFlight = (h: Harness) => h.storedIntent((em, withdrawalId) => recordAttempt(em, withdrawalId, { memo: withdrawalId }));

/** A withdrawal whose command asks for exactly what Alfred quotes now (no amount discrepancy). */
async function consistentWithdrawal(h: Harness) {
  const prepared = await h.prepareWithdrawal();
  const quote = await expectOk(h.call(pspAlfredRpc.quote, { traderId: prepared.traderId, fiatCurrency: 'MXN', fiatAmount: '800.00' }));
  return { ...prepared, command: { ...prepared.command, cryptoAmountMinor: quote.cryptoAmountMinor, fiatAmount: quote.fiatAmount } };
}

async function createdOrder(h: Harness, prepared?: Awaited<ReturnType<Harness['prepareWithdrawal']>>) {
  const { command, traderId } = prepared ?? (await h.prepareWithdrawal());
  await h.sendCreateOfframp(command);
  const row = await h.settledOfframp(command.withdrawalId);
  return { withdrawalId: command.withdrawalId, transactionId: row.transaction_id!, traderId, command };
}

async function reconcile(h: Harness, withdrawalId: string) {
  const before = await h.handledCommands();
  await h.sendCommand(pspAlfredCommands.reconcileOfframp, { withdrawalId });
  await eventually('reconcile-offramp handled', async () => (await h.handledCommands()) > before);
}

describe('early partner events: kept while the reference is unknown, applied once when it becomes known', () => {
  it('when the answer to POST /offramp is lost and Alfred fails the order before its id is stored, then FAILED is kept and published once when the replay stores the id', async () => {
    const { command, transactionId, release } = await orderWithLostAnswer(t);
    await t.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'failure', failureReason: 'BANK_REJECTED' });
    await keptAsUnknown(t, transactionId, 1);
    expect(await statusEvents(t, command.withdrawalId)).toEqual([]);

    await release();
    const row = await t.settledOfframp(command.withdrawalId, 30_000);
    expect(row).toMatchObject({ state: 'created', transaction_id: transactionId, alfred_status: 'FAILED' });
    expect(await statusEvents(t, command.withdrawalId)).toEqual([
      { withdrawalId: command.withdrawalId, transactionId, status: 'FAILED', failureReason: 'BANK_REJECTED', source: 'webhook' },
    ]);
    expect(await createdEvents(t, command.withdrawalId)).toHaveLength(1);
    expect(await kept(t, transactionId)).toEqual([{ status: 'FAILED', outcome: 'applied' }]);
    expect(t.ordersFor(command.withdrawalId)).toHaveLength(1);
  }, 60_000);

  it('when the answer is lost and Alfred completes the order before its id is stored, then every step is published once, in the order of the chain', async () => {
    const { command, transactionId, release } = await orderWithLostAnswer(t);
    await t.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'success' });
    await keptAsUnknown(t, transactionId, 4);

    await release();
    const row = await t.settledOfframp(command.withdrawalId, 30_000);
    expect(row).toMatchObject({ state: 'created', alfred_status: 'FIAT_TRANSFER_COMPLETED' });
    const events = await statusEvents(t, command.withdrawalId);
    expect(events.map((e) => e.status)).toEqual(chain);
    expect(await createdEvents(t, command.withdrawalId)).toHaveLength(1);
    expect((await kept(t, transactionId)).map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied', 'applied']);
    expect(t.ordersFor(command.withdrawalId)).toHaveLength(1);
  }, 60_000);

  it('when the answer is lost, the order fails at Alfred and its webhook is lost too, then the replay answered FAILED publishes it after offramp-created', async () => {
    const { command, transactionId, release } = await orderWithLostAnswer(t);
    await t.emu('PUT', '/config', { webhookDelivery: false });
    try {
      await t.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'failure', failureReason: 'BANK_REJECTED' });
    } finally {
      await t.emu('PUT', '/config', { webhookDelivery: true });
    }
    await release();
    expect(await t.settledOfframp(command.withdrawalId, 30_000)).toMatchObject({ state: 'created', alfred_status: 'FAILED' });
    const outbox = await t.rows(
      z.object({ subject: z.string(), envelope: z.object({ payload: z.record(z.string(), z.unknown()) }) }),
      "select subject, envelope from outbox where envelope->>'correlationId' = ? order by seq",
      [command.withdrawalId],
    );
    expect(outbox.map((r) => r.subject).filter((subject) => subject !== pspAlfredEvents.discrepancyFound.subject)).toEqual([
      pspAlfredEvents.offrampCreated.subject,
      pspAlfredEvents.offrampStatusChanged.subject,
    ]);
    expect(await statusEvents(t, command.withdrawalId)).toEqual([
      { withdrawalId: command.withdrawalId, transactionId, status: 'FAILED', failureReason: 'BANK_REJECTED', source: 'reconciliation' },
    ]);
  }, 60_000);

  it('when the webhook arrives between Alfred answering POST /offramp and the store of its id, then it is kept and applied by the store, once', async () => {
    const { command } = await t.prepareWithdrawal();
    gates.set(command.withdrawalId, async (transactionId) => {
      await t.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'failure', failureReason: 'ACCOUNT_CLOSED' });
      await keptAsUnknown(t, transactionId, 1);
    });
    try {
      await t.sendCreateOfframp(command);
      const row = await t.settledOfframp(command.withdrawalId);
      expect(row).toMatchObject({ state: 'created', alfred_status: 'FAILED' });
      expect(await statusEvents(t, command.withdrawalId)).toEqual([
        {
          withdrawalId: command.withdrawalId,
          transactionId: row.transaction_id,
          status: 'FAILED',
          failureReason: 'ACCOUNT_CLOSED',
          source: 'webhook',
        },
      ]);
      expect(await createdEvents(t, command.withdrawalId)).toHaveLength(1);
      expect(await kept(t, row.transaction_id!)).toEqual([{ status: 'FAILED', outcome: 'applied' }]);
    } finally {
      gates.delete(command.withdrawalId);
    }
  });

  it('when a webhook is being stored as unknown while the id is stored, then the store waits for it and applies it; a copy of the kept event does not spend it', async () => {
    const withdrawalId = await intentInFlight(t);
    const transactionId = randomUUID();
    const event = { eventType: 'OFFRAMP' as const, referenceId: transactionId, status: 'FAILED', metadata: { failureReason: 'LIMIT' } };
    const ctx = { source: 'webhook' as const, rawBody: null, traceId: randomUUID(), tolerancePct: 2 };
    // A copy arriving while the reference is still unknown is a duplicate delivery, and the event stays kept.
    expect(await inTransaction(t.db, (em) => ingestPartnerEvent(em, { ...event, status: 'TRADE_COMPLETED' }, ctx))).toBe(
      'unknown_reference',
    );
    expect(await inTransaction(t.db, (em) => ingestPartnerEvent(em, { ...event, status: 'TRADE_COMPLETED' }, ctx))).toBe('duplicate');

    const webhook = heldTransaction(t, (em) => ingestPartnerEvent(em, event, ctx));
    expect(await webhook.done).toBe('unknown_reference');
    const store = inTransaction(t.db, (em) => storeTransactionId(em, withdrawalId, transactionId, ctx));
    await waitingOnReference(t, transactionId);
    webhook.release();
    await webhook.committed;
    expect(await store).toBe(2);
    expect((await statusEvents(t, withdrawalId)).map((e) => e.status)).toEqual(['TRADE_COMPLETED', 'FAILED']);
    expect(await kept(t, transactionId)).toEqual([
      { status: 'TRADE_COMPLETED', outcome: 'applied' },
      { status: 'FAILED', outcome: 'applied' },
    ]);
  });

  it('when the id is being stored while a webhook arrives, then the webhook waits for the store and is applied at once', async () => {
    const withdrawalId = await intentInFlight(t);
    const transactionId = randomUUID();
    const ctx = { source: 'webhook' as const, rawBody: null, traceId: randomUUID(), tolerancePct: 2 };
    const store = heldTransaction(t, (em) => storeTransactionId(em, withdrawalId, transactionId, ctx));
    expect(await store.done).toBe(0);
    const webhook = signedWebhook(t, { referenceId: transactionId, eventType: 'OFFRAMP', status: 'FIAT_TRANSFER_COMPLETED', metadata: {} });
    await waitingOnReference(t, transactionId);
    store.release();
    await store.committed;
    expect((await webhook).json().data.outcome).toBe('applied');
    expect((await statusEvents(t, withdrawalId)).map((e) => e.status)).toEqual(['FIAT_TRANSFER_COMPLETED']);
  });
});

describe('order-state rpc', () => {
  const state = (withdrawalId: string, fence = false) => t.call(pspAlfredRpc.orderState, { withdrawalId, fence });

  it('when a withdrawal has no intent, then none; with fence, a later create-offramp makes no order and says so as a refusal', async () => {
    const { command } = await t.prepareWithdrawal();
    expect(await expectOk(state(command.withdrawalId))).toEqual({ state: 'none', transactionId: null, status: null, failureReason: null });
    expect(await expectOk(state(command.withdrawalId, true))).toMatchObject({ state: 'none' });
    const quotesBefore = (await t.partnerCalls('POST', '/quotes')).length;
    await t.sendCreateOfframp(command);
    expect(await t.settledOfframp(command.withdrawalId)).toMatchObject({ state: 'fenced', attempts: 0, transaction_id: null });
    expect(await t.partnerCalls('POST', '/quotes')).toHaveLength(quotesBefore);
    expect(t.ordersFor(command.withdrawalId)).toEqual([]);
    expect(await createdEvents(t, command.withdrawalId)).toEqual([]);
    expect(await t.outboxEvents(pspAlfredEvents.offrampRefused.subject, command.withdrawalId)).toEqual([
      expect.objectContaining({
        withdrawalId: command.withdrawalId,
        partnerCode: null,
        message: 'no order was made: fenced off by an operator reject',
      }),
    ]);
  });

  it('when the intent has sent nothing yet (its quote keeps failing), then fence answers none and the command does nothing after recovery', async () => {
    const { command } = await t.prepareWithdrawal();
    await t.emu('POST', '/faults', { mode: 'error', count: 1_000, pathPrefix: '/quotes' });
    let envelope;
    try {
      envelope = await t.sendCreateOfframp(command);
      await eventually(
        'the intent',
        async () => (await t.rows(z.unknown(), 'select 1 from offramps where withdrawal_id = ?', [command.withdrawalId])).length > 0,
      );
      const answer = await eventually(
        'the fence',
        async () => {
          const r = await expectOk(state(command.withdrawalId, true));
          // `unknown` while a delivery of the create holds the withdrawal (its quote in flight); asked again once it lets go.
          return r.state === 'none' && r;
        },
        { timeoutMs: 20_000 },
      );
      expect(answer).toMatchObject({ state: 'none' });
    } finally {
      await t.emu('DELETE', '/faults');
    }
    const id = envelope!.id;
    await eventually(
      'the create handled after recovery',
      async () => (await t.rows(z.unknown(), 'select 1 from inbox where message_id = ?', [id])).length > 0,
      { timeoutMs: 20_000 },
    );
    expect(await t.settledOfframp(command.withdrawalId)).toMatchObject({ state: 'fenced', transaction_id: null });
    expect(t.ordersFor(command.withdrawalId)).toEqual([]);
    expect(await createdEvents(t, command.withdrawalId)).toEqual([]);
  }, 40_000);

  it('when an attempt has an unknown outcome, then unknown, and fence changes nothing', async () => {
    const { command, transactionId, release } = await orderWithLostAnswer(t);
    expect(await expectOk(state(command.withdrawalId, true))).toMatchObject({ state: 'unknown', status: null });
    await release();
    const row = await t.settledOfframp(command.withdrawalId, 30_000);
    expect(row).toMatchObject({ state: 'created', transaction_id: transactionId });
    expect(await expectOk(state(command.withdrawalId))).toEqual({ state: 'live', transactionId, status: 'CREATED', failureReason: null });
  }, 60_000);

  it('when the order is open, paid out or failed at Alfred, then live, completed or failed as Alfred says now', async () => {
    const open = await createdOrder(t);
    const paid = await createdOrder(t);
    const failed = await createdOrder(t);
    expect(await expectOk(state(open.withdrawalId))).toEqual({
      state: 'live',
      transactionId: open.transactionId,
      status: 'CREATED',
      failureReason: null,
    });
    await t.emu('POST', `/offramps/${paid.transactionId}/walk`, { outcome: 'success' });
    expect(await expectOk(state(paid.withdrawalId, true))).toEqual({
      state: 'completed',
      transactionId: paid.transactionId,
      status: 'FIAT_TRANSFER_COMPLETED',
      failureReason: null,
    });
    await t.emu('POST', `/offramps/${failed.transactionId}/walk`, {
      outcome: 'failure',
      failureReason: 'BANK_REJECTED',
      failAfter: 'TRADE_COMPLETED',
    });
    expect(await expectOk(state(failed.withdrawalId))).toEqual({
      state: 'failed',
      transactionId: failed.transactionId,
      status: 'FAILED',
      failureReason: 'BANK_REJECTED',
    });
  });
});

describe('reconcile-offramp command', () => {
  it('when the final status was published already, then reconcile-offramp reads Alfred and publishes it again, as reconciliation', async () => {
    const { withdrawalId, transactionId } = await createdOrder(t);
    await t.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'failure', failureReason: 'BANK_REJECTED' });
    await eventually('the FAILED webhook', async () => (await statusEvents(t, withdrawalId)).length === 1);
    await reconcile(t, withdrawalId);
    expect(await statusEvents(t, withdrawalId)).toEqual([
      { withdrawalId, transactionId, status: 'FAILED', failureReason: 'BANK_REJECTED', source: 'webhook' },
      { withdrawalId, transactionId, status: 'FAILED', failureReason: 'BANK_REJECTED', source: 'reconciliation' },
    ]);
    const [row] = await t.rows(
      z.object({ duplicates: z.number(), outcome: z.string() }),
      'select duplicates, outcome from partner_events where reference_id = ?',
      [transactionId],
    );
    expect(row).toEqual({ duplicates: 0, outcome: 'applied' });
  });

  it('when there is no intent for the withdrawal, then reconcile-offramp publishes nothing', async () => {
    const withdrawalId = randomUUID();
    await reconcile(t, withdrawalId);
    expect(await statusEvents(t, withdrawalId)).toEqual([]);
    expect(await createdEvents(t, withdrawalId)).toEqual([]);
    expect(await t.rows(z.unknown(), 'select 1 from offramps where withdrawal_id = ?', [withdrawalId])).toEqual([]);
  });

  it('when the mirror holds a final status that was never published, then the periodic reconciler publishes it', async () => {
    const { withdrawalId, transactionId } = await createdOrder(t);
    await t.emu('PUT', '/config', { webhookDelivery: false });
    try {
      await t.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'failure', failureReason: 'ACCOUNT_CLOSED' });
    } finally {
      await t.emu('PUT', '/config', { webhookDelivery: true });
    }
    // What the create path did before: the mirror took Alfred's final status and nothing was published.
    await t.run("update offramps set alfred_status = 'FAILED', status_at = now() - interval '1 hour' where withdrawal_id = ?", [
      withdrawalId,
    ]);
    const report = await t.app.reconciler.run();
    expect(report.details).toContainEqual(
      expect.objectContaining({ withdrawalId, previousStatus: 'FAILED', status: 'FAILED', outcome: 'updated' }),
    );
    expect(await statusEvents(t, withdrawalId)).toEqual([
      { withdrawalId, transactionId, status: 'FAILED', failureReason: 'ACCOUNT_CLOSED', source: 'reconciliation' },
    ]);
    const again = await t.app.reconciler.run({ olderThanSeconds: 0 });
    expect(again.details.map((d) => d.withdrawalId)).not.toContain(withdrawalId);
  });
});

describe('a create whose outcome stayed unknown (its command dead-lettered)', () => {
  let lone: TestPspAlfred;
  beforeAll(async () => {
    lone = await startTestPspAlfred({ hooks: { consumer: { maxDeliver: 1 } } });
  });
  afterAll(async () => {
    await lone?.cleanup();
  });

  /** The command gives up after one lost answer; the order exists at Alfred, unknown to psp-alfred. */
  async function abandonedOrder() {
    const { command } = await lone.prepareWithdrawal();
    await lone.emu('POST', '/faults', { mode: 'timeout', count: 1, pathPrefix: '/offramp', afterEffect: true, delayMs: 3_000 });
    await lone.sendCreateOfframp(command);
    const order = await eventually('the order at Alfred', async () => lone.ordersFor(command.withdrawalId)[0]);
    await lone.emu('POST', `/offramps/${order.transactionId}/walk`, { outcome: 'failure', failureReason: 'BANK_REJECTED' });
    await keptAsUnknown(lone, order.transactionId, 1);
    return { withdrawalId: command.withdrawalId, transactionId: order.transactionId };
  }

  it('when reconcile-offramp comes, then it replays the create, stores the id, publishes the early FAILED once and offramp-created once', async () => {
    const { withdrawalId, transactionId } = await abandonedOrder();
    await reconcile(lone, withdrawalId);
    expect(await lone.settledOfframp(withdrawalId)).toMatchObject({
      state: 'created',
      transaction_id: transactionId,
      alfred_status: 'FAILED',
    });
    expect(await lone.outboxEvents(pspAlfredEvents.offrampCreated.subject, withdrawalId)).toHaveLength(1);
    expect(await statusEvents(lone, withdrawalId)).toEqual([
      { withdrawalId, transactionId, status: 'FAILED', failureReason: 'BANK_REJECTED', source: 'webhook' },
    ]);
    expect(lone.ordersFor(withdrawalId)).toHaveLength(1);
  }, 60_000);

  it('when the reconciler sweeps the kept event, then it finds the order by its reference, adopts it, and the early FAILED is published once', async () => {
    const { withdrawalId, transactionId } = await abandonedOrder();
    await lone.run("update partner_events set received_at = now() - interval '1 minute' where reference_id = ?", [transactionId]);
    expect(await lone.app.reconciler.sweepUnknownReferences()).toEqual({ adopted: [transactionId], reported: [] });
    expect(await statusEvents(lone, withdrawalId)).toEqual([
      { withdrawalId, transactionId, status: 'FAILED', failureReason: 'BANK_REJECTED', source: 'webhook' },
    ]);
    const [row] = await lone.rows(
      z.object({ state: z.string(), transaction_id: z.string() }),
      'select state, transaction_id from offramps where withdrawal_id = ?',
      [withdrawalId],
    );
    expect(row).toEqual({ state: 'requested', transaction_id: transactionId });
    // The next look (reconcile-offramp, or the create's redelivery) finishes the intent from the id alone.
    await reconcile(lone, withdrawalId);
    expect(await lone.settledOfframp(withdrawalId)).toMatchObject({ state: 'created', alfred_status: 'FAILED' });
    expect(await statusEvents(lone, withdrawalId)).toHaveLength(1);
    expect(lone.ordersFor(withdrawalId)).toHaveLength(1);
  }, 60_000);
});

describe('discrepancies with the partner, each announced once per key', () => {
  it('checks amounts: the USDT held exactly, the withdrawal currency, the quoted fiat within the tolerance', () => {
    const offramp = { cryptoAmountMinor: 50_000_000n, fiatCurrency: 'MXN', fiatAmount: '800.00' };
    expect(checkAmounts(offramp, { fromAmount: '50.000000', toAmount: '815.99', toCurrency: 'MXN' }, 2)).toEqual({ ok: true });
    expect(checkAmounts(offramp, { fromAmount: '50', toAmount: '784.00' }, 2)).toEqual({ ok: true });
    expect(checkAmounts(offramp, { toAmount: '816.01' }, 2)).toEqual({ ok: false, fields: ['fiat_amount'] });
    expect(checkAmounts(offramp, { toAmount: '783.99' }, 2)).toEqual({ ok: false, fields: ['fiat_amount'] });
    expect(checkAmounts(offramp, { fromAmount: '49.999999' }, 2)).toEqual({ ok: false, fields: ['usdt_amount'] });
    expect(checkAmounts(offramp, { toCurrency: 'BRL', toAmount: '800.00' }, 2)).toEqual({ ok: false, fields: ['fiat_currency'] });
    expect(checkAmounts(offramp, {}, 2)).toEqual({ ok: true });
  });

  it('when Alfred prices the order off the accepted quote by more than the tolerance, then partner_amount_mismatch once, however often the order is read', async () => {
    const prepared = await consistentWithdrawal(t);
    const { pairs } = (await t.emu('GET', '/config')) as { pairs: Record<string, { rate: string }> };
    const rate = pairs.MXN!.rate;
    await t.emu('PUT', '/config', { pairs: { MXN: { rate: (Number(rate) * 1.1).toFixed(2) } } });
    let order;
    try {
      order = await createdOrder(t, prepared);
    } finally {
      await t.emu('PUT', '/config', { pairs: { MXN: { rate } } });
    }
    const key = `partner_amount_mismatch:${order.transactionId}`;
    const found = await discrepancies(t, key);
    expect(found).toEqual([
      {
        key,
        kind: 'partner_amount_mismatch',
        withdrawalId: order.withdrawalId,
        transactionId: order.transactionId,
        facts: expect.objectContaining({
          fields: ['fiat_amount'],
          heldAmount: minorToDecimal(prepared.command.cryptoAmountMinor, 6),
          partnerAmount: t.ordersFor(order.withdrawalId)[0]!.fromAmount,
          quotedFiatAmount: prepared.command.fiatAmount,
          quotedFiatCurrency: 'MXN',
          partnerFiatAmount: t.ordersFor(order.withdrawalId)[0]!.toAmount,
          partnerFiatCurrency: 'MXN',
          seenIn: 'create',
        }),
      },
    ]);
    await reconcile(t, order.withdrawalId);
    await expectOk(t.call(pspAlfredRpc.orderState, { withdrawalId: order.withdrawalId, fence: false }));
    expect(await discrepancies(t, key)).toHaveLength(1);
  });

  it('when the order matches the accepted quote, then no discrepancy', async () => {
    const order = await createdOrder(t, await consistentWithdrawal(t));
    await reconcile(t, order.withdrawalId);
    const all = (await t.outboxEvents(pspAlfredEvents.discrepancyFound.subject)).filter((e) => e.withdrawalId === order.withdrawalId);
    expect(all).toEqual([]);
  });

  it('when a webhook carries a USDT amount other than the one held, then partner_amount_mismatch once', async () => {
    const order = await createdOrder(t, await consistentWithdrawal(t));
    for (const status of ['ON_CHAIN_DEPOSIT_RECEIVED', 'TRADE_COMPLETED']) {
      const res = await signedWebhook(t, {
        referenceId: order.transactionId,
        eventType: 'OFFRAMP',
        status,
        metadata: { fromAmount: '1.000000' },
      });
      expect(res.statusCode).toBe(200);
    }
    const found = await discrepancies(t, `partner_amount_mismatch:${order.transactionId}`);
    expect(found).toEqual([
      expect.objectContaining({
        kind: 'partner_amount_mismatch',
        facts: expect.objectContaining({ fields: ['usdt_amount'], partnerAmount: '1.000000', seenIn: 'webhook' }),
      }),
    ]);
  });

  it('when an event of an unknown reference stays unknown past the threshold, then unknown_partner_reference once, with its facts', async () => {
    const referenceId = randomUUID();
    for (const status of ['TRADE_COMPLETED', 'FAILED'])
      expect((await signedWebhook(t, { referenceId, eventType: 'OFFRAMP', status, metadata: {} })).statusCode).toBe(200);
    expect((await t.app.reconciler.sweepUnknownReferences()).reported).not.toContain(referenceId);
    await t.run('update partner_events set received_at = received_at - make_interval(secs => ?) where reference_id = ?', [
      t.config.UNKNOWN_REFERENCE_AFTER_SECONDS + 1,
      referenceId,
    ]);
    const [first] = await t.rows(
      z.object({ received_at: z.string() }),
      'select received_at from partner_events where reference_id = ? order by id limit 1',
      [referenceId],
    );
    const receivedAt = first!.received_at;
    expect(await t.app.reconciler.sweepUnknownReferences()).toMatchObject({ reported: [referenceId] });
    expect(await t.app.reconciler.sweepUnknownReferences()).toMatchObject({ reported: [] });
    expect(await discrepancies(t, `unknown_partner_reference:${referenceId}`)).toEqual([
      {
        key: `unknown_partner_reference:${referenceId}`,
        kind: 'unknown_partner_reference',
        withdrawalId: null,
        transactionId: referenceId,
        facts: {
          referenceId,
          status: 'FAILED',
          statuses: ['TRADE_COMPLETED', 'FAILED'],
          receivedAt: new Date(receivedAt).toISOString(),
          source: 'webhook',
        },
      },
    ]);
  });

  it('when reconciliation finds Alfred contradicting the mirror (paid out here, FAILED there), then reconciliation_mismatch once and the status Alfred reports is published', async () => {
    const { withdrawalId, transactionId } = await createdOrder(t);
    // A completion Alfred later contradicts: the mirror takes it, Alfred's own record says FAILED.
    expect(
      (await signedWebhook(t, { referenceId: transactionId, eventType: 'OFFRAMP', status: 'FIAT_TRANSFER_COMPLETED', metadata: {} }))
        .statusCode,
    ).toBe(200);
    await t.emu('PUT', '/config', { webhookDelivery: false });
    try {
      await t.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'failure', failureReason: 'BANK_REJECTED' });
    } finally {
      await t.emu('PUT', '/config', { webhookDelivery: true });
    }
    await reconcile(t, withdrawalId);
    await reconcile(t, withdrawalId);
    const key = `reconciliation_mismatch:${transactionId}:FIAT_TRANSFER_COMPLETED:FAILED`;
    expect(await discrepancies(t, key)).toEqual([
      {
        key,
        kind: 'reconciliation_mismatch',
        withdrawalId,
        transactionId,
        facts: { mirrorStatus: 'FIAT_TRANSFER_COMPLETED', partnerStatus: 'FAILED', partnerFailureReason: 'BANK_REJECTED', transactionId },
      },
    ]);
    expect((await statusEvents(t, withdrawalId)).map((e) => `${e.status}/${e.source}`)).toEqual([
      'FIAT_TRANSFER_COMPLETED/webhook',
      'FAILED/reconciliation',
      'FAILED/reconciliation',
    ]);
    const [row] = await t.rows(z.object({ alfred_status: z.string() }), 'select alfred_status from offramps where withdrawal_id = ?', [
      withdrawalId,
    ]);
    expect(row).toEqual({ alfred_status: 'FIAT_TRANSFER_COMPLETED' });
  });
});

describe('order-state when Alfred is down', () => {
  it('when Alfred cannot be asked, then PSP_UNAVAILABLE and nothing is fenced', async () => {
    const { withdrawalId } = await createdOrder(t);
    await t.emu('POST', '/faults', { mode: 'error', count: 1_000, pathPrefix: '/offramp/' });
    try {
      expect(await t.call(pspAlfredRpc.orderState, { withdrawalId, fence: true })).toMatchObject({
        ok: false,
        error: { code: 'PSP_UNAVAILABLE', status: 503 },
      });
    } finally {
      await t.emu('DELETE', '/faults');
    }
    expect(await t.rows(z.unknown(), 'select 1 from offramp_fences where withdrawal_id = ?', [withdrawalId])).toEqual([]);
  });
});
