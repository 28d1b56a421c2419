import { z } from 'zod';
import { LockMode, queryRows, type EntityManager } from '@offramp/kit';
import { currencyDecimals, minorToDecimal, type RiskThresholds } from '@offramp/contracts';
import { freezeStateOf, type FreezeState } from '../freeze/freeze.ts';
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

/** Reads every threshold; `forUpdate` locks the rows for a change (and loads them as entities for it). */
export async function loadThresholds(em: EntityManager, opts: { forUpdate?: boolean } = {}): Promise<Thresholds> {
  if (!opts.forUpdate) return (await loadRules(em)).thresholds;
  const lockMode = LockMode.PESSIMISTIC_WRITE;
  const routeRows = await em.find(RouteLimit, {}, { orderBy: { paymentRouteId: 'asc' }, lockMode });
  const limitRows = await em.find(LimitRow, {}, { orderBy: { name: 'asc' }, lockMode });
  return thresholdsOf(routeRows, limitRows);
}

/** One row of `loadRules`' statement: a route's bounds, a limit, or a freeze switch (amounts as text: exact). */
const ruleRow = z.object({
  kind: z.enum(['freeze', 'limit', 'route']),
  name: z.string(),
  currency: z.string().nullable(),
  min_minor: z.string().nullable(),
  max_minor: z.string().nullable(),
  value: z.string().nullable(),
  frozen: z.boolean().nullable(),
  reason: z.string().nullable(),
  operator_id: z.string().nullable(),
  changed_at: z.coerce.date().nullable(),
});

/**
 * The thresholds and the freeze switches as the checks and the decision use them, in one statement
 * (three tables, read in the caller's transaction or snapshot).
 */
export async function loadRules(em: EntityManager): Promise<{ thresholds: Thresholds; freeze: FreezeState }> {
  const rows = await queryRows(
    em,
    ruleRow,
    `select 'route' as kind, payment_route_id as name, currency, min_minor::text as min_minor, max_minor::text as max_minor,
            null::text as value, null::boolean as frozen, null::text as reason, null::text as operator_id, null::timestamptz as changed_at
       from route_limits
     union all select 'limit', name, null, null, null, value::text, null, null, null, null from limits
     union all select 'freeze', scope, null, null, null, null, frozen, reason, operator_id, changed_at from freeze_switches
     order by kind, name`,
  );
  const routes = rows
    .filter((r) => r.kind === 'route')
    .map((r) => ({ paymentRouteId: r.name, currency: r.currency!, minMinor: BigInt(r.min_minor!), maxMinor: BigInt(r.max_minor!) }));
  const limits = rows.filter((r) => r.kind === 'limit').map((r) => ({ name: r.name, value: BigInt(r.value!) }));
  const switches = rows
    .filter((r) => r.kind === 'freeze')
    .map((r) => ({ scope: r.name, frozen: r.frozen!, reason: r.reason!, operatorId: r.operator_id!, changedAt: r.changed_at! }));
  return { thresholds: thresholdsOf(routes, limits), freeze: freezeStateOf(switches) };
}

function thresholdsOf(
  routeRows: { paymentRouteId: string; currency: string; minMinor: bigint; maxMinor: bigint }[],
  limitRows: { name: string; value: bigint }[],
): Thresholds {
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
