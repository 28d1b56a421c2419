import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { riskRpc } from '@offramp/contracts';
import { startSystem, tokenFor, type System } from './system.ts';
import {
  addAccount,
  adminRequest,
  adminWithdrawal,
  balance,
  countries,
  emitOfframp,
  minusUsdt,
  newTrader,
  onboard,
  openSession,
  settledBalance,
  waitForStatus,
  withdraw,
  processingWithdrawal,
  suspiciousTrader,
} from './flows.ts';

const operator = 'op-anna';
const adminToken = tokenFor(operator, { role: 'admin' });

type Entry = { kind: string; from: string | null; to: string; actor: string; reason: string | null; refused_code: string | null };
type SyncDetail = { withdrawal_id: string; transaction_id: string; status: string | null; outcome: string; synced: boolean };

describe('operator console end to end (/api/admin over the whole system)', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => sys?.cleanup());

  const admin = (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) => adminRequest(sys, adminToken, method, path, body);
  const details = (withdrawalId: string) =>
    adminWithdrawal<{
      status: string;
      risk_decision: { decision: string; reasons: { code: string }[] } | null;
      timeline: Entry[];
      [k: string]: unknown;
    }>(sys, adminToken, withdrawalId);

  it('when risk sends two withdrawals to review, then both wait in the queue; approved completes, rejected is refunded, both audited with the operator, and approving a completed one is 409', async () => {
    const c = countries.BR;
    const { trader, accountId } = await suspiciousTrader(sys, c, 'e2e operator');
    const before = await balance(sys, trader);
    const first = await withdraw(sys, trader, c, accountId);
    const second = await withdraw(sys, trader, c, accountId);
    await waitForStatus(sys, trader, first.withdrawalId, 'in_review');
    await waitForStatus(sys, trader, second.withdrawalId, 'in_review');

    const queue = await admin('GET', '/withdrawals/pending?limit=100');
    expect(queue.status).toBe(200);
    const queued = (queue.body!.data.withdrawals as { withdrawal_id: string; status: string; user_id: string }[]).filter(
      (w) => w.user_id === trader,
    );
    expect(queued.map((w) => w.withdrawal_id).sort()).toEqual([first.withdrawalId, second.withdrawalId].sort());
    expect(queued.every((w) => w.status === 'in_review')).toBe(true);
    const review = await details(first.withdrawalId);
    expect(review.risk_decision?.decision).toBe('review');
    expect(review.risk_decision?.reasons.map((r) => r.code)).toContain('kyt_suspicious');
    expect(review).toMatchObject({
      user_id: trader,
      crypto_amount: first.debited,
      fiat_amount: c.amount,
      quote: { crypto_amount: first.debited },
      fiat_account: { fiat_account_id: accountId, type: 'PIX' },
    });
    expect(JSON.stringify(review)).not.toContain('12345678909');

    const approved = await admin('POST', `/withdrawals/${first.withdrawalId}/approve`);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body!.data).toMatchObject({
      withdrawal_id: first.withdrawalId,
      status: 'approved',
      approved_by: `operator:${operator}`,
    });
    await waitForStatus(sys, trader, first.withdrawalId, 'processing');
    await emitOfframp(sys, trader, first.sessionId, 'success');
    await waitForStatus(sys, trader, first.withdrawalId, 'completed');

    const rejected = await admin('POST', `/withdrawals/${second.withdrawalId}/reject`, { reason: 'documents do not match' });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    expect(rejected.body!.data).toMatchObject({ status: 'rejected', failure_reason: 'documents do not match' });
    const after = await settledBalance(sys, trader);
    expect(after).toEqual({ available: minusUsdt(before.available, first.debited), held: '0.000000' });

    const approvedTrail = (await details(first.withdrawalId)).timeline;
    expect(approvedTrail).toContainEqual(
      expect.objectContaining({ kind: 'transition', from: 'in_review', to: 'approved', actor: `operator:${operator}` }),
    );
    expect(approvedTrail.map((t) => t.to)).toEqual(expect.arrayContaining(['pending', 'in_review', 'approved', 'processing', 'completed']));
    const rejectedTrail = (await details(second.withdrawalId)).timeline;
    expect(rejectedTrail.at(-1)).toMatchObject({
      kind: 'transition',
      from: 'in_review',
      to: 'rejected',
      actor: `operator:${operator}`,
      reason: 'documents do not match',
    });

    const again = await admin('POST', `/withdrawals/${first.withdrawalId}/approve`);
    expect(again.status).toBe(409);
    expect(again.body!.error.code).toBe('ALFRED_INCORRECT_STATUS_CHANGE');
    const still = await details(first.withdrawalId);
    expect(still.status).toBe('completed');
    expect(still.timeline.at(-1)).toMatchObject({
      kind: 'refused',
      from: 'completed',
      to: 'approved',
      actor: `operator:${operator}`,
      refused_code: 'ALFRED_INCORRECT_STATUS_CHANGE',
    });
    expect(await balance(sys, trader)).toEqual(after);

    const mine = await admin('GET', `/withdrawals?user_id=${trader}`);
    expect(mine.body!.data.total).toBe(2);
    expect((mine.body!.data.withdrawals as { status: string }[]).map((w) => w.status).sort()).toEqual(['completed', 'rejected']);
    expect((await sys.ledgerCheck()).ok).toBe(true);
  });

  it('when a trader token or no token calls the operator API, then 403 FORBIDDEN or 401 and nothing is shown', async () => {
    const trader = newTrader();
    const asTrader = await sys.http('GET', '/api/admin/withdrawals', { trader });
    expect(asTrader.status).toBe(403);
    expect(asTrader.body).toMatchObject({ success: false, error: { code: 'FORBIDDEN' } });
    const freeze = await sys.http('PUT', '/api/admin/withdrawals/freeze', { trader, body: { frozen: true, reason: 'not mine to set' } });
    expect(freeze.status).toBe(403);
    expect((await sys.call(riskRpc.getFreeze, {})).global.frozen).toBe(false);
    expect((await sys.http('GET', '/api/admin/withdrawals/pending')).status).toBe(401);
  });

  it('when Alfred completed an order whose webhooks were lost, then sync-statuses reconciles it, counts it, and the withdrawal completes', async () => {
    const c = countries.MX;
    const trader = newTrader();
    const holder = await onboard(sys, trader, c.country);
    const accountId = await addAccount(sys, trader, c, holder);
    const before = await balance(sys, trader);
    const { withdrawalId, debited } = await withdraw(sys, trader, c, accountId);
    const transactionId = (await waitForStatus(sys, trader, withdrawalId, 'processing')).psp_transaction_id!;
    await sys.emu('PUT', '/config', { webhookDelivery: false });
    try {
      const sync = async () => {
        const r = await admin('POST', '/withdrawals/sync-statuses');
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        const data = r.body!.data as { syncedCount: number; failedCount: number; details: SyncDetail[] };
        expect(data.syncedCount).toBe(data.details.filter((d) => d.synced).length);
        expect(data.failedCount).toBe(data.details.filter((d) => !d.synced).length);
        return { ...data, mine: data.details.find((d) => d.withdrawal_id === withdrawalId) };
      };
      // A first pass marks the order as just checked, so the background poller leaves it alone
      // for a while and the second pass is the one that finds the completion.
      const first = await sync();
      expect(first.mine).toMatchObject({ transaction_id: transactionId, synced: true });
      const walked = await sys.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'success' });
      expect(walked!.offramp.status).toBe('FIAT_TRANSFER_COMPLETED');
      const second = await sync();
      expect(second.mine).toMatchObject({
        transaction_id: transactionId,
        status: 'FIAT_TRANSFER_COMPLETED',
        outcome: 'updated',
        synced: true,
      });
      expect(second.failedCount).toBe(0);
      expect(second.syncedCount).toBeGreaterThanOrEqual(1);
      await waitForStatus(sys, trader, withdrawalId, 'completed');
      const deliveries = (await sys.emu('GET', `/webhooks?referenceId=${transactionId}`))!.deliveries as {
        state: string;
        body: { status: string };
      }[];
      expect(deliveries.filter((d) => d.body.status === 'FIAT_TRANSFER_COMPLETED').map((d) => d.state)).toEqual(['skipped']);
    } finally {
      await sys.emu('PUT', '/config', { webhookDelivery: true });
    }
    expect(await settledBalance(sys, trader)).toEqual({ available: minusUsdt(before.available, debited), held: '0.000000' });
    const third = await admin('POST', '/withdrawals/sync-statuses');
    expect((third.body!.data.details as SyncDetail[]).some((d) => d.withdrawal_id === withdrawalId)).toBe(false);
  });

  it('when the partner confirmed a processing withdrawal out of band, then complete posts the hold with the reference; override and re-dispatch of a completed one are 409', async () => {
    const c = countries.DO;
    const { trader, before, withdrawalId, debited } = await processingWithdrawal(sys, c);

    const done = await admin('POST', `/withdrawals/${withdrawalId}/complete`, {
      reference: 'BANK-REF-77',
      notes: 'confirmed by the partner desk',
      confirmed_out_of_band: true,
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body!.data).toMatchObject({
      status: 'completed',
      settlement_reference: 'BANK-REF-77',
      psp_transaction: { settlement_reference: 'BANK-REF-77' },
    });
    const settled = await settledBalance(sys, trader);
    expect(settled).toEqual({ available: minusUsdt(before.available, debited), held: '0.000000' });

    const override = await admin('PUT', `/withdrawals/${withdrawalId}/status`, { status: 'rejected', reason: 'wrong button' });
    expect(override.status).toBe(409);
    expect(override.body!.error.code).toBe('ALFRED_INCORRECT_STATUS_CHANGE');
    const redispatch = await admin('POST', `/withdrawals/${withdrawalId}/process`);
    expect(redispatch.status).toBe(409);
    const trail = (await details(withdrawalId)).timeline;
    expect(trail.find((t) => t.to === 'completed')).toMatchObject({
      from: 'processing',
      actor: `operator:${operator}`,
      reason: 'confirmed by the partner desk',
    });
    expect(trail.filter((t) => t.kind === 'refused').map((t) => [t.to, t.actor])).toEqual([
      ['rejected', `operator:${operator}`],
      ['processing', `operator:${operator}`],
    ]);
    expect(await balance(sys, trader)).toEqual(settled);
    expect((await sys.ledgerCheck()).ok).toBe(true);
  });

  it('when an operator freezes a country, then GET shows it and initiate answers 423 with nothing held; unfrozen, the same session goes through', async () => {
    const c = countries.CO;
    const trader = newTrader();
    const holder = await onboard(sys, trader, c.country);
    const accountId = await addAccount(sys, trader, c, holder);
    const session = await openSession(sys, trader, c, accountId);
    expect(session.status).toBe(201);
    const sessionId = session.body!.data.session_id as string;
    try {
      const put = await admin('PUT', '/withdrawals/freeze', { frozen: true, country: 'CO', reason: 'bank incident 42' });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      expect(put.body!.data.countries.CO).toMatchObject({ frozen: true, reason: 'bank incident 42', by: `operator:${operator}` });
      const got = await admin('GET', '/withdrawals/freeze');
      expect(got.body!.data).toMatchObject({ global: { frozen: false }, countries: { CO: { frozen: true, reason: 'bank incident 42' } } });
      const before = await balance(sys, trader);
      const refused = await sys.http('POST', '/psp/alfred/initiate-withdrawal', { trader, body: { session_id: sessionId } });
      expect(refused.status).toBe(423);
      expect(refused.body!.error.code).toBe('ALFRED_WITHDRAWALS_FROZEN');
      expect(await balance(sys, trader)).toEqual(before);
    } finally {
      await admin('PUT', '/withdrawals/freeze', { frozen: false, country: 'CO', reason: 'incident over' });
    }
    const got = await admin('GET', '/withdrawals/freeze');
    expect(got.body!.data.countries.CO).toMatchObject({ frozen: false, reason: 'incident over', by: `operator:${operator}` });
    const initiated = await sys.http('POST', '/psp/alfred/initiate-withdrawal', { trader, body: { session_id: sessionId } });
    expect(initiated.status, JSON.stringify(initiated.body)).toBe(200);
    expect((await balance(sys, trader)).held).toBe(initiated.body!.data.debited.amount);
  });
});
