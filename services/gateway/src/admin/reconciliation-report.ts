import {
  currencyDecimals,
  decimalToMinor,
  minorToDecimal,
  reconciliationGroups,
  type LedgerWithdrawal,
  type PartnerLookup,
  type ReconciliationGroup,
  type ReconciliationLine,
  type ReconciliationReport,
  type ReconciliationTotal,
} from '@offramp/contracts';

/*
 * The daily reconciliation report, put together from what sessions read in the ledger and what
 * psp-alfred read at Alfred. Pure: the same readings give the same report. Amounts are compared and
 * summed as integers (bigint) at the currency's scale (or the finer one Alfred used), never floats.
 */

const usdtDecimals = currencyDecimals.USDT!;

/** A decimal string as an integer at `scale` digits; null when it has more fractional digits than that. */
function scaled(value: string, scale: number): bigint | null {
  return decimalToMinor(value, scale);
}

const fractionDigits = (value: string) => value.split('.')[1]?.length ?? 0;

/** A decimal string in its plain form (no leading zeros), keeping its fractional digits. */
const plain = (value: string | null) =>
  value === null ? null : minorToDecimal(scaled(value, fractionDigits(value)) ?? 0n, fractionDigits(value));

/** Whether two decimal strings are the same amount ("100" and "100.00" are). */
function sameAmount(a: string, b: string): boolean {
  const scale = Math.max(fractionDigits(a), fractionDigits(b));
  return scaled(a, scale) === scaled(b, scale);
}

/** Sums decimal strings at the currency's scale, or at the finest scale among them. */
function sum(values: string[], currency: string): string {
  const scale = Math.max(currencyDecimals[currency] ?? 2, ...values.map(fractionDigits));
  return minorToDecimal(
    values.reduce((acc, v) => acc + (scaled(v, scale) ?? 0n), 0n),
    scale,
  );
}

/** Which group a settled withdrawal (or one Alfred paid out) falls in, and why. */
function classify(w: LedgerWithdrawal, p: PartnerLookup | undefined): { group: ReconciliationGroup; reason: string } {
  const order = p?.order ?? null;
  const ledger = w.status === 'completed' ? w.posted : w.status === 'rejected' ? w.voided : w.posted;
  if (w.status === 'completed' || w.status === 'rejected') {
    if (!ledger)
      return {
        group: 'missing_in_ledger',
        reason: `the withdrawal is ${w.status} but the ledger holds no ${w.status === 'completed' ? 'post' : 'void'} of its hold`,
      };
  } else if (!w.posted) {
    return {
      group: 'missing_in_ledger',
      reason: `Alfred reports the order ${order?.status ?? 'paid out'} but the withdrawal is ${w.status} and the ledger holds no post of its hold`,
    };
  }
  if (w.status === 'rejected') {
    if (!order) return { group: 'matched', reason: 'rejected and voided; no order at Alfred' };
    if (order.status !== 'FAILED')
      return { group: 'status_mismatch', reason: `rejected and voided, but Alfred reports the order ${order.status}` };
  } else {
    if (!order)
      return {
        group: 'missing_at_partner',
        reason:
          p?.found === 'not_found' ? `Alfred does not know the order ${p.transactionId ?? '(no id)'}` : 'no order was ever made at Alfred',
      };
    if (order.status !== 'FIAT_TRANSFER_COMPLETED')
      return { group: 'status_mismatch', reason: `completed and posted, but Alfred reports the order ${order.status}` };
  }
  const ledgerAmount = minorToDecimal(ledger!.amountMinor, usdtDecimals);
  const differences = [
    ...(sameAmount(order.cryptoAmount, ledgerAmount)
      ? []
      : [`ledger ${ledgerAmount} USDT, Alfred ${order.cryptoAmount} ${order.cryptoCurrency}`]),
    ...(order.fiatAmount !== null && !sameAmount(order.fiatAmount, w.fiatAmount)
      ? [`quoted ${w.fiatAmount} ${w.fiatCurrency}, Alfred ${order.fiatAmount} ${order.fiatCurrency ?? ''}`.trim()]
      : []),
    ...(order.fiatCurrency !== null && order.fiatCurrency !== w.fiatCurrency
      ? [`currency ${w.fiatCurrency}, Alfred ${order.fiatCurrency}`]
      : []),
  ];
  if (differences.length > 0) return { group: 'amount_mismatch', reason: differences.join('; ') };
  return {
    group: 'matched',
    reason: w.status === 'rejected' ? 'rejected and voided; Alfred reports FAILED' : 'posted; Alfred reports FIAT_TRANSFER_COMPLETED',
  };
}

