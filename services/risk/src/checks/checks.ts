import type { EntityManager } from '@offramp/kit';
import { ok, refuse, type ServiceResult } from '@offramp/contracts';
import { freezeFlags, readFreeze, type FreezeState } from '../freeze/freeze.ts';
import { frozenScope } from '../freeze/frozen-scope.ts';
import { routeAmountMinor, routeViolation, velocityViolations, type LimitViolation } from '../limits/limits.ts';
import { usageExtra, usageFrom } from '../limits/limits-store.ts';
import { loadRules } from '../thresholds/thresholds.ts';

type Allowed = ServiceResult<{ allowed: true }>;

export interface SessionCheck {
  traderId: string;
  country: string;
  paymentRouteId: string;
  fiatAmount: string;
  fiatCurrency: string;
  cryptoAmountMinor: bigint;
}

/** The freeze alone: refused with ALFRED_WITHDRAWALS_FROZEN when the global or a given country switch is on. */
async function freezeRefusal(em: EntityManager, countries: string[], known?: FreezeState): Promise<Allowed | null> {
  const scope = frozenScope(freezeFlags(known ?? (await readFreeze(em))), countries);
  if (scope === null) return null;
  return refuse('ALFRED_WITHDRAWALS_FROZEN', 'Withdrawals are frozen', { details: { scope } });
}

/** Before the hold at initiate: only the freeze matters. Outcomes: allowed, ALFRED_WITHDRAWALS_FROZEN. */
export async function checkInitiate(em: EntityManager, req: { traderId: string; country: string }): Promise<Allowed> {
  return (await freezeRefusal(em, [req.country])) ?? ok({ allowed: true });
}

/** Before a session: freeze, route bounds, trader velocity. Outcomes: allowed, ALFRED_WITHDRAWALS_FROZEN, VALIDATION_ERROR, LIMIT_EXCEEDED. */
export async function checkSession(em: EntityManager, req: SessionCheck): Promise<Allowed> {
  // The freeze, the thresholds and the trader's usage in one read.
  const { freeze, thresholds, extras } = await loadRules(em, [usageExtra(req.traderId)]);
  const frozen = await freezeRefusal(em, [req.country], freeze);
  if (frozen) return frozen;
  const route = thresholds.routes.get(req.paymentRouteId);
  if (!route)
    return refuse('VALIDATION_ERROR', `Unknown payment route ${req.paymentRouteId}`, {
      details: { fields: [{ field: 'paymentRouteId', message: 'unknown payment route' }] },
    });
  const amount = routeAmountMinor(route, req.fiatAmount, req.fiatCurrency);
  if (amount === 'currency_mismatch') {
    return refuse('VALIDATION_ERROR', `${req.paymentRouteId} pays out in ${route.currency}`, {
      details: { fields: [{ field: 'fiatCurrency', message: `must be ${route.currency}` }] },
    });
  }
  if (amount === 'invalid_amount') {
    return refuse('VALIDATION_ERROR', `Invalid amount for ${route.currency}`, {
      details: { fields: [{ field: 'fiatAmount', message: `not a valid ${route.currency} amount` }] },
    });
  }
  const bound = routeViolation(route, amount);
  if (bound) return limitExceeded(bound, [bound]);
  const velocity = velocityViolations(thresholds.trader, usageFrom(extras.usage), req.cryptoAmountMinor);
  const [first] = velocity;
  return first ? limitExceeded(first, velocity) : ok({ allowed: true });
}

/** LIMIT_EXCEEDED naming the first limit gone over, with every one listed. */
function limitExceeded(first: LimitViolation, all: LimitViolation[]): Allowed {
  const { limit, limitValue, requested, currency, used } = first;
  const named = { limit, limitValue, requested, ...(currency === undefined ? {} : { currency }), ...(used === undefined ? {} : { used }) };
  return refuse('LIMIT_EXCEEDED', first.detail, { details: { ...named, violations: all.map((v) => v.limit) } });
}
