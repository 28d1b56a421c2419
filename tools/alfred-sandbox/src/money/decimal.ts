/**
 * Exact decimal arithmetic on scaled bigints. Amounts are integers in minor units with an explicit
 * number of decimals; rates and percentages are `Decimal`s. Nothing here ever touches a float.
 */

/** A non-negative decimal as an integer scaled by 10^scale: "17.25" is { units: 1725n, scale: 2 }. */
export interface Decimal {
  units: bigint;
  scale: number;
}

export type Rounding = 'floor' | 'ceil';

const decimalPattern = /^(0|[1-9][0-9]{0,29})(?:\.([0-9]{1,18}))?$/;

export const isDecimalText = (text: string) => decimalPattern.test(text);

/** Parses a plain non-negative decimal ("17.25", "0.5", "940"); anything else is null. */
export function parseDecimal(text: string): Decimal | null {
  const match = decimalPattern.exec(text);
  if (!match) return null;
  const fraction = match[2] ?? '';
  return { units: BigInt(match[1]! + fraction), scale: fraction.length };
}

/** Converts a decimal string to minor units; null when malformed or finer than `decimals` allows. */
export function toMinor(text: string, decimals: number): bigint | null {
  const value = parseDecimal(text);
  if (!value || value.scale > decimals) return null;
  return value.units * pow10(decimals - value.scale);
}

/** Formats minor units with exactly `decimals` fractional digits. */
export function formatMinor(amount: bigint, decimals: number): string {
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString().padStart(decimals + 1, '0');
  const whole = decimals === 0 ? digits : digits.slice(0, -decimals);
  const fraction = decimals === 0 ? '' : `.${digits.slice(-decimals)}`;
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

/** A number for error metadata, where the partner reports quantities as JSON numbers. */
export const minorToNumber = (amount: bigint, decimals: number) => Number(formatMinor(amount, decimals));

export const pow10 = (exponent: number) => 10n ** BigInt(exponent);

/** Integer division of non-negative numbers with explicit rounding. */
export function divide(numerator: bigint, denominator: bigint, rounding: Rounding): bigint {
  const quotient = numerator / denominator;
  if (rounding === 'floor' || quotient * denominator === numerator) return quotient;
  return quotient + 1n;
}

/** `amount` (minor units at `fromDecimals`) times `rate`, in minor units at `toDecimals`. */
export function multiplyByRate(amount: bigint, fromDecimals: number, rate: Decimal, toDecimals: number, rounding: Rounding): bigint {
  return divide(amount * rate.units * pow10(toDecimals), pow10(fromDecimals + rate.scale), rounding);
}

/** `amount` (minor units at `toDecimals`) divided by `rate`, in minor units at `fromDecimals`. */
export function divideByRate(amount: bigint, toDecimals: number, rate: Decimal, fromDecimals: number, rounding: Rounding): bigint {
  return divide(amount * pow10(fromDecimals + rate.scale), rate.units * pow10(toDecimals), rounding);
}

/** `percent` percent of `amount`, in the same minor units. */
export function percentOf(amount: bigint, percent: Decimal, rounding: Rounding): bigint {
  return divide(amount * percent.units, 100n * pow10(percent.scale), rounding);
}