function lineOf(w: LedgerWithdrawal, p: PartnerLookup | undefined): ReconciliationLine {
  const { group, reason } = classify(w, p);
  // The movement the withdrawal's status calls for: the post of a completed one (or of one Alfred
  // paid out), the void of a rejected one; null when the ledger holds none.
  const ledger = w.status === 'rejected' ? w.voided : w.posted;
  const movement = ledger === null ? null : w.status === 'rejected' ? 'voided' : 'posted';
  const order = p?.order ?? null;
  return {
    group,
    withdrawal_id: w.withdrawalId,
    trader_id: w.traderId,
    status: w.status,
    settled_at: w.settledAt,
    psp_transaction_id: w.pspTransactionId ?? p?.transactionId ?? null,
    ledger_movement: movement,
    ledger_amount: ledger ? minorToDecimal(ledger.amountMinor, usdtDecimals) : null,
    ledger_currency: 'USDT',
    fiat_amount: w.fiatAmount,
    fiat_currency: w.fiatCurrency,
    partner_status: order?.status ?? null,
    partner_amount: plain(order?.cryptoAmount ?? null),
    partner_currency: order?.cryptoCurrency ?? null,
    partner_fiat_amount: plain(order?.fiatAmount ?? null),
    partner_fiat_currency: order?.fiatCurrency ?? null,
    reason,
  };
}

function totalsOf(lines: ReconciliationLine[]): ReconciliationTotal[] {
  const totals: ReconciliationTotal[] = [];
  for (const group of reconciliationGroups) {
    const inGroup = lines.filter((l) => l.group === group);
    if (inGroup.length === 0) continue;
    totals.push({
      group,
      currency: 'USDT',
      count: inGroup.length,
      ledger_amount: sum(
        inGroup.flatMap((l) => (l.ledger_amount === null ? [] : [l.ledger_amount])),
        'USDT',
      ),
      partner_amount: sum(
        inGroup.flatMap((l) => (l.partner_amount === null ? [] : [l.partner_amount])),
        'USDT',
      ),
    });
    const fiat = [...new Set(inGroup.map((l) => l.fiat_currency))].sort();
    for (const currency of fiat) {
      const ofCurrency = inGroup.filter((l) => l.fiat_currency === currency);
      totals.push({
        group,
        currency,
        count: ofCurrency.length,
        ledger_amount: sum(
          ofCurrency.map((l) => l.fiat_amount),
          currency,
        ),
        partner_amount: sum(
          ofCurrency.flatMap((l) =>
            l.partner_fiat_amount === null || l.partner_fiat_currency !== currency ? [] : [l.partner_fiat_amount],
          ),
          currency,
        ),
      });
    }
  }
  return totals;
}

/**
 * The report of `date`: each settled withdrawal against its order, then the withdrawals whose order
 * Alfred paid out that the day's settlements do not show (`others`, with what the ledger holds
 * for them: one that the ledger posted on another day is not the day's business and is left out).
 */
export function buildReconciliationReport(input: {
  date: string;
  settled: LedgerWithdrawal[];
  orders: PartnerLookup[];
  others: { withdrawal: LedgerWithdrawal | undefined; lookup: PartnerLookup }[];
  now: Date;
}): ReconciliationReport {
  const byId = new Map(input.orders.map((o) => [o.withdrawalId, o]));
  const lines = input.settled.map((w) => lineOf(w, byId.get(w.withdrawalId)));
  for (const { withdrawal, lookup } of input.others) {
    if (!withdrawal || withdrawal.posted || withdrawal.status === 'completed' || withdrawal.status === 'rejected') continue;
    lines.push(lineOf(withdrawal, lookup));
  }
  const groups = Object.fromEntries(
    reconciliationGroups.map((g) => [g, lines.filter((l) => l.group === g)]),
  ) as ReconciliationReport['groups'];
  return { date: input.date, timezone: 'UTC', generated_at: input.now.toISOString(), groups, totals: totalsOf(lines) };
}

const csvColumns = [
  'group',
  'withdrawal_id',
  'trader_id',
  'status',
  'settled_at',
  'psp_transaction_id',
  'ledger_movement',
  'ledger_amount',
  'ledger_currency',
  'fiat_amount',
  'fiat_currency',
  'partner_status',
  'partner_amount',
  'partner_currency',
  'partner_fiat_amount',
  'partner_fiat_currency',
  'reason',
] as const;

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
function csvField(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const csvRow = (fields: (string | number | null)[]) => `${fields.map(csvField).join(',')}\r\n`;

/**
 * The report as CSV (RFC 4180, CRLF line ends): one row per line, then a blank row and the totals
 * (`group,currency,count,ledger_amount,partner_amount`).
 */
export function reconciliationCsv(report: ReconciliationReport): string {
  let out = csvRow([...csvColumns]);
  for (const group of reconciliationGroups) for (const line of report.groups[group]) out += csvRow(csvColumns.map((c) => line[c]));
  out += '\r\n';
  out += csvRow(['total_group', 'currency', 'count', 'ledger_amount', 'partner_amount']);
  for (const t of report.totals) out += csvRow([t.group, t.currency, t.count, t.ledger_amount, t.partner_amount]);
  return out;
}
