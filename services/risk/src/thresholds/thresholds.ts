import { LockMode, type EntityManager } from '@offramp/kit';
import { currencyDecimals, minorToDecimal, type RiskThresholds } from '@offramp/contracts';
import type { RouteBounds, TraderLimits } from '../limits/limits.ts';
import { LimitRow, RouteLimit } from './thresholds-entity.ts';

/** The thresholds as the rules use them: exact minor units, read from the database. */
export interface Thresholds {
  routes: Map<string, RouteBounds>;
  trader: TraderLimits;
  travelRuleThresholdMinor: bigint;
}

/** Names of the rows of table `limits`. */
export const limitNames = {
  dailyAmountMinor: 'trader_daily_amount_minor',
  monthlyAmountMinor: 'trader_monthly_amount_minor',
  dailyCount: 'trader_daily_count',
  monthlyCount: 'trader_monthly_count',
  travelRuleThresholdMinor: 'travel_rule_threshold_minor',
} as const;

/** Reads every threshold; `forUpdate` locks the rows for a change. */
export async function loadThresholds(em: EntityManager, opts: { forUpdate?: boolean } = {}): Promise<Thresholds> {
  const lockMode = opts.forUpdate ? LockMode.PESSIMISTIC_WRITE : LockMode.NONE;
  const routeRows = await em.find(RouteLimit, {}, { orderBy: { paymentRouteId: 'asc' }, lockMode });
  const limitRows = await em.find(LimitRow, {}, { orderBy: { name: 'asc' }, lockMode });
  const limit = (name: string): bigint => {
    const row = limitRows.find((r) => r.name === name);
    // The migration seeds every row; a missing one is a broken database, not a business outcome.
    if (!row) throw new Error(`risk threshold ${name} is missing`);
    return row.value;
  };
  return {
    routes: new Map(
      routeRows.map((r) => [
        r.paymentRouteId,
        { paymentRouteId: r.paymentRouteId, currency: r.currency, minMinor: r.minMinor, maxMinor: r.maxMinor },
      ]),
    ),
    trader: {
      dailyAmountMinor: limit(limitNames.dailyAmountMinor),
      monthlyAmountMinor: limit(limitNames.monthlyAmountMinor),
      dailyCount: Number(limit(limitNames.dailyCount)),
      monthlyCount: Number(limit(limitNames.monthlyCount)),
    },
    travelRuleThresholdMinor: limit(limitNames.travelRuleThresholdMinor),
  };
}

/** The wire view: route bounds as decimal strings of their fiat currency. */
export function thresholdsView(t: Thresholds): RiskThresholds {
  const routes: RiskThresholds['routes'] = {};
  for (const [id, r] of t.routes) {
    const decimals = currencyDecimals[r.currency] ?? 2;
    routes[id] = { currency: r.currency, min: minorToDecimal(r.minMinor, decimals), max: minorToDecimal(r.maxMinor, decimals) };
  }
  return { routes, trader: { ...t.trader }, travelRuleThresholdMinor: t.travelRuleThresholdMinor };
}
