import { z } from 'zod';
import { defineMessage, defineRpc } from './envelope.ts';
import { currencyCode, positiveMinorUnits } from './money.ts';
import { serviceResult } from './result.ts';
import { eventSubject, rpcSubject } from './subjects.ts';
import { decimalAmount } from './withdrawals.ts';

export const riskDecision = z.enum(['approve', 'review', 'reject']);
export type RiskDecision = z.infer<typeof riskDecision>;

/** Machine-readable reasons, e.g. `kyt_blocked`, `kyt_suspicious`, `travel_rule_name_mismatch`, `daily_amount_exceeded`. */
export const riskReason = z.object({ code: z.string().regex(/^[a-z_]+$/), detail: z.string() });
export type RiskReason = z.infer<typeof riskReason>;

export const freezeState = z.object({
  global: z.object({
    frozen: z.boolean(),
    reason: z.string().nullable(),
    by: z.string().nullable(),
    at: z.iso.datetime({ offset: true }).nullable(),
  }),
  countries: z.record(
    z.string().length(2),
    z.object({
      frozen: z.boolean(),
      reason: z.string().nullable(),
      by: z.string().nullable(),
      at: z.iso.datetime({ offset: true }).nullable(),
    }),
  ),
});

export const screeningKind = z.enum(['trader', 'destination']);
export const screeningVerdict = z.enum(['blocked', 'suspicious']);

/** A KYT screening list entry: a trader id, or a destination account fingerprint (`destinationFingerprint`). */
export const screeningEntry = z.object({
  kind: screeningKind,
  value: z.string(),
  verdict: screeningVerdict,
  note: z.string(),
  updatedBy: z.string(),
  updatedAt: z.iso.datetime({ offset: true }),
});
export type ScreeningEntry = z.infer<typeof screeningEntry>;

/** Route bounds in the route's fiat currency, decimal strings. */
export const routeThreshold = z.object({ currency: currencyCode, min: decimalAmount, max: decimalAmount });

/** Per-trader velocity limits: amounts in USDT minor units, counts of withdrawals. Daily is a rolling 24 h, monthly a rolling 30 days. */
export const traderLimits = z.object({
  dailyAmountMinor: positiveMinorUnits,
  monthlyAmountMinor: positiveMinorUnits,
  dailyCount: z.number().int().positive().max(1_000_000),
  monthlyCount: z.number().int().positive().max(1_000_000),
});

export const riskThresholds = z.object({
  routes: z.record(z.string(), routeThreshold),
  trader: traderLimits,
  /** At or above this USDT amount the beneficiary name must match the KYC name. */
  travelRuleThresholdMinor: positiveMinorUnits,
});
export type RiskThresholds = z.infer<typeof riskThresholds>;

export const setThresholdsRequest = z.object({
  operatorId: z.string().min(1),
  reason: z.string().max(500).optional(),
  routes: z.record(z.string(), z.object({ min: decimalAmount.optional(), max: decimalAmount.optional() })).optional(),
  trader: traderLimits.partial().optional(),
  travelRuleThresholdMinor: positiveMinorUnits.optional(),
});

export const decisionView = z.object({
  withdrawalId: z.uuid(),
  traderId: z.string(),
  country: z.string(),
  paymentRouteId: z.string(),
  debitedMinor: positiveMinorUnits,
  decision: riskDecision,
  reasons: z.array(riskReason),
  decidedAt: z.iso.datetime({ offset: true }),
});
export type DecisionView = z.infer<typeof decisionView>;

const checkRequest = z.object({
  traderId: z.string().min(1),
  country: z.string().length(2),
  paymentRouteId: z.string(),
  fiatAmount: decimalAmount,
  fiatCurrency: z.string(),
  cryptoAmountMinor: positiveMinorUnits,
});

export const riskRpc = {
  /** Before a session is created: freeze (ALFRED_WITHDRAWALS_FROZEN 423) and route/trader limits (LIMIT_EXCEEDED 422). */
  checkSession: defineRpc(rpcSubject('risk', 'check-session'), checkRequest, serviceResult(z.object({ allowed: z.literal(true) }))),
  /** Before the hold at initiate: the freeze only (nothing may be held while frozen). */
  checkInitiate: defineRpc(
    rpcSubject('risk', 'check-initiate'),
    checkRequest.pick({ traderId: true, country: true }),
    serviceResult(z.object({ allowed: z.literal(true) })),
  ),
  getFreeze: defineRpc(rpcSubject('risk', 'get-freeze'), z.object({}), freezeState),
  setFreeze: defineRpc(
    rpcSubject('risk', 'set-freeze'),
    z.object({
      frozen: z.boolean(),
      country: z
        .string()
        .regex(/^[A-Za-z]{2}$/, 'must be a two-letter country code')
        .optional(),
      reason: z.string().min(1).max(500),
      operatorId: z.string().min(1),
    }),
    freezeState,
  ),
  /** Adds a screening entry, or replaces the verdict and note of the entry with the same kind and value. */
  addScreeningEntry: defineRpc(
    rpcSubject('risk', 'add-screening-entry'),
    z.object({
      kind: screeningKind,
      value: z.string().min(1).max(500),
      verdict: screeningVerdict,
      note: z.string().max(1000).optional(),
      operatorId: z.string().min(1),
    }),
    z.object({ entry: screeningEntry }),
  ),
  /** Removes the entry with that kind and value; `removed` is false when there was none. */
  removeScreeningEntry: defineRpc(
    rpcSubject('risk', 'remove-screening-entry'),
    z.object({ kind: screeningKind, value: z.string().min(1).max(500), operatorId: z.string().min(1) }),
    z.object({ removed: z.boolean() }),
  ),
  listScreeningEntries: defineRpc(
    rpcSubject('risk', 'list-screening-entries'),
    z.object({ kind: screeningKind.optional() }),
    z.object({ entries: z.array(screeningEntry) }),
  ),
  /** The recorded decision of a withdrawal, for the operator's details; null until risk has decided. */
  getDecision: defineRpc(
    rpcSubject('risk', 'get-decision'),
    z.object({ withdrawalId: z.uuid() }),
    z.object({ decision: decisionView.nullable() }),
  ),
  getThresholds: defineRpc(rpcSubject('risk', 'get-thresholds'), z.object({}), riskThresholds),
  /** Partial update; every change is audited with the operator. VALIDATION_ERROR for an unknown route, a bad precision or min > max. */
  setThresholds: defineRpc(rpcSubject('risk', 'set-thresholds'), setThresholdsRequest, serviceResult(riskThresholds)),
};

export const riskEvents = {
  decided: defineMessage(
    eventSubject('risk', 'decided'),
    z.object({ withdrawalId: z.uuid(), traderId: z.string(), decision: riskDecision, reasons: z.array(riskReason) }),
  ),
};
