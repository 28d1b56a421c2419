import { z } from 'zod';
import { defineRpc } from './envelope.ts';
import { decimalString } from './http.ts';
import { currencyCode, minorUnits } from './money.ts';
import { offrampStatus } from './psp-alfred.ts';
import { serviceResult } from './result.ts';
import { rpcSubject } from './subjects.ts';
import { decimalAmount, withdrawalStatus } from './withdrawals.ts';

/**
 * The daily reconciliation report (operators): the withdrawals settled on a UTC day with the
 * ledger's resolution of their hold (sessions asks the ledger), against the order Alfred reports
 * now (psp-alfred asks Alfred). The gateway puts the two together and groups them.
 */

/** A UTC calendar day, `YYYY-MM-DD`, that exists. */
export const reportDate = z
  .string()
  .regex(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/, 'must be a date YYYY-MM-DD')
  .refine((d) => {
    const t = new Date(`${d}T00:00:00Z`);
    return !Number.isNaN(t.getTime()) && t.toISOString().slice(0, 10) === d;
  }, 'must be a real calendar date');

/** One ledger transfer of a withdrawal (its hold, or the post or void that resolved it), as the ledger holds it. */
export const ledgerMovement = z.object({
  transferId: z.uuid(),
  amountMinor: minorUnits,
  currency: currencyCode,
  at: z.iso.datetime({ offset: true }),
});

/** A withdrawal with the ledger's record of its money. */
export const ledgerWithdrawal = z.object({
  withdrawalId: z.uuid(),
  traderId: z.string(),
  status: withdrawalStatus,
  /** When it reached `completed` or `rejected`; null while it has not. */
  settledAt: z.iso.datetime({ offset: true }).nullable(),
  fiatAmount: decimalAmount,
  fiatCurrency: currencyCode,
  debitedMinor: minorUnits,
  pspTransactionId: z.string().nullable(),
  hold: ledgerMovement.nullable(),
  posted: ledgerMovement.nullable(),
  voided: ledgerMovement.nullable(),
});
export type LedgerWithdrawal = z.infer<typeof ledgerWithdrawal>;

/** An order as Alfred reports it now; amounts as Alfred's decimal strings. */
export const partnerOrder = z.object({
  transactionId: z.string(),
  status: offrampStatus,
  cryptoAmount: z.string(),
  cryptoCurrency: z.string(),
  fiatAmount: z.string().nullable(),
  fiatCurrency: z.string().nullable(),
  failureReason: z.string().nullable(),
});
export type PartnerOrder = z.infer<typeof partnerOrder>;

/**
 * What Alfred has for a withdrawal: `order`; `none`: no order was ever made (none stored, or the
 * intent was refused or fenced off); `not_found`: an order id is stored but Alfred does not know it.
 */
export const partnerLookup = z.object({
  withdrawalId: z.uuid(),
  found: z.enum(['order', 'none', 'not_found']),
  transactionId: z.string().nullable(),
  order: partnerOrder.nullable(),
});
export type PartnerLookup = z.infer<typeof partnerLookup>;

export const reportsRpc = {
  /**
   * Sessions: the withdrawals settled (`completed` or `rejected`) on `date` (UTC, by the time of that
   * transition), plus those named in `withdrawalIds` whatever their status, each with its hold, post
   * and void read from the ledger (getTransfer), not from sessions' copy.
   */
  ledgerWithdrawals: defineRpc(
    rpcSubject('sessions', 'report-ledger-withdrawals'),
    z.object({ date: reportDate.optional(), withdrawalIds: z.array(z.uuid()).max(1000).default([]) }),
    serviceResult(z.object({ withdrawals: z.array(ledgerWithdrawal) })),
  ),
  /**
   * psp-alfred: the order of each named withdrawal as Alfred reports it now (GET /offramp/{id},
   * through the breaker), and `others`: the orders psp-alfred made or saw move on `date` for
   * withdrawals not named, that Alfred reports paid out (FIAT_TRANSFER_COMPLETED). Alfred lists orders
   * only per customer, never per day, so `others` come from psp-alfred's own store. PSP_UNAVAILABLE
   * when Alfred cannot be asked.
   */
  partnerOrders: defineRpc(
    rpcSubject('psp-alfred', 'report-partner-orders'),
    z.object({ date: reportDate, withdrawalIds: z.array(z.uuid()).max(1000) }),
    serviceResult(z.object({ orders: z.array(partnerLookup), others: z.array(partnerLookup) })),
  ),
};

/** The groups of the report, in the order it shows them. */
export const reconciliationGroups = ['matched', 'missing_at_partner', 'missing_in_ledger', 'amount_mismatch', 'status_mismatch'] as const;
export const reconciliationGroup = z.enum(reconciliationGroups);
export type ReconciliationGroup = z.infer<typeof reconciliationGroup>;

const wireDecimal = decimalString;

/** One line of the report (the wire, snake_case): our side, Alfred's side, and why it is in its group. */
export const reconciliationLine = z.object({
  group: reconciliationGroup,
  withdrawal_id: z.uuid(),
  trader_id: z.string(),
  status: withdrawalStatus,
  settled_at: z.iso.datetime({ offset: true }).nullable(),
  psp_transaction_id: z.string().nullable(),
  /** `posted` (completed), `voided` (rejected) or null: the ledger has not resolved the hold. */
  ledger_movement: z.enum(['posted', 'voided']).nullable(),
  ledger_amount: wireDecimal.nullable(),
  ledger_currency: z.literal('USDT'),
  fiat_amount: wireDecimal,
  fiat_currency: z.string(),
  partner_status: offrampStatus.nullable(),
  partner_amount: wireDecimal.nullable(),
  partner_currency: z.string().nullable(),
  partner_fiat_amount: wireDecimal.nullable(),
  partner_fiat_currency: z.string().nullable(),
  reason: z.string(),
});
export type ReconciliationLine = z.infer<typeof reconciliationLine>;

/**
 * Totals of one group in one currency: for USDT `ledger_amount` sums the ledger's posted or voided
 * amounts and `partner_amount` Alfred's order amounts; for a fiat currency `ledger_amount` sums the
 * withdrawals' quoted fiat amounts and `partner_amount` Alfred's fiat amounts.
 */
export const reconciliationTotal = z.object({
  group: reconciliationGroup,
  currency: z.string(),
  count: z.number().int(),
  ledger_amount: wireDecimal,
  partner_amount: wireDecimal,
});
export type ReconciliationTotal = z.infer<typeof reconciliationTotal>;

export const reconciliationReportQuery = z.object({
  date: reportDate,
  /** `csv` for the CSV download (as `Accept: text/csv`); JSON otherwise. */
  format: z.enum(['json', 'csv']).optional(),
});

export const reconciliationReportAnswer = z.object({
  date: reportDate,
  timezone: z.literal('UTC'),
  generated_at: z.iso.datetime({ offset: true }),
  groups: z.object({
    matched: z.array(reconciliationLine),
    missing_at_partner: z.array(reconciliationLine),
    missing_in_ledger: z.array(reconciliationLine),
    amount_mismatch: z.array(reconciliationLine),
    status_mismatch: z.array(reconciliationLine),
  }),
  totals: z.array(reconciliationTotal),
});
export type ReconciliationReport = z.infer<typeof reconciliationReportAnswer>;
