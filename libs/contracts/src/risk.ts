import { z } from 'zod';
import { defineMessage, defineRpc } from './envelope.ts';
import { positiveMinorUnits } from './money.ts';
import { serviceResult } from './result.ts';
import { eventSubject, rpcSubject } from './subjects.ts';
import { decimalAmount } from './withdrawals.ts';

export const riskDecision = z.enum(['approve', 'review', 'reject']);
export type RiskDecision = z.infer<typeof riskDecision>;

/** Machine-readable reasons, e.g. `kyt_blocked`, `kyt_suspicious`, `travel_rule_name_mismatch`, `daily_amount_exceeded`. */
export const riskReason = z.object({ code: z.string().regex(/^[a-z_]+$/), detail: z.string() });

export const freezeState = z.object({
  global: z.object({ frozen: z.boolean(), reason: z.string().nullable(), by: z.string().nullable(), at: z.iso.datetime({ offset: true }).nullable() }),
  countries: z.record(z.string().length(2), z.object({ frozen: z.boolean(), reason: z.string().nullable(), by: z.string().nullable(), at: z.iso.datetime({ offset: true }).nullable() })),
});

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
    z.object({ frozen: z.boolean(), country: z.string().length(2).optional(), reason: z.string().min(1).max(500), operatorId: z.string().min(1) }),
    freezeState,
  ),
};

export const riskEvents = {
  decided: defineMessage(
    eventSubject('risk', 'decided'),
    z.object({ withdrawalId: z.uuid(), traderId: z.string(), decision: riskDecision, reasons: z.array(riskReason) }),
  ),
};
