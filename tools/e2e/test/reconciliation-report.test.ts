import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@offramp/kit/testing';
import { newId } from '@offramp/kit';
import { ledgerRpc, minorToDecimal } from '@offramp/contracts';
import { assertConforms } from './conformance.ts';
import { startSystem, tokenFor, type System } from './system.ts';
import { addAccount, adminRequest, adminWithdrawal, countries, emitOfframp, newTrader, onboard, waitForStatus, withdraw } from './flows.ts';

const adminToken = tokenFor('op-reports', { role: 'admin' });

type Line = Record<string, string | null> & { group: string; withdrawal_id: string };
type Total = { group: string; currency: string; count: number; ledger_amount: string; partner_amount: string };
type Report = { date: string; timezone: string; groups: Record<string, Line[]>; totals: Total[] };

const usdtMinor = (s: string) => BigInt(s.replace('.', ''));
const usdt = (minor: bigint) => minorToDecimal(minor, 6);

/** The report of today (UTC) with one of each case; the parsed CSV beside it. */
describe('the daily reconciliation report (over HTTP, with the Alfred sandbox)', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => sys?.cleanup());

  const c = countries.MX;
  /** A withdrawal of a fresh MX trader, sent to Alfred (`processing`). */
  async function processing() {
    const trader = newTrader();
    const holder = await onboard(sys, trader, c.country);
    const accountId = await addAccount(sys, trader, c, holder);
    const w = await withdraw(sys, trader, c, accountId);
    const transactionId = (await waitForStatus(sys, trader, w.withdrawalId, 'processing')).psp_transaction_id!;
    return { trader, transactionId, ...w };
  }
  async function settled(scenario: 'success' | 'failure') {
    const w = await processing();
    await emitOfframp(sys, w.trader, w.sessionId, scenario);
    await waitForStatus(sys, w.trader, w.withdrawalId, scenario === 'success' ? 'completed' : 'rejected');
    return w;
  }
  const sandbox = async (method: 'PATCH' | 'DELETE', path: string, body?: object) => {
    const res = await sys.sandbox.app.inject({ method, url: `/__emu${path}`, ...(body ? { payload: body } : {}) });
    expect(res.statusCode, res.body).toBeLessThan(300);
  };
  const report = async (query: string) => adminRequest(sys, adminToken, 'GET', `/reports/reconciliation?${query}`);
  /** A raw request (for the CSV), checked against the OpenAPI document like every other. */
  const raw = async (url: string, headers: Record<string, string> = {}) => {
    const res = await sys.gateway.http.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${adminToken}`, ...headers } });
    assertConforms(sys.conformance, 'GET', url, res, {});
    return res;
  };

  it('when a day holds a matched payout and refund, an order missing at Alfred, one Alfred paid out that the ledger never posted and one whose amount Alfred changed, then each is in its group with its totals per currency, as JSON and as a CSV download', async () => {
    const matched = await settled('success');
    const refunded = await settled('failure');
    const missingAtPartner = await settled('success');
    const mismatched = await settled('success');

    // Alfred forgets one order and shows another with 1 USDT more than it was sent.
    await sandbox('DELETE', `/offramps/${missingAtPartner.transactionId}`);
    const alfredAmount = usdt(usdtMinor(mismatched.debited) + 1_000_000n);
    await sandbox('PATCH', `/offramps/${mismatched.transactionId}`, { fromAmount: alfredAmount });

    // The ledger's hold is voided behind the withdrawal's back; then Alfred pays the order out: the
    // post is refused (hold_already_voided), the withdrawal stays processing, and Alfred paid money
    // the ledger never posted.
    const unposted = await processing();
    const voided = await sys.call(ledgerRpc.voidHold, { id: newId(), holdId: unposted.withdrawalId });
    expect(voided.outcome).toBe('ok');
    await emitOfframp(sys, unposted.trader, unposted.sessionId, 'success');
    await eventually('the post of the voided hold to be refused', async () => {
      const d = await adminWithdrawal<{ status: string; exceptions?: { kind: string }[] }>(sys, adminToken, unposted.withdrawalId);
      return d.status === 'processing' && (d.exceptions ?? []).some((e) => e.kind === 'ledger_command_refused');
    });

    const date = new Date().toISOString().slice(0, 10);
    const r = await report(`date=${date}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const data = r.body!.data as Report;
    expect(data).toMatchObject({ date, timezone: 'UTC' });
    const ids = (group: string) => data.groups[group]!.map((l) => l.withdrawal_id).sort();
    expect(ids('matched')).toEqual([matched.withdrawalId, refunded.withdrawalId].sort());
    expect(ids('missing_at_partner')).toEqual([missingAtPartner.withdrawalId]);
    expect(ids('missing_in_ledger')).toEqual([unposted.withdrawalId]);
    expect(ids('amount_mismatch')).toEqual([mismatched.withdrawalId]);
    expect(ids('status_mismatch')).toEqual([]);

    const line = (group: string) => data.groups[group]![0]!;
    expect(data.groups.matched!.find((l) => l.withdrawal_id === refunded.withdrawalId)).toMatchObject({
      status: 'rejected',
      ledger_movement: 'voided',
      ledger_amount: refunded.debited,
      partner_status: 'FAILED',
    });
    expect(line('missing_at_partner')).toMatchObject({
      status: 'completed',
      ledger_movement: 'posted',
      ledger_amount: missingAtPartner.debited,
      partner_status: null,
      partner_amount: null,
    });
    expect(line('missing_at_partner').reason).toContain(missingAtPartner.transactionId);
    expect(line('missing_in_ledger')).toMatchObject({
      status: 'processing',
      settled_at: null,
      ledger_movement: null,
      ledger_amount: null,
      partner_status: 'FIAT_TRANSFER_COMPLETED',
    });
    expect(usdtMinor(line('missing_in_ledger').partner_amount!)).toBe(usdtMinor(unposted.debited));
    expect(line('amount_mismatch')).toMatchObject({ status: 'completed', ledger_amount: mismatched.debited, partner_amount: alfredAmount });

    const sumUsdt = (...amounts: string[]) => usdt(amounts.reduce((a, s) => a + usdtMinor(s), 0n));
    const totals = data.totals.map((t) => ({ ...t, ledger_amount: t.ledger_amount, partner_amount: t.partner_amount }));
    // Alfred's amounts are summed at the currency's scale: "57.1" is "57.100000".
    expect(totals).toEqual([
      {
        group: 'matched',
        currency: 'USDT',
        count: 2,
        ledger_amount: sumUsdt(matched.debited, refunded.debited),
        partner_amount: sumUsdt(matched.debited, refunded.debited),
      },
      { group: 'matched', currency: 'MXN', count: 2, ledger_amount: '2000.00', partner_amount: '2000.00' },
      { group: 'missing_at_partner', currency: 'USDT', count: 1, ledger_amount: missingAtPartner.debited, partner_amount: '0.000000' },
      { group: 'missing_at_partner', currency: 'MXN', count: 1, ledger_amount: '1000.00', partner_amount: '0.00' },
      { group: 'missing_in_ledger', currency: 'USDT', count: 1, ledger_amount: '0.000000', partner_amount: sumUsdt(unposted.debited) },
      { group: 'missing_in_ledger', currency: 'MXN', count: 1, ledger_amount: '1000.00', partner_amount: '1000.00' },
      { group: 'amount_mismatch', currency: 'USDT', count: 1, ledger_amount: mismatched.debited, partner_amount: alfredAmount },
      { group: 'amount_mismatch', currency: 'MXN', count: 1, ledger_amount: '1000.00', partner_amount: '1000.00' },
    ]);

    // The same report as CSV, by ?format=csv and by Accept.
    for (const [url, headers] of [
      [`/api/admin/reports/reconciliation?date=${date}&format=csv`, {}],
      [`/api/admin/reports/reconciliation?date=${date}`, { accept: 'text/csv' }],
    ] as const) {
      const res = await raw(url, headers);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      expect(res.headers['content-disposition']).toBe(`attachment; filename="reconciliation-${date}.csv"`);
      const [lines, totalsPart] = res.body.split('\r\n\r\n') as [string, string];
      const rows = lines.split('\r\n').map((l) => l.split(','));
      expect(rows[0]!.slice(0, 3)).toEqual(['group', 'withdrawal_id', 'trader_id']);
      expect(rows.slice(1).map((row) => [row[0], row[1]])).toEqual(
        ['matched', 'missing_at_partner', 'missing_in_ledger', 'amount_mismatch', 'status_mismatch'].flatMap((g) =>
          data.groups[g]!.map((l) => [g, l.withdrawal_id]),
        ),
      );
      const totalRows = totalsPart
        .split('\r\n')
        .filter(Boolean)
        .map((l) => l.split(','));
      expect(totalRows[0]).toEqual(['total_group', 'currency', 'count', 'ledger_amount', 'partner_amount']);
      expect(totalRows.slice(1)).toEqual(data.totals.map((t) => [t.group, t.currency, String(t.count), t.ledger_amount, t.partner_amount]));
    }
  });

  it('when the date is not a calendar day, then 400 VALIDATION_ERROR naming date; a day without settlements is an empty report', async () => {
    for (const bad of ['date=2026-02-30', 'date=yesterday', '', 'date=2026-1-01', 'date=2026-11-30&format=xml']) {
      const r = await report(bad);
      expect(r.status, `${bad}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(r.body!.error.code).toBe('VALIDATION_ERROR');
    }
    const r = await report('date=2001-01-01');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body!.data).toMatchObject({
      date: '2001-01-01',
      groups: { matched: [], missing_at_partner: [], missing_in_ledger: [], amount_mismatch: [], status_mismatch: [] },
      totals: [],
    });
    const forbidden = await sys.http('GET', '/api/admin/reports/reconciliation?date=2001-01-01', { token: tokenFor('a-trader') });
    expect(forbidden.status).toBe(403);
  });
});
