import { describe, expect, it } from 'vitest';
import type { LedgerWithdrawal, PartnerLookup } from '@offramp/contracts';
import { buildReconciliationReport, reconciliationCsv } from '../src/admin/reconciliation-report.ts';

const at = '2026-11-29T10:00:00.000Z';
let n = 0;
const uuid = () => `0197a3c2-5f7e-7c3a-9d41-${String(++n).padStart(12, '0')}`;

function withdrawal(status: LedgerWithdrawal['status'], moved: 'posted' | 'voided' | null, minor = 50_000_000n): LedgerWithdrawal {
  const id = uuid();
  const movement = { transferId: uuid(), amountMinor: minor, currency: 'USDT', at };
  return {
    withdrawalId: id,
    traderId: 'trader-1',
    status,
    settledAt: status === 'completed' || status === 'rejected' ? at : null,
    fiatAmount: '875.50',
    fiatCurrency: 'MXN',
    debitedMinor: minor,
    pspTransactionId: `tx-${id}`,
    hold: movement,
    posted: moved === 'posted' ? movement : null,
    voided: moved === 'voided' ? movement : null,
  };
}

function order(w: LedgerWithdrawal, status: NonNullable<PartnerLookup['order']>['status'], amount = '50', fiat = '875.5'): PartnerLookup {
  return {
    withdrawalId: w.withdrawalId,
    found: 'order',
    transactionId: w.pspTransactionId,
    order: {
      transactionId: w.pspTransactionId!,
      status,
      cryptoAmount: amount,
      cryptoCurrency: 'USDT',
      fiatAmount: fiat,
      fiatCurrency: 'MXN',
      failureReason: null,
    },
  };
}
const none = (w: LedgerWithdrawal, found: 'none' | 'not_found' = 'none'): PartnerLookup => ({
  withdrawalId: w.withdrawalId,
  found,
  transactionId: found === 'none' ? null : w.pspTransactionId,
  order: null,
});

describe('the reconciliation report, put together from the ledger and Alfred', () => {
  it('when each withdrawal is read against its order, then the statuses, amounts and missing sides decide its group; equal amounts written differently match', () => {
    const completed = withdrawal('completed', 'posted');
    const refundedNoOrder = withdrawal('rejected', 'voided');
    const refundedFailed = withdrawal('rejected', 'voided');
    const completedButFailed = withdrawal('completed', 'posted');
    const rejectedButPaid = withdrawal('rejected', 'voided');
    const unknownAtAlfred = withdrawal('completed', 'posted');
    const completedWithoutPost = withdrawal('completed', null);
    const fiatDiffers = withdrawal('completed', 'posted');
    const settled = [
      completed,
      refundedNoOrder,
      refundedFailed,
      completedButFailed,
      rejectedButPaid,
      unknownAtAlfred,
      completedWithoutPost,
      fiatDiffers,
    ];
    const report = buildReconciliationReport({
      date: '2026-11-29',
      settled,
      orders: [
        order(completed, 'FIAT_TRANSFER_COMPLETED', '50.000000', '875.50'),
        none(refundedNoOrder),
        order(refundedFailed, 'FAILED'),
        order(completedButFailed, 'FAILED'),
        order(rejectedButPaid, 'FIAT_TRANSFER_COMPLETED'),
        none(unknownAtAlfred, 'not_found'),
        order(completedWithoutPost, 'FIAT_TRANSFER_COMPLETED'),
        order(fiatDiffers, 'FIAT_TRANSFER_COMPLETED', '50', '875.49'),
      ],
      others: [],
      now: new Date(at),
    });
    const ids = (group: keyof typeof report.groups) => report.groups[group].map((l) => l.withdrawal_id);
    expect(ids('matched')).toEqual([completed.withdrawalId, refundedNoOrder.withdrawalId, refundedFailed.withdrawalId]);
    expect(ids('status_mismatch')).toEqual([completedButFailed.withdrawalId, rejectedButPaid.withdrawalId]);
    expect(ids('missing_at_partner')).toEqual([unknownAtAlfred.withdrawalId]);
    expect(ids('missing_in_ledger')).toEqual([completedWithoutPost.withdrawalId]);
    expect(ids('amount_mismatch')).toEqual([fiatDiffers.withdrawalId]);
    expect(report.groups.amount_mismatch[0]!.reason).toBe('quoted 875.50 MXN, Alfred 875.49 MXN');
    expect(report.groups.missing_at_partner[0]!.reason).toBe(`Alfred does not know the order tx-${unknownAtAlfred.withdrawalId}`);
    expect(report.totals.filter((t) => t.group === 'matched')).toEqual([
      { group: 'matched', currency: 'USDT', count: 3, ledger_amount: '150.000000', partner_amount: '100.000000' },
      { group: 'matched', currency: 'MXN', count: 3, ledger_amount: '2626.50', partner_amount: '1751.00' },
    ]);
  });

  it('when Alfred paid out an order whose withdrawal the ledger never posted, then it is missing in the ledger; one the ledger posted on another day is left out', () => {
    const unposted = withdrawal('processing', 'voided');
    const postedEarlier = withdrawal('completed', 'posted');
    const report = buildReconciliationReport({
      date: '2026-11-29',
      settled: [],
      orders: [],
      others: [
        { withdrawal: unposted, lookup: order(unposted, 'FIAT_TRANSFER_COMPLETED') },
        { withdrawal: postedEarlier, lookup: order(postedEarlier, 'FIAT_TRANSFER_COMPLETED') },
      ],
      now: new Date(at),
    });
    expect(report.groups.missing_in_ledger).toMatchObject([
      {
        withdrawal_id: unposted.withdrawalId,
        status: 'processing',
        ledger_movement: null,
        ledger_amount: null,
        partner_status: 'FIAT_TRANSFER_COMPLETED',
      },
    ]);
    expect(report.totals).toEqual([
      { group: 'missing_in_ledger', currency: 'USDT', count: 1, ledger_amount: '0.000000', partner_amount: '50.000000' },
      { group: 'missing_in_ledger', currency: 'MXN', count: 1, ledger_amount: '875.50', partner_amount: '875.50' },
    ]);
  });

  it('when a field holds a comma, a quote or a line break, then the CSV quotes it and doubles its quotes (RFC 4180), rows end in CRLF', () => {
    const w = withdrawal('completed', 'posted');
    const report = buildReconciliationReport({
      date: '2026-11-29',
      settled: [{ ...w, traderId: 'acme, "north"\nbranch' }],
      orders: [order(w, 'FIAT_TRANSFER_COMPLETED')],
      others: [],
      now: new Date(at),
    });
    const csv = reconciliationCsv(report);
    expect(csv.split('\r\n')[1]).toContain(`,"acme, ""north""\nbranch",`);
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(csv).toContain('\r\n\r\ntotal_group,currency,count,ledger_amount,partner_amount\r\nmatched,USDT,1,50.000000,50.000000\r\n');
  });
});
