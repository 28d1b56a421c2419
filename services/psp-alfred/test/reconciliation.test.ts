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

const statusEvents = (harness: TestPspAlfred, withdrawalId: string) =>
  harness.outboxEvents(pspAlfredEvents.offrampStatusChanged.subject, withdrawalId);

/** An order at Alfred for a fresh withdrawal, with its transaction id. */
async function orderAtAlfred(harness: TestPspAlfred) {
  const { command, traderId } = await harness.prepareWithdrawal();
  await harness.sendCreateOfframp(command);
  const row = await harness.settledOfframp(command.withdrawalId);
  return { withdrawalId: command.withdrawalId, transactionId: row.transaction_id!, traderId };
}

describe('reconciliation', () => {
  it('when webhook delivery is off, then sync-statuses finds the new status and publishes it once, as reconciliation', async () => {
    const { withdrawalId, transactionId } = await orderAtAlfred(t);
    await t.emu('PUT', '/config', { webhookDelivery: false });
    try {
      await t.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'success' });
      expect(await statusEvents(t, withdrawalId)).toEqual([]);
      const report = await t.call(pspAlfredRpc.syncStatuses, {});
      expect(report.failedCount).toBe(0);
      expect(report.details).toContainEqual({
        withdrawalId,
        transactionId,
        previousStatus: 'CREATED',
        status: 'FIAT_TRANSFER_COMPLETED',
        outcome: 'updated',
      });
      expect(await statusEvents(t, withdrawalId)).toEqual([
        { withdrawalId, transactionId, status: 'FIAT_TRANSFER_COMPLETED', failureReason: null, source: 'reconciliation' },
      ]);
      const again = await t.call(pspAlfredRpc.syncStatuses, {});
      expect(again.details.map((d) => d.withdrawalId)).not.toContain(withdrawalId);
    } finally {
      await t.emu('PUT', '/config', { webhookDelivery: true });
    }
    // The webhook that finally arrives for the same status is a duplicate: stored as such, nothing new.
    await t.sandbox.app.inject({
      method: 'POST',
      url: '/api/v1/third-party-service/penny/webhooks',
      headers: { 'api-key': t.config.ALFRED_API_KEY, 'api-secret': t.config.ALFRED_API_SECRET },
      payload: { referenceId: transactionId, eventType: 'OFFRAMP', status: 'FIAT_TRANSFER_COMPLETED', metadata: {} },
    });
    await eventually('the late webhook', async () => {
      const [row] = await t.rows(z.object({ duplicates: z.number() }), 'select duplicates from partner_events where reference_id = ?', [
        transactionId,
      ]);
      return row && row.duplicates === 1;
    });
    expect(await statusEvents(t, withdrawalId)).toHaveLength(1);
  });

  it('when an order has not moved for less than the threshold, then the poller leaves it; past it, the poller reads it', async () => {
    const { withdrawalId, transactionId } = await orderAtAlfred(t);
    await t.emu('PUT', '/config', { webhookDelivery: false });
    try {
      await t.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'failure', failureReason: 'ACCOUNT_CLOSED' });
      // A threshold far above this test's duration, and time moved on by ageing the order's status
      // (and last check) past it, rather than by waiting for the clock.
      const threshold = 600;
      const early = await t.app.reconciler.run({ olderThanSeconds: threshold });
      expect(early.details.map((d) => d.withdrawalId)).not.toContain(withdrawalId);
      await t.run(
        'update offramps set status_at = status_at - make_interval(secs => ?), checked_at = checked_at - make_interval(secs => ?) where withdrawal_id = ?',
        [threshold + 1, threshold + 1, withdrawalId],
      );
      const late = await t.app.reconciler.run({ olderThanSeconds: threshold });
      expect(late.details).toContainEqual(expect.objectContaining({ withdrawalId, status: 'FAILED', outcome: 'updated' }));
      expect(await statusEvents(t, withdrawalId)).toEqual([
        { withdrawalId, transactionId, status: 'FAILED', failureReason: 'ACCOUNT_CLOSED', source: 'reconciliation' },
      ]);
    } finally {
      await t.emu('PUT', '/config', { webhookDelivery: true });
    }
  });

  it('when the poller runs on its timer and webhooks are lost, then the withdrawal still gets its final status', async () => {
    const polled = await startTestPspAlfred({ hooks: { reconcileOnTimer: true }, sandbox: { webhookDelivery: false } });
    try {
      // Even the KYC webhooks were lost: the QA approval read the status from Alfred instead.
      const { withdrawalId, transactionId } = await orderAtAlfred(polled);
      await polled.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'success' });
      expect(polled.sandbox.state.deliveries.filter((d) => d.body.referenceId === transactionId).map((d) => d.state)).toEqual([
        'skipped',
        'skipped',
        'skipped',
        'skipped',
      ]);
      const events = await eventually('a reconciled status', async () => {
        const all = await statusEvents(polled, withdrawalId);
        return all.length > 0 && all;
      });
      expect(events).toEqual([
        { withdrawalId, transactionId, status: 'FIAT_TRANSFER_COMPLETED', failureReason: null, source: 'reconciliation' },
      ]);
    } finally {
      await polled.cleanup();
    }
  });

  it('when Alfred cannot be reached, then sync-statuses counts the failures and publishes nothing', async () => {
    const { withdrawalId } = await orderAtAlfred(t);
    await t.emu('POST', '/faults', { mode: 'error', count: 3, pathPrefix: '/offramp/' });
    try {
      const report = await t.call(pspAlfredRpc.syncStatuses, {});
      expect(report.details).toContainEqual(expect.objectContaining({ withdrawalId, outcome: 'failed', status: null }));
      expect(report.failedCount).toBeGreaterThan(0);
      expect(await statusEvents(t, withdrawalId)).toEqual([]);
    } finally {
      await t.emu('DELETE', '/faults');
    }
  });
});
