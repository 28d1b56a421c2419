import { cryptoDecimals, type PairSettings } from './pairs.ts';
import { divideByRate, multiplyByRate, parseDecimal, percentOf, toMinor, type Decimal } from '../money/decimal.ts';

export const feeTypes = ['commissionFee', 'processingFee', 'taxFee', 'networkFee'] as const;
export type FeeType = (typeof feeTypes)[number];

/** A priced quote in minor units: USDT at six decimals, fiat at its currency's decimals. */
export interface Pricing {
  fromMinor: bigint;
  toMinor: bigint;
  fees: { type: FeeType; amountMinor: bigint }[];
}

interface ParsedPair {
  rate: Decimal;
  commissionPercent: Decimal;
  fixedFees: { type: FeeType; amountMinor: bigint }[];
}

/** The settings are validated when set, so parsing them here cannot fail. */
function parsePair(pair: PairSettings): ParsedPair {
  return {
    rate: parseDecimal(pair.rate)!,
    commissionPercent: parseDecimal(pair.fees.commissionPercent)!,
    fixedFees: [
      { type: 'processingFee', amountMinor: toMinor(pair.fees.processingFee, cryptoDecimals)! },
      { type: 'taxFee', amountMinor: toMinor(pair.fees.taxFee, cryptoDecimals)! },
      { type: 'networkFee', amountMinor: toMinor(pair.fees.networkFee, cryptoDecimals)! },
    ],
  };
}

/**
 * Prices a USDT amount: the commission (rounded up to the micro-USDT) and the fixed fees come off
 * first, the rest is converted at the rate and rounded down to the fiat's minor unit. Null when the
 * fees eat the whole amount.
 */
export function priceFromAmount(fromMinor: bigint, pair: PairSettings, toDecimals: number): Pricing | null {
  const parsed = parsePair(pair);
  const fees = [
    { type: 'commissionFee' as const, amountMinor: percentOf(fromMinor, parsed.commissionPercent, 'ceil') },
    ...parsed.fixedFees,
  ];
  const netMinor = fromMinor - fees.reduce((sum, fee) => sum + fee.amountMinor, 0n);
  if (netMinor <= 0n) return null;
  const toMinor = multiplyByRate(netMinor, cryptoDecimals, parsed.rate, toDecimals, 'floor');
  return toMinor > 0n ? { fromMinor, toMinor, fees } : null;
}

/**
 * Prices a fiat amount: the smallest USDT amount whose forward pricing pays at least `toMinor`.
 * The estimate inverts the forward formula; the two loops absorb its rounding (at most a few steps).
 */
export function priceToAmount(toMinor: bigint, pair: PairSettings, toDecimals: number): Pricing | null {
  const parsed = parsePair(pair);
  const netMinor = divideByRate(toMinor, toDecimals, parsed.rate, cryptoDecimals, 'ceil');
  const fixedMinor = parsed.fixedFees.reduce((sum, fee) => sum + fee.amountMinor, 0n);
  const { units, scale } = parsed.commissionPercent;
  const hundred = 100n * 10n ** BigInt(scale);
  let fromMinor = ((netMinor + fixedMinor) * hundred + (hundred - units) - 1n) / (hundred - units);
  const pays = (amount: bigint) => (priceFromAmount(amount, pair, toDecimals)?.toMinor ?? -1n) >= toMinor;
  for (let step = 0; step < 1_000 && !pays(fromMinor); step++) fromMinor += 1n;
  for (let step = 0; step < 1_000 && fromMinor > 1n && pays(fromMinor - 1n); step++) fromMinor -= 1n;
  const priced = priceFromAmount(fromMinor, pair, toDecimals);
  return priced && priced.toMinor >= toMinor ? { ...priced, toMinor } : null;
}
