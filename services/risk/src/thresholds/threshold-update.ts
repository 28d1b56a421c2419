import { z } from 'zod';
import type { EntityManager } from '@offramp/kit';
import { currencyDecimals, decimalToMinor, riskThresholds, type setThresholdsRequest } from '@offramp/contracts';
import type { RouteBounds } from '../limits/limits.ts';
import { appendAudit } from '../audit/audit.ts';
import { limitNames, loadThresholds, thresholdsView, type Thresholds } from './thresholds.ts';
import { LimitRow, RouteLimit } from './thresholds-entity.ts';

export type ThresholdChange = z.output<typeof setThresholdsRequest>;

export type UpdateOutcome =
  { outcome: 'ok'; thresholds: Thresholds } | { outcome: 'invalid'; message: string; details: Record<string, string> };

/** Applies a partial change to the thresholds; outcomes: ok (the new thresholds) or invalid (why, per field). */
export function mergeThresholds(current: Thresholds, change: ThresholdChange): UpdateOutcome {
  const routes = new Map(current.routes);
  const errors: Record<string, string> = {};
  for (const [id, bounds] of Object.entries(change.routes ?? {})) {
    const route = routes.get(id);
    if (!route) {
      errors[`routes.${id}`] = 'unknown payment route';
      continue;
    }
    const decimals = currencyDecimals[route.currency] ?? 2;
    const min = bounds.min === undefined ? route.minMinor : decimalToMinor(bounds.min, decimals);
    const max = bounds.max === undefined ? route.maxMinor : decimalToMinor(bounds.max, decimals);
    if (min === null) errors[`routes.${id}.min`] = `at most ${decimals} decimals for ${route.currency}`;
    if (max === null) errors[`routes.${id}.max`] = `at most ${decimals} decimals for ${route.currency}`;
    if (min === null || max === null) continue;
    if (min > max) errors[`routes.${id}`] = 'min must not be above max';
    else routes.set(id, { ...route, minMinor: min, maxMinor: max } satisfies RouteBounds);
  }
  if (Object.keys(errors).length > 0) return { outcome: 'invalid', message: 'invalid thresholds', details: errors };
  return {
    outcome: 'ok',
    thresholds: {
      routes,
      trader: { ...current.trader, ...definedOnly(change.trader ?? {}) },
      travelRuleThresholdMinor: change.travelRuleThresholdMinor ?? current.travelRuleThresholdMinor,
    },
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Locks, merges, writes the rows that changed and audits before and after; outcomes as `mergeThresholds`. */
export async function updateThresholds(em: EntityManager, change: ThresholdChange): Promise<UpdateOutcome> {
  const current = await loadThresholds(em, { forUpdate: true });
  const merged = mergeThresholds(current, change);
  if (merged.outcome !== 'ok') return merged;
  const next = merged.thresholds;
  // The rows were loaded (and locked) by `loadThresholds`: these finds come from the identity map.
  const now = new Date();
  for (const [id, route] of next.routes) {
    const was = current.routes.get(id);
    if (was && was.minMinor === route.minMinor && was.maxMinor === route.maxMinor) continue;
    em.assign(await em.findOneOrFail(RouteLimit, { paymentRouteId: id }), {
      minMinor: route.minMinor,
      maxMinor: route.maxMinor,
      updatedBy: change.operatorId,
      updatedAt: now,
    });
  }
  const values: [string, bigint, bigint][] = [
    [limitNames.dailyAmountMinor, current.trader.dailyAmountMinor, next.trader.dailyAmountMinor],
    [limitNames.monthlyAmountMinor, current.trader.monthlyAmountMinor, next.trader.monthlyAmountMinor],
    [limitNames.dailyCount, BigInt(current.trader.dailyCount), BigInt(next.trader.dailyCount)],
    [limitNames.monthlyCount, BigInt(current.trader.monthlyCount), BigInt(next.trader.monthlyCount)],
    [limitNames.travelRuleThresholdMinor, current.travelRuleThresholdMinor, next.travelRuleThresholdMinor],
  ];
  for (const [name, was, value] of values) {
    if (was === value) continue;
    em.assign(await em.findOneOrFail(LimitRow, { name }), { value, updatedBy: change.operatorId, updatedAt: now });
  }
  await em.flush();
  const encode = (t: Thresholds) => z.encode(riskThresholds, thresholdsView(t));
  await appendAudit(em, {
    subject: 'thresholds',
    scope: 'thresholds',
    operatorId: change.operatorId,
    reason: change.reason ?? null,
    before: encode(current),
    after: encode(next),
  });
  return { outcome: 'ok', thresholds: next };
}
