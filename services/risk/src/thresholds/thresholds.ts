import { z } from 'zod';
import { LockMode, queryRowsBound, type EntityManager } from '@offramp/kit';
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

const minor = z.string().regex(/^\d+$/);

/** `loadRules`' statement's one row: each table as a json array (amounts as text: exact), then the extras' columns. */
const rulesRow = z.looseObject({
  routes: z.array(z.object({ id: z.string(), currency: z.string(), min: minor, max: minor })),
  limits: z.array(z.object({ name: z.string(), value: minor })),
  switches: z.array(
    z.object({ scope: z.string(), frozen: z.boolean(), reason: z.string(), operator_id: z.string(), changed_at: z.coerce.date() }),
  ),
});

/**
 * A scalar subquery read in the same statement as the rules, for a caller that needs more than the
 * rules (the trader's usage, the screening entries, a recorded decision): its module writes the SQL
 * (a json value, or null) and parses what comes back under `name`. Its SQL is a fixed text whose
 * parameters are `$1`, `$2`, … of its own `params` (`placeParams` numbers them within a statement).
 */
export interface RulesExtra {
  name: string;
  sql: string;
  params: unknown[];
}

/**
 * The thresholds and the freeze switches as the checks and the decision use them, and the `extras`
 * their callers need besides, in one statement (read in the caller's transaction or snapshot).
 */
export async function loadRules(
  em: EntityManager,
  extras: RulesExtra[] = [],
): Promise<{ thresholds: Thresholds; freeze: FreezeState; extras: Record<string, unknown> }> {
  let placed = 0;
  const columns = extras.map((e) => {
    const sql = placeParams(e.sql, placed);
    placed += e.params.length;
    return `, (${sql}) as ${e.name}`;
  });
  // Bound parameters on a text fixed by which extras are asked for (a handful of texts): Postgres
  // prepares it once per connection; inlined, it planned it on every withdrawal (2.1 ms per call in
  // pg_stat_statements, the costliest plan of a withdrawal).
  const [row] = await queryRowsBound(
    em,
    rulesRow,
    `select
       (select coalesce(json_agg(json_build_object('id', payment_route_id, 'currency', currency, 'min', min_minor::text, 'max', max_minor::text)
                                 order by payment_route_id), '[]') from route_limits) as routes,
       (select coalesce(json_agg(json_build_object('name', name, 'value', value::text) order by name), '[]') from limits) as limits,
       (select coalesce(json_agg(json_build_object('scope', scope, 'frozen', frozen, 'reason', reason, 'operator_id', operator_id,
                                                   'changed_at', changed_at) order by scope), '[]') from freeze_switches) as switches
       ${columns.join('')}`,
    extras.flatMap((e) => e.params),
  );
  if (!row) throw new Error('the rules statement returned no row');
  const routes = row.routes.map((r) => ({ paymentRouteId: r.id, currency: r.currency, minMinor: BigInt(r.min), maxMinor: BigInt(r.max) }));
  const limits = row.limits.map((r) => ({ name: r.name, value: BigInt(r.value) }));
  const switches = row.switches.map((r) => ({
    scope: r.scope,
    frozen: r.frozen,
    reason: r.reason,
    operatorId: r.operator_id,
    changedAt: r.changed_at,
  }));
  return {
    thresholds: thresholdsOf(routes, limits),
    freeze: freezeStateOf(switches),
    extras: Object.fromEntries(extras.map((e) => [e.name, row[e.name] ?? null])),
  };
}

/** `sql` with its own parameters `$1`, `$2`, … renumbered to follow the `before` parameters of the statement it goes in. */
export function placeParams(sql: string, before: number): string {
  return before === 0 ? sql : sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + before}`);
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
