import { currencyDecimals, decimalToMinor, minorToDecimal } from '@offramp/contracts';

/** Pure limit rules, shared by the session pre-check (refusals) and the decision (review reasons). */

export interface RouteBounds {
  paymentRouteId: string;
  currency: string;
  minMinor: bigint;
  maxMinor: bigint;
}

/** Velocity limits: amounts in USDT minor units, counts of withdrawals. */
export interface TraderLimits {
  dailyAmountMinor: bigint;
  monthlyAmountMinor: bigint;
  dailyCount: number;
  monthlyCount: number;
}

/** What a trader already used: withdrawals decided approve or review within each window. */
export interface Usage {
  dailyAmountMinor: bigint;
  dailyCount: number;
  monthlyAmountMinor: bigint;
  monthlyCount: number;
}

export type LimitName =
  'route_min' | 'route_max' | 'trader_daily_amount' | 'trader_monthly_amount' | 'trader_daily_count' | 'trader_monthly_count';

export interface LimitViolation {
  limit: LimitName;
  /** The reason code a decision records for it. */
  code: string;
  detail: string;
  limitValue: string;
  requested: string;
  currency?: string;
  used?: string;
}

const usdtDecimals = 6;
const usdt = (minor: bigint) => `${minorToDecimal(minor, usdtDecimals)} USDT`;

/** The fiat amount in the route's minor units; `currency_mismatch` or `invalid_amount` when it cannot be compared exactly. */
export function routeAmountMinor(
  route: RouteBounds,
  fiatAmount: string,
  fiatCurrency: string,
): bigint | 'currency_mismatch' | 'invalid_amount' {
  if (fiatCurrency !== route.currency) return 'currency_mismatch';
  const decimals = currencyDecimals[route.currency];
  if (decimals === undefined) return 'invalid_amount';
  return decimalToMinor(fiatAmount, decimals) ?? 'invalid_amount';
}

/** The route bound the amount falls outside of, if any. */
export function routeViolation(route: RouteBounds, amountMinor: bigint): LimitViolation | null {
  const decimals = currencyDecimals[route.currency] ?? 2;
  const show = (minor: bigint) => minorToDecimal(minor, decimals);
  const base = { currency: route.currency, requested: show(amountMinor) };
  if (amountMinor < route.minMinor) {
    const detail = `${show(amountMinor)} ${route.currency} is below the ${route.paymentRouteId} minimum of ${show(route.minMinor)} ${route.currency}`;
    return { limit: 'route_min', code: 'route_amount_below_min', detail, limitValue: show(route.minMinor), ...base };
  }
  if (amountMinor > route.maxMinor) {
    const detail = `${show(amountMinor)} ${route.currency} is above the ${route.paymentRouteId} maximum of ${show(route.maxMinor)} ${route.currency}`;
    return { limit: 'route_max', code: 'route_amount_above_max', detail, limitValue: show(route.maxMinor), ...base };
  }
  return null;
}

/** Every velocity limit that this withdrawal of `amountMinor` USDT, added to the usage, goes over. */
export function velocityViolations(limits: TraderLimits, usage: Usage, amountMinor: bigint): LimitViolation[] {
  const out: LimitViolation[] = [];
  const amountRule = (limit: LimitName, code: string, window: string, used: bigint, max: bigint) => {
    if (used + amountMinor <= max) return;
    const detail = `${window} amount ${usdt(used + amountMinor)} would exceed the limit of ${usdt(max)} (already used ${usdt(used)})`;
    const show = (minor: bigint) => minorToDecimal(minor, usdtDecimals);
    out.push({ limit, code, detail, limitValue: show(max), currency: 'USDT', used: show(used), requested: show(amountMinor) });
  };
  const countRule = (limit: LimitName, code: string, window: string, used: number, max: number) => {
    if (used + 1 <= max) return;
    const detail = `${window} count ${used + 1} would exceed the limit of ${max} withdrawals`;
    out.push({ limit, code, detail, limitValue: String(max), used: String(used), requested: '1' });
  };
  amountRule('trader_daily_amount', 'daily_amount_exceeded', 'daily', usage.dailyAmountMinor, limits.dailyAmountMinor);
  amountRule('trader_monthly_amount', 'monthly_amount_exceeded', 'monthly', usage.monthlyAmountMinor, limits.monthlyAmountMinor);
  countRule('trader_daily_count', 'daily_count_exceeded', 'daily', usage.dailyCount, limits.dailyCount);
  countRule('trader_monthly_count', 'monthly_count_exceeded', 'monthly', usage.monthlyCount, limits.monthlyCount);
  return out;
}
