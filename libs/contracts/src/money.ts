import { z } from 'zod';

/** Integer minor units as a decimal string on the wire, bigint in code. Never negative. */
const minorPattern = /^(0|[1-9][0-9]{0,37})$/;

export const minorUnits = z.codec(
  z.string().regex(minorPattern, 'must be a non-negative integer amount in minor units'),
  z.bigint().nonnegative(),
  { decode: (s) => BigInt(s), encode: (n) => n.toString() },
);

/** A strictly positive amount in minor units. */
export const positiveMinorUnits = z.codec(
  z.string().regex(/^[1-9][0-9]{0,29}$/, 'must be a positive integer amount in minor units'),
  z.bigint().positive(),
  { decode: (s) => BigInt(s), encode: (n) => n.toString() },
);

export const currencyCode = z.string().regex(/^[A-Z][A-Z0-9]{1,9}$/, 'must be an upper-case currency code');

export const currencyDecimals: Record<string, number> = {
  USDT: 6,
  MXN: 2,
  BRL: 2,
  ARS: 2,
  COP: 2,
  DOP: 2,
  USD: 2,
  CNY: 2,
  CLP: 0,
  BOB: 2,
  PEN: 2,
};

/**
 * Converts a decimal string ("50.00") to minor units. Returns null for anything that is not a
 * plain non-negative decimal or that has more fractional digits than the currency allows.
 */
export function decimalToMinor(value: string, decimals: number): bigint | null {
  const m = /^(0|[1-9][0-9]{0,30})(?:\.([0-9]+))?$/.exec(value);
  if (!m) return null;
  const fraction = m[2] ?? '';
  if (fraction.length > decimals) return null;
  return BigInt(m[1]! + fraction.padEnd(decimals, '0'));
}

/** Formats minor units as a decimal string with exactly `decimals` fractional digits. */
export function minorToDecimal(amount: bigint, decimals: number): string {
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString().padStart(decimals + 1, '0');
  const whole = decimals === 0 ? digits : digits.slice(0, -decimals);
  const fraction = decimals === 0 ? '' : `.${digits.slice(-decimals)}`;
  return `${negative ? '-' : ''}${whole}${fraction}`;
}
