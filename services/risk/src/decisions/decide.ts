import { minorToDecimal, type RiskDecision, type RiskReason, type WithdrawalDebited } from '@offramp/contracts';
import { routeAmountMinor, routeViolation, velocityViolations, type RouteBounds, type TraderLimits, type Usage } from '../limits/limits.ts';
import { frozenScope, type FreezeFlags } from '../freeze/frozen-scope.ts';
import { namesMatch } from './name-match.ts';

export interface ScreeningMatch {
  kind: 'trader' | 'destination';
  value: string;
  verdict: 'blocked' | 'suspicious';
  note: string;
}

/** Everything the decision depends on, read by the caller: the function itself does no I/O. */
export interface DecisionInput {
  withdrawal: WithdrawalDebited;
  freeze: FreezeFlags;
  /** The route's bounds, or null when the route is not in the thresholds. */
  route: RouteBounds | null;
  limits: TraderLimits;
  travelRuleThresholdMinor: bigint;
  /** The screening list (or the part of it that may concern this withdrawal). */
  screening: readonly ScreeningMatch[];
  usage: Usage;
}

export interface Decision {
  decision: RiskDecision;
  reasons: RiskReason[];
}

type Finding = RiskReason & { outcome: 'review' | 'reject' };

/** approve | review | reject with every reason found; reject wins over review, review over approve. */
export function decide(input: DecisionInput): Decision {
  const findings = [...freezeFindings(input), ...screeningFindings(input), ...travelRuleFindings(input), ...limitFindings(input)];
  const decision: RiskDecision = findings.some((f) => f.outcome === 'reject') ? 'reject' : findings.length > 0 ? 'review' : 'approve';
  return { decision, reasons: findings.map(({ code, detail }) => ({ code, detail })) };
}

function freezeFindings({ withdrawal, freeze }: DecisionInput): Finding[] {
  const scope = frozenScope(freeze, [withdrawal.country]);
  if (scope === null) return [];
  const where = scope === 'global' ? 'globally' : `for ${scope}`;
  return [{ outcome: 'review', code: 'frozen', detail: `withdrawals were frozen ${where} when the decision was made` }];
}

function screeningFindings({ withdrawal, screening }: DecisionInput): Finding[] {
  const subjects = { trader: withdrawal.traderId, destination: withdrawal.destinationFingerprint };
  return screening
    .filter((entry) => subjects[entry.kind] === entry.value)
    .map((entry) => {
      const note = entry.note ? `: ${entry.note}` : '';
      return entry.verdict === 'blocked'
        ? { outcome: 'reject', code: 'kyt_blocked', detail: `${entry.kind} is blocked by the screening list${note}` }
        : { outcome: 'review', code: 'kyt_suspicious', detail: `${entry.kind} is marked suspicious by the screening list${note}` };
    });
}

function travelRuleFindings({ withdrawal, travelRuleThresholdMinor }: DecisionInput): Finding[] {
  if (withdrawal.debitedMinor < travelRuleThresholdMinor) return [];
  if (namesMatch(withdrawal.accountHolderName, withdrawal.kycName)) return [];
  const detail = `${minorToDecimal(withdrawal.debitedMinor, 6)} USDT is at or above the Travel Rule threshold of ${minorToDecimal(travelRuleThresholdMinor, 6)} USDT and the account holder name does not match the KYC name`;
  return [{ outcome: 'review', code: 'travel_rule_name_mismatch', detail }];
}

function limitFindings({ withdrawal, route, limits, usage }: DecisionInput): Finding[] {
  const velocity: Finding[] = velocityViolations(limits, usage, withdrawal.debitedMinor).map((v) => ({
    outcome: 'review',
    code: v.code,
    detail: v.detail,
  }));
  if (route === null)
    return [{ outcome: 'review', code: 'route_unknown', detail: `payment route ${withdrawal.paymentRouteId} has no limits` }, ...velocity];
  const amount = routeAmountMinor(route, withdrawal.fiatAmount, withdrawal.fiatCurrency);
  if (typeof amount === 'string') {
    const detail = `${withdrawal.fiatAmount} ${withdrawal.fiatCurrency} cannot be compared with the ${route.paymentRouteId} bounds in ${route.currency}`;
    return [{ outcome: 'review', code: 'route_amount_invalid', detail }, ...velocity];
  }
  const bound = routeViolation(route, amount);
  return [...(bound ? [{ outcome: 'review' as const, code: bound.code, detail: bound.detail }] : []), ...velocity];
}
