import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pspAlfredEvents, pspAlfredRpc } from '@offramp/contracts';
import { eventually } from '@offramp/kit/testing';
import { z } from 'zod';
import { startTestPspAlfred, type TestPspAlfred } from './harness.ts';

let t: TestPspAlfred;
beforeAll(async () => {
  t = await startTestPspAlfred();
});
afterAll(async () => {
  await t.cleanup();
});

const createdEvents = (withdrawalId: string) => t.outboxEvents(pspAlfredEvents.offrampCreated.subject, withdrawalId);

describe('Alfred faults on the offramp path', () => {
  it('when Alfred answers 5xx, then the breaker opens, no order is made, and after recovery exactly one order', async () => {
    const { command, traderId } = await t.prepareWithdrawal();
    await t.emu('POST', '/faults', { mode: 'error', count: 1_000 });
    await t.sendCreateOfframp(command);
    await eventually('the breaker to open', async () => t.app.alfred.breakerState() === 'open');
    // Users meet the open breaker as PSP_UNAVAILABLE, and it sends nothing to Alfred.
    const callsWhileOpen = (await t.partnerCalls('POST', '/quotes')).length;
    expect(await t.call(pspAlfredRpc.quote, { traderId, fiatCurrency: 'MXN', fiatAmount: '800.00' })).toMatchObject({
      ok: false,
      error: { code: 'PSP_UNAVAILABLE', status: 503 },
    });
    expect(await t.partnerCalls('POST', '/quotes')).toHaveLength(callsWhileOpen);
    expect(t.ordersFor(command.withdrawalId)).toEqual([]);
    const [waiting] = await t.rows(z.object({ state: z.string() }), 'select state from offramps where withdrawal_id = ?', [
      command.withdrawalId,
    ]);
    expect(waiting).toEqual({ state: 'requested' });

    await t.emu('DELETE', '/faults');
    const row = await t.settledOfframp(command.withdrawalId, 20_000);
    expect(row).toMatchObject({ state: 'created' });
    expect(t.app.alfred.breakerState()).toBe('closed');
    expect(t.ordersFor(command.withdrawalId)).toHaveLength(1);
    expect(await createdEvents(command.withdrawalId)).toHaveLength(1);
  });

  it('when POST /offramp times out after Alfred made the order, then the retry finds it by its key: one order, one event', async () => {
    const { command } = await t.prepareWithdrawal();
    await t.emu('POST', '/faults', { mode: 'timeout', count: 1, pathPrefix: '/offramp', afterEffect: true, delayMs: 3_000 });
    const postsBefore = (await t.partnerCalls('POST', '/offramp')).length;
    await t.sendCreateOfframp(command);
    const row = await t.settledOfframp(command.withdrawalId, 20_000);
    const orders = t.ordersFor(command.withdrawalId);
    expect(orders).toHaveLength(1);
    expect(row).toMatchObject({ state: 'created', transaction_id: orders[0]!.transactionId, attempts: 1 });
    // The first POST timed out; the second replayed the very same request with the same key.
    expect(await t.partnerCalls('POST', '/offramp')).toHaveLength(postsBefore + 2);
    expect(await createdEvents(command.withdrawalId)).toEqual([expect.objectContaining({ transactionId: orders[0]!.transactionId })]);
  });

  it('when POST /offramp times out before Alfred made anything, then the replay creates exactly one order', async () => {
    const { command } = await t.prepareWithdrawal();
    await t.emu('POST', '/faults', { mode: 'timeout', count: 1, pathPrefix: '/offramp', delayMs: 3_000 });
    await t.sendCreateOfframp(command);
    const row = await t.settledOfframp(command.withdrawalId, 20_000);
    expect(row).toMatchObject({ state: 'created' });
    expect(t.ordersFor(command.withdrawalId)).toHaveLength(1);
    expect(await createdEvents(command.withdrawalId)).toHaveLength(1);
  });
});
