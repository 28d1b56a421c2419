import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { queryRows } from '@offramp/kit';
import { startSystem, tokenFor, type System } from './system.ts';
import {
  adminRequest,
  adminWithdrawal,
  balance,
  countries,
  minusUsdt,
  newTrader,
  settledBalance,
  waitForStatus,
  withdraw,
  processingWithdrawal,
  suspiciousTrader,
} from './flows.ts';

const anna = 'op-anna';
const ben = 'op-ben';
const carl = 'op-carl';
const tokens: Record<string, string> = {
  [anna]: tokenFor(anna, { role: 'admin' }),
  [ben]: tokenFor(ben, { role: 'admin' }),
  [carl]: tokenFor(carl, { role: 'admin' }),
};

const auditRow = z.object({ operator_id: z.string(), reason: z.string() });

type Entry = { kind: string; from: string | null; to: string; actor: string; reason: string | null };
type Approval = {
  approval_id: string;
  action: string;
  status: string;
  requested_by: string;
  decided_by: string | null;
  result: { outcome: string; code: string | null } | null;
};

describe('four-eyes on money-moving operator actions (FOUR_EYES=true over the whole system)', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem({ env: { FOUR_EYES: 'true', FOUR_EYES_ABOVE_USDT: '30' } });
  });
  afterAll(async () => sys?.cleanup());

  const as = (operator: string) => (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) =>
    adminRequest(sys, tokens[operator]!, method, path, body);
  const details = (withdrawalId: string) => adminWithdrawal<{ status: string; timeline: Entry[] }>(sys, tokens[anna]!, withdrawalId);
  const pendingOf = async (operator: string) => {
    const r = await as(operator)('GET', '/approvals?status=pending&limit=100');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body!.data.approvals as Approval[];
  };

  it('when operator A overrides a processing withdrawal to completed, then nothing moves; A confirming is 403 FOUR_EYES_REQUIRED; B confirming moves the money exactly once (a concurrent or second confirm is 409) and the audit entry names both', async () => {
    const { trader, before, withdrawalId, debited } = await processingWithdrawal(sys, countries.DO);
    const held = await balance(sys, trader);

    const requested = await as(anna)('PUT', `/withdrawals/${withdrawalId}/status`, {
      status: 'completed',
      reason: 'partner desk confirmed the payout',
      reference: 'BANK-REF-4E',
      confirmed_out_of_band: true,
    });
    expect(requested.status, JSON.stringify(requested.body)).toBe(202);
    const approval = requested.body!.data.approval as Approval & { withdrawal_id: string; request: Record<string, unknown> };
    expect(approval).toMatchObject({
      action: 'withdrawal_override',
      status: 'pending',
      requested_by: anna,
      withdrawal_id: withdrawalId,
      request: { status: 'completed', reference: 'BANK-REF-4E', confirmed_out_of_band: true },
    });
    expect((await pendingOf(ben)).map((a) => a.approval_id)).toContain(approval.approval_id);
    // Nothing moved: still processing, the USDT still held.
    expect((await details(withdrawalId)).status).toBe('processing');
    expect(await balance(sys, trader)).toEqual(held);

    const self = await as(anna)('POST', `/approvals/${approval.approval_id}/confirm`);
    expect(self.status).toBe(403);
    expect(self.body!.error.code).toBe('FOUR_EYES_REQUIRED');
    const selfDecline = await as(anna)('POST', `/approvals/${approval.approval_id}/decline`);
    expect(selfDecline.status).toBe(403);
    expect((await details(withdrawalId)).status).toBe('processing');

    // Two other operators confirm at once: one runs the override, the other is 409.
    const [byBen, byCarl] = await Promise.all([
      as(ben)('POST', `/approvals/${approval.approval_id}/confirm`),
      as(carl)('POST', `/approvals/${approval.approval_id}/confirm`),
    ]);
    const statuses = [byBen.status, byCarl.status].sort();
    expect(statuses, JSON.stringify([byBen.body, byCarl.body])).toEqual([200, 409]);
    const winner = byBen.status === 200 ? ben : carl;
    const loser = byBen.status === 200 ? byCarl : byBen;
    expect(loser.body!.error.code).toBe('APPROVAL_NOT_PENDING');
    const confirmed = (byBen.status === 200 ? byBen : byCarl).body!.data as Approval;
    expect(confirmed).toMatchObject({ status: 'confirmed', requested_by: anna, decided_by: winner, result: { outcome: 'done' } });

    const settled = await settledBalance(sys, trader);
    expect(settled).toEqual({ available: minusUsdt(before.available, debited), held: '0.000000' });
    const again = await as(carl)('POST', `/approvals/${approval.approval_id}/confirm`);
    expect(again.status).toBe(409);
    expect(again.body!.error.code).toBe('APPROVAL_NOT_PENDING');
    await sys.quiet();
    expect(await balance(sys, trader)).toEqual(settled);

    const trail = (await details(withdrawalId)).timeline;
    const completions = trail.filter((t) => t.kind === 'transition' && t.to === 'completed');
    expect(completions).toHaveLength(1);
    expect(completions[0]).toMatchObject({ from: 'processing', actor: `operator:${winner}` });
    expect(completions[0]!.reason).toContain('partner desk confirmed the payout');
    expect(completions[0]!.reason).toContain(`requested by operator:${anna}`);
    expect((await pendingOf(ben)).map((a) => a.approval_id)).not.toContain(approval.approval_id);
    expect((await sys.ledgerCheck()).ok).toBe(true);
  });

  it("when a withdrawal's order is live at Alfred, then a reject or an override to rejected is refused at once with 409 PARTNER_ORDER_LIVE (nothing parked for a second operator, nothing moves)", async () => {
    const { trader, withdrawalId } = await processingWithdrawal(sys, countries.DO);
    const held = await balance(sys, trader);
    const pendingBefore = (await pendingOf(ben)).length;
    const reject = await as(anna)('POST', `/withdrawals/${withdrawalId}/reject`, { reason: 'customer asked to cancel' });
    expect(reject.status, JSON.stringify(reject.body)).toBe(409);
    expect(reject.body!.error.code).toBe('PARTNER_ORDER_LIVE');
    const override = await as(anna)('PUT', `/withdrawals/${withdrawalId}/status`, {
      status: 'rejected',
      reason: 'customer asked to cancel',
    });
    expect(override.status, JSON.stringify(override.body)).toBe(409);
    expect(override.body!.error.code).toBe('PARTNER_ORDER_LIVE');
    expect((await pendingOf(ben)).length).toBe(pendingBefore);
    expect((await details(withdrawalId)).status).toBe('processing');
    expect(await balance(sys, trader)).toEqual(held);
  });

  it('when a reject past in_review (the order failed at Alfred, not yet reported) and an out-of-band complete are requested, then both wait; a declined request runs nothing and cannot be confirmed afterwards', async () => {
    const { trader, withdrawalId } = await processingWithdrawal(sys, countries.DO);
    const held = await balance(sys, trader);
    const { psp_transaction_id: transactionId } = await adminWithdrawal<{ psp_transaction_id: string }>(sys, tokens[anna]!, withdrawalId);
    // Alfred fails the order but its webhook is held back: the order is no longer live, and psp-alfred has not heard yet.
    await sys.emu('PUT', '/config', { webhookDelivery: false });
    try {
      await sys.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'failure', failureReason: 'BANK_REJECTED' });
    } finally {
      await sys.emu('PUT', '/config', { webhookDelivery: true });
    }
    const reject = await as(anna)('POST', `/withdrawals/${withdrawalId}/reject`, { reason: 'suspected fraud' });
    expect(reject.status, JSON.stringify(reject.body)).toBe(202);
    expect(reject.body!.data.approval).toMatchObject({ action: 'withdrawal_reject', status: 'pending' });
    const complete = await as(anna)('POST', `/withdrawals/${withdrawalId}/complete`, { reference: 'R-1', confirmed_out_of_band: true });
    expect(complete.status, JSON.stringify(complete.body)).toBe(202);
    expect(complete.body!.data.approval).toMatchObject({ action: 'withdrawal_complete', status: 'pending' });

    const id = reject.body!.data.approval.approval_id as string;
    const declined = await as(ben)('POST', `/approvals/${id}/decline`, { note: 'the partner says it paid' });
    expect(declined.status, JSON.stringify(declined.body)).toBe(200);
    expect(declined.body!.data).toMatchObject({ status: 'declined', decided_by: ben, note: 'the partner says it paid', result: null });
    const late = await as(carl)('POST', `/approvals/${id}/confirm`);
    expect(late.status).toBe(409);
    expect(late.body!.error.code).toBe('APPROVAL_NOT_PENDING');
    expect((await details(withdrawalId)).status).toBe('processing');
    expect(await balance(sys, trader)).toEqual(held);

    const declinedList = await as(ben)('GET', '/approvals?status=declined&limit=100');
    expect((declinedList.body!.data.approvals as Approval[]).map((a) => a.approval_id)).toContain(id);
  });

  it('when a request is past its expiry, then it is listed as expired and confirming it is 410 APPROVAL_EXPIRED with nothing moved', async () => {
    const { trader, withdrawalId } = await processingWithdrawal(sys, countries.DO);
    const held = await balance(sys, trader);
    const requested = await as(anna)('PUT', `/withdrawals/${withdrawalId}/status`, {
      status: 'completed',
      reason: 'late',
      confirmed_out_of_band: true,
    });
    expect(requested.status).toBe(202);
    const id = requested.body!.data.approval.approval_id as string;
    // FOUR_EYES_TTL_MINUTES passed: the clock is moved by moving the request's expiry into the past.
    await sys.databases.sessions.em.fork().execute(`update approvals set expires_at = now() - interval '1 second' where id = ?`, [id]);

    expect((await pendingOf(ben)).map((a) => a.approval_id)).not.toContain(id);
    const expired = await as(ben)('GET', '/approvals?status=expired&limit=100');
    expect((expired.body!.data.approvals as Approval[]).find((a) => a.approval_id === id)).toMatchObject({ status: 'expired' });
    const confirm = await as(ben)('POST', `/approvals/${id}/confirm`);
    expect(confirm.status).toBe(410);
    expect(confirm.body!.error.code).toBe('APPROVAL_EXPIRED');
    expect((await details(withdrawalId)).status).toBe('processing');
    expect(await balance(sys, trader)).toEqual(held);
  });

  it('when an in_review withdrawal holds more than FOUR_EYES_ABOVE_USDT, then approving it needs a second operator; at or below, one operator approves at once', async () => {
    const c = countries.BR;
    const { trader, accountId } = await suspiciousTrader(sys, c, 'e2e four-eyes');
    const small = await withdraw(sys, trader, c, accountId, '100.00');
    const large = await withdraw(sys, trader, c, accountId, '300.00');
    expect(Number(small.debited)).toBeLessThanOrEqual(30);
    expect(Number(large.debited)).toBeGreaterThan(30);
    await waitForStatus(sys, trader, small.withdrawalId, 'in_review');
    await waitForStatus(sys, trader, large.withdrawalId, 'in_review');

    const smallApprove = await as(anna)('POST', `/withdrawals/${small.withdrawalId}/approve`);
    expect(smallApprove.status, JSON.stringify(smallApprove.body)).toBe(200);
    expect(smallApprove.body!.data).toMatchObject({ status: 'approved', approved_by: `operator:${anna}` });

    const largeApprove = await as(anna)('POST', `/withdrawals/${large.withdrawalId}/approve`, { reason: 'documents checked' });
    expect(largeApprove.status, JSON.stringify(largeApprove.body)).toBe(202);
    expect((await details(large.withdrawalId)).status).toBe('in_review');
    const id = largeApprove.body!.data.approval.approval_id as string;
    const confirmed = await as(ben)('POST', `/approvals/${id}/confirm`);
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body!.data).toMatchObject({ status: 'confirmed', result: { outcome: 'done' } });
    const after = await adminWithdrawal<{ status: string; approved_by: string; timeline: Entry[] }>(sys, tokens[ben]!, large.withdrawalId);
    expect(after.approved_by).toBe(`operator:${ben}`);
    expect(after.timeline.find((t) => t.to === 'approved')!.reason).toContain(`requested by operator:${anna}`);
  });

  it('when a confirmed action is refused by the state machine, then the request is failed with the code and nothing moves', async () => {
    const { trader, withdrawalId } = await processingWithdrawal(sys, countries.DO);
    const requested = await as(anna)('PUT', `/withdrawals/${withdrawalId}/status`, { status: 'approved', reason: 'back one step' });
    expect(requested.status).toBe(202);
    const held = await balance(sys, trader);
    const confirmed = await as(ben)('POST', `/approvals/${requested.body!.data.approval.approval_id}/confirm`);
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body!.data).toMatchObject({
      status: 'failed',
      result: { outcome: 'refused', code: 'ALFRED_INCORRECT_STATUS_CHANGE' },
    });
    expect((await details(withdrawalId)).status).toBe('processing');
    expect(await balance(sys, trader)).toEqual(held);
  });

  it('when a freeze is lifted, then it stays frozen until a second operator confirms; freezing needs one operator; the risk audit names both', async () => {
    const on = await as(anna)('PUT', '/withdrawals/freeze', { frozen: true, country: 'AR', reason: 'incident 42' });
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    expect(on.body!.data.countries.AR).toMatchObject({ frozen: true, by: `operator:${anna}` });

    const lift = await as(anna)('PUT', '/withdrawals/freeze', { frozen: false, country: 'AR', reason: 'incident over' });
    expect(lift.status, JSON.stringify(lift.body)).toBe(202);
    expect(lift.body!.data.approval).toMatchObject({
      action: 'freeze_set',
      target: 'freeze:AR',
      request: { frozen: false, country: 'AR' },
    });
    const still = await as(ben)('GET', '/withdrawals/freeze');
    expect(still.body!.data.countries.AR.frozen).toBe(true);

    const self = await as(anna)('POST', `/approvals/${lift.body!.data.approval.approval_id}/confirm`);
    expect(self.status).toBe(403);
    expect(self.body!.error.code).toBe('FOUR_EYES_REQUIRED');
    const confirmed = await as(ben)('POST', `/approvals/${lift.body!.data.approval.approval_id}/confirm`);
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    const off = await as(ben)('GET', '/withdrawals/freeze');
    expect(off.body!.data.countries.AR ?? { frozen: false }).toMatchObject({ frozen: false });
    const audit = await queryRows(
      sys.databases.risk.em.fork(),
      auditRow,
      `select operator_id, reason from audit_log where subject = 'freeze' and scope = 'AR' order by chain_seq desc limit 1`,
    );
    expect(audit[0]).toMatchObject({ operator_id: `operator:${ben}` });
    expect(audit[0]!.reason).toContain(`requested by operator:${anna}`);
  });
  it('when a threshold or a screening entry is changed, then nothing changes until a second operator confirms; the risk audit names both', async () => {
    const before = await as(anna)('GET', '/risk/thresholds');
    expect(before.status, JSON.stringify(before.body)).toBe(200);
    const dailyCount = (before.body!.data.trader.daily_count as number) + 7;
    const change = await as(anna)('PUT', '/risk/thresholds', { reason: 'busy season', trader: { daily_count: dailyCount } });
    expect(change.status, JSON.stringify(change.body)).toBe(202);
    expect(change.body!.data.approval).toMatchObject({
      action: 'thresholds_set',
      target: 'thresholds',
      request: { change: { trader: { dailyCount } } },
    });
    expect((await as(ben)('GET', '/risk/thresholds')).body!.data.trader.daily_count).toBe(dailyCount - 7);
    const confirmed = await as(ben)('POST', `/approvals/${change.body!.data.approval.approval_id}/confirm`);
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body!.data).toMatchObject({ status: 'confirmed', result: { outcome: 'done' } });
    expect((await as(ben)('GET', '/risk/thresholds')).body!.data.trader.daily_count).toBe(dailyCount);

    const value = newTrader();
    const add = await as(anna)('POST', '/risk/screening', { kind: 'trader', value, verdict: 'blocked', note: 'sanctions hit' });
    expect(add.status, JSON.stringify(add.body)).toBe(202);
    const listed = async () =>
      (
        (await as(ben)('GET', '/risk/screening?kind=trader')).body!.data.entries as { value: string; updated_by: string; note: string }[]
      ).find((e) => e.value === value);
    expect(await listed()).toBeUndefined();
    expect((await as(carl)('POST', `/approvals/${add.body!.data.approval.approval_id}/confirm`)).status).toBe(200);
    const entry = await listed();
    expect(entry).toMatchObject({ updated_by: `operator:${carl}` });
    expect(entry!.note).toContain(`requested by operator:${anna}`);

    const audit = await queryRows(
      sys.databases.risk.em.fork(),
      auditRow,
      `select operator_id, reason from audit_log where subject = 'thresholds' order by chain_seq desc limit 1`,
    );
    expect(audit[0]).toMatchObject({ operator_id: `operator:${ben}` });
    expect(audit[0]!.reason).toContain(`requested by operator:${anna}`);
  });
});

