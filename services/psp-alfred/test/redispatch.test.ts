import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction, queryRows } from '@offramp/kit';
import { startRedispatch } from '../src/offramps/offramps-store.ts';
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

describe('create-offramp re-dispatch (bank_unavailable)', () => {
  it('when the first order is live, then a re-dispatch does not start; once it FAILED, dispatch 2 makes one new order under its own key and keeps the failed one; repeats make nothing', async () => {
    const { command } = await t.prepareWithdrawal();
    await t.sendCreateOfframp(command);
    const first = await t.settledOfframp(command.withdrawalId);
    expect(first).toMatchObject({ state: 'created', alfred_status: 'CREATED' });

    // While the first order is live, a re-dispatch does not start (the command would come back later).
    expect(await inTransaction(t.db, (em) => startRedispatch(em, command.withdrawalId, 2))).toBe('not_final');
    expect(await t.settledOfframp(command.withdrawalId)).toEqual(first);

    await t.emu('POST', `/offramps/${first.transaction_id}/walk`, { outcome: 'failure', failureReason: 'BANK_UNAVAILABLE' });
    await eventually('the FAILED webhook applied', async () => (await t.settledOfframp(command.withdrawalId)).alfred_status === 'FAILED');
    await t.sendCreateOfframp({ ...command, dispatch: 2 });
    const second = await eventually('the second order', async () => {
      const orders = t.ordersFor(command.withdrawalId);
      return orders.length === 2 ? orders.find((o) => o.transactionId !== first.transaction_id) : undefined;
    });
    const row = await t.settledOfframp(command.withdrawalId);
    expect(row).toMatchObject({ state: 'created', transaction_id: second.transactionId, alfred_status: 'CREATED' });
    const firstOrder = t.ordersFor(command.withdrawalId).find((o) => o.transactionId === first.transaction_id)!;
    expect(firstOrder.status).toBe('FAILED');
    expect(second.createdAt >= firstOrder.history.find((h) => h.status === 'FAILED')!.at).toBe(true);
    expect(t.sandbox.state.idempotencyKeys.get(`${command.withdrawalId}:2`)?.transactionId).toBe(second.transactionId);
    const kept = await queryRows(
      t.db.em.fork(),
      z.object({ dispatch: z.number(), transaction_id: z.string(), alfred_status: z.string(), failure_reason: z.string().nullable() }),
      'select dispatch, transaction_id, alfred_status, failure_reason from offramp_previous_orders where withdrawal_id = ?',
      [command.withdrawalId],
    );
    expect(kept).toEqual([
      { dispatch: 1, transaction_id: first.transaction_id, alfred_status: 'FAILED', failure_reason: 'BANK_UNAVAILABLE' },
    ]);

    // The same dispatch again, or an older one, makes nothing new.
    const handled = await t.handledCommands();
    await t.sendCreateOfframp({ ...command, dispatch: 2 });
    await t.sendCreateOfframp(command);
    await eventually('both handled', async () => (await t.handledCommands()) === handled + 2);
    expect(t.ordersFor(command.withdrawalId)).toHaveLength(2);
    expect(await inTransaction(t.db, (em) => startRedispatch(em, command.withdrawalId, 2))).toBe('done');
  });
});
