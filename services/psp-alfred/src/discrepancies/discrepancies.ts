import { currencyDecimals, decimalToMinor, minorToDecimal, pspAlfredEvents, type OfframpStatus } from '@offramp/contracts';
import { enqueue, queryRowsBound, type Cause, type EntityManager } from '@offramp/kit';
import { z } from 'zod';
import type { Offramp } from '../offramps/offramps-store.ts';
import { isNewerStatus } from '../offramps/offramp-status.ts';

type Discrepancy = z.output<typeof pspAlfredEvents.discrepancyFound.payload>;

const insertedKey = z.object({ key: z.string() });

/**
 * Announces a disagreement with the partner once per `key`: the row and the event commit with the
 * caller's transaction, so a replayed webhook or a second reconciliation pass never repeats it.
 * Returns whether it was new.
 */
export async function reportDiscrepancy(em: EntityManager, d: Discrepancy, cause: Cause): Promise<boolean> {
  const inserted = await queryRowsBound(
    em,
    insertedKey,
    'insert into discrepancies (key, kind, withdrawal_id, transaction_id, facts) values ($1, $2, $3, $4, $5) on conflict (key) do nothing returning key',
    [d.key, d.kind, d.withdrawalId, d.transactionId, JSON.stringify(d.facts)],
  );
  if (inserted.length === 0) return false;
  await enqueue(em, pspAlfredEvents.discrepancyFound, d, cause);
  return true;
}

/** What Alfred reported of an order's amounts (any of them may be missing from a webhook). */
export interface ReportedAmounts {
  fromAmount?: string | null | undefined;
  toAmount?: string | null | undefined;
  toCurrency?: string | null | undefined;
}

export type AmountCheck = { ok: true } | { ok: false; fields: ('usdt_amount' | 'fiat_currency' | 'fiat_amount')[] };

/** |a - b| / b > pct %, on decimal strings, in integer arithmetic at the finer of the two scales. */
function offByMoreThan(reported: string, expected: string, pct: number): boolean | null {
  const scale = Math.max(reported.split('.')[1]?.length ?? 0, expected.split('.')[1]?.length ?? 0);
  const a = decimalToMinor(reported, scale);
  const b = decimalToMinor(expected, scale);
  if (a === null || b === null) return null;
  const diff = a > b ? a - b : b - a;
  // Basis points keep a fractional percentage exact enough without floats in the comparison.
  return diff * 10_000n > BigInt(Math.round(pct * 100)) * b;
}

/**
 * The order must spend exactly the USDT held for the withdrawal, pay the withdrawal's currency,
 * and pay close to the fiat amount of the quote the trader accepted (Alfred re-prices at the
 * order, so up to `tolerancePct` is the market moving, beyond it a disagreement).
 */
export function checkAmounts(
  offramp: Pick<Offramp, 'cryptoAmountMinor' | 'fiatCurrency' | 'fiatAmount'>,
  reported: ReportedAmounts,
  tolerancePct: number,
): AmountCheck {
  const fields: ('usdt_amount' | 'fiat_currency' | 'fiat_amount')[] = [];
  if (reported.fromAmount != null) {
    const sent = decimalToMinor(reported.fromAmount, currencyDecimals.USDT!);
    if (sent !== offramp.cryptoAmountMinor) fields.push('usdt_amount');
  }
  const currencyDiffers = reported.toCurrency != null && reported.toCurrency !== offramp.fiatCurrency;
  if (currencyDiffers) fields.push('fiat_currency');
  else if (reported.toAmount != null && offByMoreThan(reported.toAmount, offramp.fiatAmount, tolerancePct) !== false)
    fields.push('fiat_amount');
  return fields.length === 0 ? { ok: true } : { ok: false, fields };
}

/** Reports `partner_amount_mismatch` (once per order) when Alfred's amounts disagree with the withdrawal. */
export async function reportAmountMismatch(
  em: EntityManager,
  offramp: Offramp,
  transactionId: string,
  reported: ReportedAmounts,
  opts: { tolerancePct: number; seenIn: 'create' | 'webhook' | 'reconciliation' | 'order_state'; cause: Cause },
): Promise<boolean> {
  const check = checkAmounts(offramp, reported, opts.tolerancePct);
  if (check.ok) return false;
  return reportDiscrepancy(
    em,
    {
      key: `partner_amount_mismatch:${transactionId}`,
      kind: 'partner_amount_mismatch',
      withdrawalId: offramp.withdrawalId,
      transactionId,
      facts: {
        fields: check.fields,
        heldAmount: minorToDecimal(offramp.cryptoAmountMinor, currencyDecimals.USDT!),
        heldCurrency: 'USDT',
        partnerAmount: reported.fromAmount ?? null,
        quotedFiatAmount: offramp.fiatAmount,
        quotedFiatCurrency: offramp.fiatCurrency,
        partnerFiatAmount: reported.toAmount ?? null,
        partnerFiatCurrency: reported.toCurrency ?? null,
        tolerancePct: opts.tolerancePct,
        seenIn: opts.seenIn,
      },
    },
    opts.cause,
  );
}

/**
 * Whether Alfred's status contradicts the mirror: the mirror holds a final status and Alfred
 * reports another one, or Alfred reports a status behind the mirror's (orders never go back).
 */
export function contradicts(mirror: OfframpStatus | null, partner: OfframpStatus): boolean {
  if (mirror === null || mirror === partner) return false;
  return !isNewerStatus(partner, mirror);
}

/** Reports `reconciliation_mismatch` (once per pair of statuses) when a reading of Alfred contradicts the mirror. */
export async function reportStatusMismatch(
  em: EntityManager,
  offramp: Offramp,
  transactionId: string,
  partner: OfframpStatus | 'NOT_FOUND',
  cause: Cause,
  failureReason: string | null = null,
): Promise<boolean> {
  if (partner !== 'NOT_FOUND' && !contradicts(offramp.alfredStatus, partner)) return false;
  return reportDiscrepancy(
    em,
    {
      key: `reconciliation_mismatch:${transactionId}:${offramp.alfredStatus ?? 'NONE'}:${partner}`,
      kind: 'reconciliation_mismatch',
      withdrawalId: offramp.withdrawalId,
      transactionId,
      facts: { mirrorStatus: offramp.alfredStatus, partnerStatus: partner, partnerFailureReason: failureReason, transactionId },
    },
    cause,
  );
}
