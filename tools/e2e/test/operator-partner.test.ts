import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@offramp/kit/testing';
import { startSystem, tokenFor, type System } from './system.ts';
import {
  addAccount,
  adminRequest,
  adminWithdrawal,
  balance,
  countries,
  minusUsdt,
  newTrader,
  onboard,
  settledBalance,
  waitForStatus,
  withdraw,
} from './flows.ts';

const operator = 'op-partner';
const adminToken = tokenFor(operator, { role: 'admin' });

type Entry = { kind: string; from: string | null; to: string; actor: string; reason: string | null; refused_code: string | null };

describe('operators cannot diverge from the partner (over HTTP, with the Alfred sandbox)', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => sys?.cleanup());

  const admin = (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) => adminRequest(sys, adminToken, method, path, body);
  const details = (withdrawalId: string) =>
    adminWithdrawal<{ status: string; timeline: Entry[]; exceptions?: { exception_id: string; kind: string; status: string }[] }>(
      sys,
      adminToken,
      withdrawalId,
    );

  /** A BR trader with a withdrawal whose order is live at the sandbox (`processing`). */
  async function liveOrder() {
    const c = countries.BR;
    const trader = newTrader();
    const holder = await onboard(sys, trader, c.country);
    const accountId = await addAccount(sys, trader, c, holder);
    const before = await balance(sys, trader);
    const w = await withdraw(sys, trader, c, accountId);
    const transactionId = (await waitForStatus(sys, trader, w.withdrawalId, 'processing')).psp_transaction_id!;
    return { trader, before, transactionId, ...w };
  }

  it('when an operator rejects, or overrides to rejected, a withdrawal whose order is live at Alfred, then 409 PARTNER_ORDER_LIVE and nothing moves; once Alfred reports FAILED the reject is accepted (or the partner already rejected it) and the funds come back', async () => {
    const { trader, before, transactionId, withdrawalId, debited } = await liveOrder();
    const held = await balance(sys, trader);
    expect(held).toEqual({ available: minusUsdt(before.available, debited), held: debited });

    const rejected = await admin('POST', `/withdrawals/${withdrawalId}/reject`, { reason: 'customer asked to cancel' });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(409);
    expect(rejected.body!.error.code).toBe('PARTNER_ORDER_LIVE');
    const overridden = await admin('PUT', `/withdrawals/${withdrawalId}/status`, {
      status: 'rejected',
      reason: 'customer asked to cancel',
    });
    expect(overridden.status, JSON.stringify(overridden.body)).toBe(409);
    expect(overridden.body!.error.code).toBe('PARTNER_ORDER_LIVE');
    const still = await details(withdrawalId);
    expect(still.status).toBe('processing');
    expect(still.timeline.filter((t) => t.kind === 'refused').map((t) => [t.to, t.refused_code, t.actor])).toEqual([
      ['rejected', 'PARTNER_ORDER_LIVE', `operator:${operator}`],
      ['rejected', 'PARTNER_ORDER_LIVE', `operator:${operator}`],
    ]);
    expect(await balance(sys, trader)).toEqual(held);

    // Alfred fails the order; its webhook is held back so that the operator's reject is what meets it.
    await sys.emu('PUT', '/config', { webhookDelivery: false });
    try {
      const walked = await sys.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'failure', failureReason: 'BANK_REJECTED' });
      expect(walked!.offramp.status).toBe('FAILED');
      const again = await admin('POST', `/withdrawals/${withdrawalId}/reject`, { reason: 'customer asked to cancel' });
      if (again.status === 200) {
        expect(again.body!.data).toMatchObject({ status: 'rejected', failure_reason: 'customer asked to cancel' });
      } else {
        // Reconciliation read the FAILED order first and rejected the withdrawal itself.
        expect(again.body!.error.code, JSON.stringify(again.body)).toBe('ALFRED_INCORRECT_STATUS_CHANGE');
        expect((await details(withdrawalId)).timeline).toContainEqual(
          expect.objectContaining({ kind: 'transition', to: 'rejected', actor: 'alfred' }),
        );
      }
    } finally {
      await sys.emu('PUT', '/config', { webhookDelivery: true });
    }
    expect((await details(withdrawalId)).status).toBe('rejected');
    expect(await settledBalance(sys, trader)).toEqual(before);
    expect((await sys.ledgerCheck()).ok).toBe(true);
  });

  it('when an operator completes without confirmed_out_of_band, then 409; with it, completed and the USDT taken; when Alfred then reports FAILED, an open partner_outcome_after_terminal exception is listed and linked', async () => {
    const { trader, before, transactionId, withdrawalId, debited } = await liveOrder();
    const held = await balance(sys, trader);

    const unconfirmed = await admin('POST', `/withdrawals/${withdrawalId}/complete`, { reference: 'DESK-42' });
    expect(unconfirmed.status, JSON.stringify(unconfirmed.body)).toBe(409);
    expect(unconfirmed.body!.error).toMatchObject({
      code: 'PARTNER_ORDER_LIVE',
      message: expect.stringContaining('confirmed_out_of_band'),
    });
    expect((await details(withdrawalId)).status).toBe('processing');
    expect(await balance(sys, trader)).toEqual(held);

    const confirmed = await admin('POST', `/withdrawals/${withdrawalId}/complete`, { reference: 'DESK-42', confirmed_out_of_band: true });
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body!.data).toMatchObject({ status: 'completed', settlement_reference: 'DESK-42' });
    const taken = { available: minusUsdt(before.available, debited), held: '0.000000' };
    // The answer comes once the ledger has posted the hold: the balance already agrees.
    expect(await balance(sys, trader)).toEqual(taken);

    const walked = await sys.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'failure', failureReason: 'BANK_REJECTED' });
    expect(walked!.offramp.status).toBe('FAILED');
    const listed = await eventually('the exception to be listed', async () => {
      const r = await admin('GET', `/exceptions?status=open&withdrawal_id=${withdrawalId}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const mine = (r.body!.data.exceptions as { kind: string }[]).filter((e) => e.kind === 'partner_outcome_after_terminal');
      return mine.length > 0 ? mine : undefined;
    });
    expect(listed).toEqual([
      expect.objectContaining({
        kind: 'partner_outcome_after_terminal',
        status: 'open',
        withdrawal_id: withdrawalId,
        user_id: trader,
        exposure: 'trader_received_nothing',
        amount: debited,
        partner_reference: transactionId,
      }),
    ]);
    const after = await details(withdrawalId);
    expect(after.status).toBe('completed');
    expect(after.exceptions).toContainEqual(expect.objectContaining({ kind: 'partner_outcome_after_terminal', status: 'open' }));
    expect(after.timeline).toContainEqual(
      expect.objectContaining({
        kind: 'refused',
        from: 'completed',
        to: 'rejected',
        actor: 'alfred',
        refused_code: 'ALFRED_INCORRECT_STATUS_CHANGE',
      }),
    );
    expect(await balance(sys, trader)).toEqual(taken);
    expect((await sys.ledgerCheck()).ok).toBe(true);
  });

  it('when Alfred cannot be asked about the order, then reject answers 503 PSP_UNAVAILABLE and nothing changes', async () => {
    const { trader, withdrawalId } = await liveOrder();
    const held = await balance(sys, trader);
    const before = await details(withdrawalId);
    await sys.emu('POST', '/faults', { mode: 'error', count: 50, pathPrefix: '/offramp' });
    try {
      const r = await admin('POST', `/withdrawals/${withdrawalId}/reject`, { reason: 'customer asked to cancel' });
      expect(r.status, JSON.stringify(r.body)).toBe(503);
      expect(r.body!.error.code).toBe('PSP_UNAVAILABLE');
    } finally {
      await sys.emu('DELETE', '/faults');
    }
    expect(await details(withdrawalId)).toEqual(before);
    expect(await balance(sys, trader)).toEqual(held);
  });
});
