import { z } from 'zod';
import { currencyDecimals, decimalToMinor } from './money.ts';
import { eligibility } from './psp-alfred.ts';
import { paymentRouteId, paymentRoutes, rail, routeById } from './routes.ts';
import { exceptionKind, exceptionExposure, exceptionResolution, exceptionStatus } from './exceptions.ts';
import { payoutFailureView } from './payout-failures.ts';
import { decimalAmount, withdrawalStatus } from './withdrawals.ts';

/*
 * The public HTTP bodies, queries and answers of the gateway (API.md), snake_case on the wire.
 * Input schemas are strict where an unknown field would be a client bug worth reporting, and every
 * string is bounded so that nothing unbounded reaches a service.
 */

/** The fiat currencies of the payment routes: what `source_currency_id` may name. */
export const fiatCurrencyId = z.enum([...new Set(paymentRoutes.map((r) => r.currency))] as [string, ...string[]]);

/**
 * A money amount as typed by a user: a decimal string, or a JSON number taken in its canonical
 * string form (never through float arithmetic); exponent forms, negatives and float noise fail the
 * pattern. Precision is checked per currency by the enclosing schema (`checkPrecision`).
 */
export const amountInput = z
  .union([z.string().max(40), z.number()])
  .transform((v) => (typeof v === 'number' ? String(v) : v))
  .pipe(decimalAmount.refine((v) => /[1-9]/.test(v), 'must be greater than zero'));

/** Adds an issue at `path` when `amount` has more fractional digits than `currency` allows. */
export function checkPrecision(ctx: z.RefinementCtx, path: (string | number)[], amount: string, currency: string): void {
  const decimals = currencyDecimals[currency];
  if (decimals !== undefined && decimalToMinor(amount, decimals) === null) {
    ctx.addIssue({ code: 'custom', path, message: `at most ${decimals} decimal places for ${currency}` });
  }
}

export const uuidInput = z.uuid('must be a uuid');
const opaqueId = z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'must be an id of at most 200 letters, digits or _.:-');
/** A page or limit in a query string: its text is checked (so `1e2` is refused); documented as the integer it is (`x-integer`). */
export const pageNumber = (max: number, fallback: number) =>
  z
    .string()
    .regex(/^[1-9][0-9]{0,6}$/, 'must be a positive integer')
    .transform(Number)
    .pipe(z.number().max(max, `must be at most ${max}`))
    .optional()
    .transform((n) => n ?? fallback)
    .meta({ 'x-integer': { minimum: 1, maximum: max, default: fallback } });

// Widget requests.

export const quotePreviewBody = z
  .strictObject({ type: z.literal('withdrawal'), amount: amountInput, source_currency_id: fiatCurrencyId })
  .superRefine((b, ctx) => checkPrecision(ctx, ['amount'], b.amount, b.source_currency_id));
export type QuotePreviewBody = z.output<typeof quotePreviewBody>;

const fieldKey = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'field names are letters, digits and _, at most 64');
const fieldValue = z.union([z.string().max(256), z.boolean()]);
/** Rail-specific bank fields; the rail's own schema (requirements) is enforced by psp-alfred. */
export const fiatAccountFields = z
  .record(fieldKey, z.union([fieldValue, z.record(fieldKey, fieldValue).refine((o) => Object.keys(o).length <= 20, 'at most 20 fields')]))
  .refine((o) => Object.keys(o).length <= 30, 'at most 30 fields');

export const createFiatAccountBody = z.strictObject({
  type: rail,
  session_id: uuidInput.optional(),
  fiatAccountFields,
});
export type CreateFiatAccountBody = z.output<typeof createFiatAccountBody>;

export const fiatAccountRequirementsQuery = z.object({ type: rail });
export const fiatAccountIdParams = z.object({ id: opaqueId });

export const createSessionBody = z.strictObject({
  data: z
    .strictObject({
      type: z.literal('withdrawal'),
      amount: amountInput,
      source_currency_id: fiatCurrencyId,
      payment_route_id: paymentRouteId,
      wallet_id: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be a wallet id such as MAIN'),
      fiat_account_id: opaqueId,
    })
    .superRefine((d, ctx) => {
      checkPrecision(ctx, ['amount'], d.amount, d.source_currency_id);
      const route = routeById(d.payment_route_id);
      if (route && route.currency !== d.source_currency_id) {
        ctx.addIssue({ code: 'custom', path: ['source_currency_id'], message: `must be ${route.currency} for ${route.id}` });
      }
    }),
});
export type CreateSessionBody = z.output<typeof createSessionBody>;

