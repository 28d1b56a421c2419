import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { pspAlfredEvents, pspAlfredRpc } from '@offramp/contracts';
import { eventually } from '@offramp/kit/testing';
import { z } from 'zod';
import { expectOk, startTestPspAlfred, type TestPspAlfred } from './harness.ts';

let t: TestPspAlfred;
beforeAll(async () => {
  t = await startTestPspAlfred();
});
afterAll(async () => {
  await t.cleanup();
});

describe('create-offramp command', () => {
  it('when the command arrives, then one order is created at Alfred and offrampCreated carries the deposit instruction', async () => {
    const { command, customerId } = await t.prepareWithdrawal();
    await t.sendCreateOfframp(command);
    const row = await t.settledOfframp(command.withdrawalId);
    const orders = t.ordersFor(command.withdrawalId);
    expect(orders).toHaveLength(1);
    const order = orders[0]!;
    expect(order).toMatchObject({
      customerId,
      fiatAccountId: command.fiatAccountId,
      fromCurrency: 'USDT',
      toCurrency: 'MXN',
      fromAmount: '50.000000',
      chain: 'TRON',
      status: 'CREATED',
    });
    expect(t.sandbox.state.idempotencyKeys.get(command.withdrawalId)?.transactionId).toBe(order.transactionId);
    expect(row).toMatchObject({ state: 'created', transaction_id: order.transactionId, alfred_status: 'CREATED', attempts: 1 });
    const created = {
      withdrawalId: command.withdrawalId,
      transactionId: order.transactionId,
      depositAddress: order.depositAddress,
      chain: 'TRON',
      cryptoAmountMinor: '50000000',
    };
    expect(await t.outboxEvents(pspAlfredEvents.offrampCreated.subject, command.withdrawalId)).toEqual([created]);
    const published = await eventually('offrampCreated on JetStream', async () => {
      const all = (await t.published(pspAlfredEvents.offrampCreated.subject)).filter((e) => e.withdrawalId === command.withdrawalId);
      return all.length > 0 && all;
    });
    expect(published).toEqual([created]);
  });

  it('when the command is delivered twice, then still one order and one offrampCreated', async () => {
    const { command } = await t.prepareWithdrawal();
    const before = await t.handledCommands();
    await t.sendCreateOfframp(command);
    await t.sendCreateOfframp(command);
    await eventually('both commands handled', async () => (await t.handledCommands()) === before + 2);
    expect(t.ordersFor(command.withdrawalId)).toHaveLength(1);
    expect(await t.outboxEvents(pspAlfredEvents.offrampCreated.subject, command.withdrawalId)).toHaveLength(1);
    expect(await t.partnerCalls('POST', '/offramp').then((calls) => calls.length)).toBeGreaterThan(0);
    const [row] = await t.rows(z.object({ attempts: z.number() }), 'select attempts from offramps where withdrawal_id = ?', [
      command.withdrawalId,
    ]);
    expect(row).toEqual({ attempts: 1 });
  });

  it('when Alfred refuses the amount for good, then offrampRefused with its code and no order', async () => {
    const { command } = await t.prepareWithdrawal(5_000_000n);
    await t.sendCreateOfframp(command);
    const row = await t.settledOfframp(command.withdrawalId);
    expect(row).toMatchObject({ state: 'refused', transaction_id: null });
    expect(t.ordersFor(command.withdrawalId)).toEqual([]);
    expect(await t.outboxEvents(pspAlfredEvents.offrampRefused.subject, command.withdrawalId)).toEqual([
      { withdrawalId: command.withdrawalId, partnerCode: 111426, message: expect.any(String) },
    ]);
    // A refused withdrawal stays refused: the command again changes nothing.
    const handled = await t.handledCommands();
    await t.sendCreateOfframp(command);
    await eventually('the second command', async () => (await t.handledCommands()) === handled + 1);
    expect(await t.outboxEvents(pspAlfredEvents.offrampRefused.subject, command.withdrawalId)).toHaveLength(1);
    expect(t.ordersFor(command.withdrawalId)).toEqual([]);
  });

  it('when the fiat account was deleted before the command, then offrampRefused without calling Alfred', async () => {
    const { command, traderId } = await t.prepareWithdrawal();
    await expectOk(t.call(pspAlfredRpc.deleteFiatAccount, { traderId, fiatAccountId: command.fiatAccountId }));
    const quotesBefore = (await t.partnerCalls('POST', '/quotes')).length;
    await t.sendCreateOfframp(command);
    expect(await t.settledOfframp(command.withdrawalId)).toMatchObject({ state: 'refused' });
    expect(await t.partnerCalls('POST', '/quotes')).toHaveLength(quotesBefore);
    expect(await t.outboxEvents(pspAlfredEvents.offrampRefused.subject, command.withdrawalId)).toEqual([
      { withdrawalId: command.withdrawalId, partnerCode: null, message: 'fiat account not found' },
    ]);
  });
});