describe('without four-eyes (FOUR_EYES=false): one operator acts at once', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem({ env: { FOUR_EYES: 'false' } });
  });
  afterAll(async () => sys?.cleanup());
  const admin = (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) => adminRequest(sys, tokens[anna]!, method, path, body);

  it('when an operator changes a threshold, adds and removes a screening entry and lifts a freeze, then each applies at once (200), audited with the operator, and no request is stored', async () => {
    const before = await admin('GET', '/risk/thresholds');
    const dailyCount = (before.body!.data.trader.daily_count as number) + 3;
    const set = await admin('PUT', '/risk/thresholds', { reason: 'one operator', trader: { daily_count: dailyCount } });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body!.data.trader.daily_count).toBe(dailyCount);
    const value = newTrader();
    const add = await admin('POST', '/risk/screening', { kind: 'trader', value, verdict: 'suspicious' });
    expect(add.status, JSON.stringify(add.body)).toBe(200);
    expect(add.body!.data.entry).toMatchObject({ kind: 'trader', value, verdict: 'suspicious', updated_by: `operator:${anna}` });
    const removed = await admin('POST', '/risk/screening/remove', { kind: 'trader', value });
    expect(removed.body!.data).toEqual({ removed: true });
    await admin('PUT', '/withdrawals/freeze', { frozen: true, country: 'BO', reason: 'incident' });
    const lifted = await admin('PUT', '/withdrawals/freeze', { frozen: false, country: 'BO', reason: 'over' });
    expect(lifted.status).toBe(200);
    expect(lifted.body!.data.countries.BO).toMatchObject({ frozen: false, by: `operator:${anna}` });
    expect((await admin('GET', '/approvals')).body!.data).toMatchObject({ approvals: [], total: 0 });
  });
});