export const initiateWithdrawalBody = z.strictObject({ session_id: uuidInput });

export const withdrawalsQuery = z.object({ page: pageNumber(1_000_000, 1), limit: pageNumber(100, 20) });
export const withdrawalIdParams = z.object({ id: uuidInput });

// QA requests.

export const devCountryQuery = z.object({ country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 country code such as BR') });
export const devEmitKycStatusBody = z.strictObject({ status: z.enum(['COMPLETED', 'FAILED', 'UPDATE_REQUIRED']) });
export const devFundBody = z
  .strictObject({ amount: amountInput, currency: z.literal('USDT') })
  .superRefine((b, ctx) => checkPrecision(ctx, ['amount'], b.amount, b.currency));
export const devEmitOfframpBody = z.strictObject({
  session_id: uuidInput,
  scenario: z.enum(['success', 'failure']),
  /** For a failure: Alfred's `failureReason` (default QA_SIMULATED_FAILURE), e.g. ACCOUNT_CLOSED or BANK_UNAVAILABLE. */
  failure_reason: z
    .string()
    .regex(/^[A-Za-z0-9_ .-]{1,200}$/, 'must be 1-200 letters, digits, spaces or _.-')
    .optional(),
});
export const devTokenBody = z.strictObject({
  sub: z.string().regex(/^[A-Za-z0-9_.@-]{1,200}$/, 'must be 1-200 letters, digits or _.@-'),
  role: z.enum(['trader', 'admin']).optional(),
});

// Answers (the `data` of the success envelope).

/** An amount in an answer: a non-negative decimal string such as "50.00" or "20.049116", never a JSON number. */
export const decimalString = z.string().regex(/^(0|[1-9][0-9]*)(\.[0-9]+)?$/, 'must be a decimal string');
const decimal = decimalString;
const timestamp = z.iso.datetime({ offset: true });
const fee = z.object({ type: z.string(), amount: decimal, currency: z.string() });

export const eligibilityAnswer = eligibility;
export const supportedOptionsAnswer = z.array(
  z.object({ payment_route_id: z.string(), rail, currency: z.string(), min: decimal, max: decimal }),
);
export const quoteAnswer = z.object({
  quote_id: z.string(),
  fiat_amount: decimal,
  fiat_currency: z.string(),
  crypto_amount: decimal,
  crypto_currency: z.literal('USDT'),
  rate: z.string(),
  fees: z.array(fee),
  expires_at: timestamp,
});
export const fiatAccountAnswer = z.object({
  fiat_account_id: z.string(),
  type: rail,
  masked_number: z.string(),
  account_holder_name: z.string(),
  bank_name: z.string().nullable(),
  created_at: timestamp,
});
/** `status` `errored`: a payout to the account failed for a reason about the account; POST /session refuses it (FIAT_ACCOUNT_ERRORED). */
export const fiatAccountListAnswer = z.array(fiatAccountAnswer.extend({ status: z.enum(['active', 'errored']) }));
export const fiatAccountRequirementsAnswer = z.record(z.string(), z.unknown());
/** API.md names the created id `fiatAccountId`; `fiat_account_id` is the same value in the wire's usual case. */
export const createdFiatAccountAnswer = z.object({ fiatAccountId: z.string(), fiat_account_id: z.string() });
export const sessionAnswer = z.object({
  session_id: z.uuid(),
  expires_at: timestamp,
  quote: quoteAnswer,
});
export const initiateAnswer = z.object({
  withdrawal_id: z.uuid(),
  status: withdrawalStatus,
  debited: z.object({ amount: decimal, currency: z.literal('USDT') }),
});
export const timelineAnswer = z.object({
  /** `transition` moved the status; `refused` was refused (no money moved); `note` records a partner status on the way. */
  kind: z.enum(['transition', 'refused', 'note']),
  from: withdrawalStatus.nullable(),
  to: withdrawalStatus,
  actor: z.string(),
  reason: z.string().nullable(),
  refused_code: z.string().nullable(),
  at: timestamp,
});
export const withdrawalAnswer = z.object({
  withdrawal_id: z.uuid(),
  status: withdrawalStatus,
  payment_route_id: z.string(),
  fiat_account_id: z.string(),
  fiat_amount: decimal,
  fiat_currency: z.string(),
  crypto_amount: decimal,
  crypto_currency: z.literal('USDT'),
  psp_transaction_id: z.string().nullable(),
  /** When the partner failed the payout: its class and the trader's message (Accept-Language, else the trader's country); null otherwise. */
  failure: payoutFailureView.nullable(),
  created_at: timestamp,
  updated_at: timestamp,
  timeline: z.array(timelineAnswer),
});
export const withdrawalListAnswer = z.object({
  withdrawals: z.array(withdrawalAnswer),
  total: z.number().int(),
  page: z.number().int(),
  limit: z.number().int(),
});
export const balancesAnswer = z.array(z.object({ currency: z.string(), available: decimal, held: decimal }));
export const devTokenAnswer = z.object({
  token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  expires_at: timestamp,
});
export const devFundAnswer = z.object({
  transfer_id: z.uuid(),
  amount: decimal,
  currency: z.literal('USDT'),
  available: decimal,
  held: decimal,
});

/** The envelopes around every answer. */
export const errorEnvelope = z.object({
  success: z.literal(false),
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  trace_id: z.string(),
});
export function successEnvelope<S extends z.ZodType>(data: S) {
  return z.object({ success: z.literal(true), data, trace_id: z.string() });
}

// Operator requests and answers (`/api/admin`, JWT with role admin).

/** A short free text an operator types (a reason, a note): trimmed, never blank, bounded. */
const operatorText = (max: number) => z.string().trim().min(1, 'must not be blank').max(max, `must be at most ${max} characters`);
const traderIdInput = z.string().regex(/^[A-Za-z0-9:_.@-]{1,200}$/, 'must be a trader id of 1-200 letters, digits or :_.@-');

export const adminWithdrawalsQuery = z.object({
  page: pageNumber(1_000_000, 1),
  limit: pageNumber(100, 50),
  status: withdrawalStatus.optional(),
  user_id: traderIdInput.optional(),
  /** Only withdrawals that stayed in their status longer than its SLA. */
  stuck: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
});
export const adminPendingQuery = z.object({ page: pageNumber(1_000_000, 1), limit: pageNumber(100, 50) });
/** Approve takes no body; an optional reason goes to the audit timeline. */
export const adminApproveBody = z.strictObject({ reason: operatorText(500).optional() }).optional();
export const adminRejectBody = z.strictObject({ reason: operatorText(500) });
export const adminProcessBody = z.strictObject({}).optional();
/** `reference` is the partner's confirmation (the seed's `txHash`). */
export const adminCompleteBody = z.strictObject({
  reference: operatorText(200),
  notes: operatorText(1000).optional(),
  /** Required unless Alfred reports FIAT_TRANSFER_COMPLETED (else 409 PARTNER_ORDER_LIVE). */
  confirmed_out_of_band: z.boolean().optional(),
});
export const adminStatusBody = z.strictObject({
  status: withdrawalStatus,
  reason: operatorText(500),
  reference: operatorText(200).optional(),
  /** For an override to `completed`: as for complete. */
  confirmed_out_of_band: z.boolean().optional(),
});
export const adminSyncBody = z.strictObject({}).optional();
export const adminFreezeBody = z.strictObject({
  frozen: z.boolean(),
  country: z
    .string()
    .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166 alpha-2 country code such as BR')
    .transform((c) => c.toUpperCase())
    .optional(),
  reason: operatorText(500),
});

export const adminWithdrawalAnswer = z.object({
  withdrawal_id: z.uuid(),
  user_id: z.string(),
  status: withdrawalStatus,
  country: z.string().nullable(),
  payment_route_id: z.string(),
  fiat_amount: decimal,
  fiat_currency: z.string(),
  crypto_amount: decimal,
  crypto_currency: z.literal('USDT'),
  quote: quoteAnswer.nullable(),
  fiat_account: fiatAccountAnswer.omit({ created_at: true }).nullable(),
  risk_decision: z
    .object({
      decision: z.enum(['approve', 'review', 'reject']),
      reasons: z.array(z.object({ code: z.string(), detail: z.string() })),
      decided_at: timestamp,
    })
    .nullable(),
  psp_transaction: z
    .object({ provider: z.literal('alfred'), transaction_id: z.string(), settlement_reference: z.string().nullable() })
    .nullable(),
  psp_transaction_id: z.string().nullable(),
  failure_reason: z.string().nullable(),
  /** When the partner failed the payout: the class, the trader's message and Alfred's raw reason; null otherwise. */
  failure: payoutFailureView.extend({ raw_reason: z.string().nullable() }).nullable(),
  settlement_reference: z.string().nullable(),
  stuck_since: timestamp.nullable(),
  approved_by: z.string().nullable(),
  approved_at: timestamp.nullable(),
  /** The operator actions legal in the current status (the state machine's edges): what a console enables. */
  allowed_actions: z.array(z.enum(['approve', 'reject', 'process', 'complete', 'override'])),
  created_at: timestamp,
  updated_at: timestamp,
  timeline: z.array(timelineAnswer),
  /** In the detail only: the exceptions opened about this withdrawal. */
  exceptions: z.array(z.object({ exception_id: z.uuid(), kind: exceptionKind, status: exceptionStatus })).optional(),
});
export const adminWithdrawalListAnswer = z.object({
  withdrawals: z.array(adminWithdrawalAnswer),
  total: z.number().int(),
  page: z.number().int(),
  limit: z.number().int(),
});
/** API.md names the counts in camelCase; the snake_case twins follow the wire's usual case. */
export const adminSyncAnswer = z.object({
  syncedCount: z.number().int(),
  failedCount: z.number().int(),
  synced_count: z.number().int(),
  failed_count: z.number().int(),
  details: z.array(
    z.object({
      withdrawal_id: z.uuid(),
      transaction_id: z.string(),
      previous_status: z.string().nullable(),
      status: z.string().nullable(),
      outcome: z.enum(['updated', 'unchanged', 'failed']),
      synced: z.boolean(),
      error: z.string().nullable(),
    }),
  ),
});
const freezeSwitchAnswer = z.object({
  frozen: z.boolean(),
  reason: z.string().nullable(),
  by: z.string().nullable(),
  at: timestamp.nullable(),
});
export const adminFreezeAnswer = z.object({ global: freezeSwitchAnswer, countries: z.record(z.string(), freezeSwitchAnswer) });

// The exception queue (operators).

export const adminExceptionsQuery = z.object({
  page: pageNumber(1_000_000, 1),
  limit: pageNumber(100, 50),
  status: exceptionStatus.optional(),
  kind: exceptionKind.optional(),
  withdrawal_id: uuidInput.optional(),
});
export const exceptionIdParams = z.object({ id: uuidInput });
export const adminResolveExceptionBody = z.strictObject({ resolution: exceptionResolution, note: operatorText(1000) });

/** USDT amounts as decimal strings, like `crypto_amount`. */
export const adminExceptionAnswer = z.object({
  exception_id: z.uuid(),
  kind: exceptionKind,
  status: exceptionStatus,
  withdrawal_id: z.uuid().nullable(),
  user_id: z.string().nullable(),
  partner_reference: z.string().nullable(),
  facts: z.record(z.string(), z.unknown()),
  exposure: exceptionExposure,
  amount: decimal,
  outstanding_amount: decimal,
  currency: z.literal('USDT'),
  opened_at: timestamp,
  resolved_at: timestamp.nullable(),
  resolution: exceptionResolution.nullable(),
  /** What an operator may still choose (empty once resolved). */
  resolutions: z.array(exceptionResolution),
  actions: z.array(
    z.object({
      resolution: exceptionResolution,
      note: z.string(),
      operator_id: z.string(),
      moved_amount: decimal,
      transfer_id: z.uuid().nullable(),
      at: timestamp,
    }),
  ),
});
export const adminExceptionListAnswer = z.object({
  exceptions: z.array(adminExceptionAnswer),
  total: z.number().int(),
  page: z.number().int(),
  limit: z.number().int(),
});