describe('QA emit-offramp', () => {
  it('when the success scenario is emitted, then every step comes back as a webhook and is published once', async () => {
    const { command, traderId } = await t.prepareWithdrawal();
    await t.sendCreateOfframp(command);
    const { transaction_id: transactionId } = await t.settledOfframp(command.withdrawalId);
    const result = await expectOk(
      t.call(pspAlfredRpc.devEmitOfframp, { traderId, withdrawalId: command.withdrawalId, scenario: 'success' }),
    );
    expect(result).toMatchObject({ status: 'FIAT_TRANSFER_COMPLETED', settled: 'by_itself' });
    const events = await eventually('four status events', async () => {
      const all = await t.outboxEvents(pspAlfredEvents.offrampStatusChanged.subject, command.withdrawalId);
      return all.length === 4 && all;
    });
    expect(events).toEqual(
      ['ON_CHAIN_DEPOSIT_RECEIVED', 'TRADE_COMPLETED', 'FIAT_TRANSFER_INITIATED', 'FIAT_TRANSFER_COMPLETED'].map((status) => ({
        withdrawalId: command.withdrawalId,
        transactionId,
        status,
        failureReason: null,
        source: 'webhook',
      })),
    );
    const [row] = await t.rows(
      z.object({ alfred_status: z.string(), deposit_tx_hash: z.string().nullable() }),
      'select alfred_status, deposit_tx_hash from offramps where withdrawal_id = ?',
      [command.withdrawalId],
    );
    expect(row).toMatchObject({ alfred_status: 'FIAT_TRANSFER_COMPLETED', deposit_tx_hash: expect.any(String) });
    expect(await t.call(pspAlfredRpc.devEmitOfframp, { traderId, withdrawalId: command.withdrawalId, scenario: 'failure' })).toMatchObject({
      ok: false,
      error: { code: 'ALFRED_INCORRECT_STATUS_CHANGE' },
    });
  });

  it('when the failure scenario is emitted, then FAILED with QA_SIMULATED_FAILURE comes back through the webhook', async () => {
    const { command, traderId } = await t.prepareWithdrawal();
    await t.sendCreateOfframp(command);
    const { transaction_id: transactionId } = await t.settledOfframp(command.withdrawalId);
    await expectOk(t.call(pspAlfredRpc.devEmitOfframp, { traderId, withdrawalId: command.withdrawalId, scenario: 'failure' }));
    expect(await t.outboxEvents(pspAlfredEvents.offrampStatusChanged.subject, command.withdrawalId)).toEqual([
      { withdrawalId: command.withdrawalId, transactionId, status: 'FAILED', failureReason: 'QA_SIMULATED_FAILURE', source: 'webhook' },
    ]);
  });

  it('when another trader emits on the withdrawal, then WITHDRAWAL_NOT_FOUND and nothing moves', async () => {
    const { command } = await t.prepareWithdrawal();
    await t.sendCreateOfframp(command);
    await t.settledOfframp(command.withdrawalId);
    expect(
      await t.call(pspAlfredRpc.devEmitOfframp, { traderId: 'intruder', withdrawalId: command.withdrawalId, scenario: 'success' }),
    ).toMatchObject({
      ok: false,
      error: { code: 'WITHDRAWAL_NOT_FOUND' },
    });
    expect(
      await t.call(pspAlfredRpc.devEmitOfframp, { traderId: 'intruder', withdrawalId: randomUUID(), scenario: 'success' }),
    ).toMatchObject({ ok: false, error: { code: 'WITHDRAWAL_NOT_FOUND' } });
    expect(t.ordersFor(command.withdrawalId)[0]?.status).toBe('CREATED');
  });
});
