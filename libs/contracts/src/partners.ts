import { z } from 'zod';
import { defineRpc } from './envelope.ts';
import { amountInput, checkPrecision, decimalString, fiatCurrencyId, pageNumber } from './http.ts';
import { payoutFailureClass, type PayoutFailureClass } from './payout-failures.ts';
import { serviceResult } from './result.ts';
import { paymentRouteId, routeById } from './routes.ts';
import { rpcSubject } from './subjects.ts';
import { decimalAmount, withdrawalStatus } from './withdrawals.ts';

/**
 * The server-to-server partner API (`/partner/v1`). A partner's withdrawal request runs the widget's
 * pipeline; the partner sees the withdrawal's state in its own five words.
 */
export const partnerWithdrawalStates = ['NEW', 'PROCESSING', 'COMPLETED', 'FAILED', 'REJECTED'] as const;
export const partnerWithdrawalState = z.enum(partnerWithdrawalStates);
export type PartnerWithdrawalState = z.infer<typeof partnerWithdrawalState>;

/**
 * Our status -> the partner's state: `pending` (held, risk deciding) is NEW; `in_review`, `approved`
 * and `processing` are PROCESSING; `completed` is COMPLETED; `rejected` is FAILED when the payout
 * failed at Alfred (a failure class is set) and REJECTED when risk or an operator refused it.
 */
export function partnerStateOf(status: z.infer<typeof withdrawalStatus>, failureClass?: PayoutFailureClass | null): PartnerWithdrawalState {
  switch (status) {
    case 'pending':
      return 'NEW';
    case 'in_review':
    case 'approved':
    case 'processing':
      return 'PROCESSING';
    case 'completed':
      return 'COMPLETED';
    case 'rejected':
      return failureClass ? 'FAILED' : 'REJECTED';
  }
}

// The partner registry: its rpcs (camelCase, below) and the operator routes (`/api/admin/partners`),
// snake_case on the wire like every operator route (the gateway maps one to the other).

export const partnerStatuses = ['active', 'disabled'] as const;
export const partnerStatus = z.enum(partnerStatuses);

const timestamp = z.iso.datetime({ offset: true });
const operatorId = z.string().min(1).max(200);
const text = (max: number) => z.string().trim().min(1, 'must not be blank').max(max, `must be at most ${max} characters`);

/**
 * Where the partner's webhooks go: `https://…`, or `http://` to localhost / 127.0.0.1 / [::1] for
 * QA. No credentials in the URL, at most 2048 characters.
 */
export const partnerWebhookUrl = z
  .string()
  .max(2048, 'must be at most 2048 characters')
  .refine((v) => {
    try {
      const url = new URL(v);
      if (url.username || url.password) return false;
      if (url.protocol === 'https:') return true;
      return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
    } catch {
      return false;
    }
  }, 'must be an https URL (http only to localhost or 127.0.0.1), without credentials');

/** Our trader id as the partner names its user (`userId`). */
export const partnerTraderId = z.string().regex(/^[A-Za-z0-9:_.@-]{1,200}$/, 'must be a trader id of 1-200 letters, digits or :_.@-');
/** `:partnerId` of the registry's routes (the same as partner-webhooks.ts' `partnerIdParams`). */
export const partnerRegistryParams = z.object({ partnerId: z.uuid('must be a uuid') });
export const partnerTraderParams = partnerRegistryParams.extend({ traderId: partnerTraderId });

/** A partner as sessions' rpcs answer it: never its secrets. */
export const partnerView = z.object({
  partnerId: z.uuid(),
  name: z.string(),
  apiKeyId: z.string(),
  status: partnerStatus,
  webhookUrl: z.string().nullable(),
  /** The traders the partner may act for. */
  traders: z.array(z.object({ traderId: z.string(), userName: z.string(), linkedAt: timestamp })),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export type PartnerView = z.infer<typeof partnerView>;

/** The create and rotate answers: the secrets, shown this once (never in a list or get answer, never logged). */
export const partnerWithSecrets = partnerView.extend({
  /** The key of the HMAC-SHA256 the partner sends in `x-payload-hash` (hex of 32 random bytes). */
  apiSecret: z.string(),
  /** The Standard Webhooks secret our webhooks to the partner are signed with (`whsec_` + base64). */
  webhookSecret: z.string(),
});
export type PartnerWithSecrets = z.infer<typeof partnerWithSecrets>;
/** A page of partners, newest first, and how many there are in all (of the status asked for). */
export const partnerListView = z.object({ partners: z.array(partnerView), total: z.number().int() });

/** `GET /api/admin/partners`: paged like every operator list, optionally of one status. */
export const adminPartnersQuery = z.object({
  page: pageNumber(1_000_000, 1),
  limit: pageNumber(100, 50),
  status: partnerStatus.optional(),
});
/** `POST /api/admin/partners`. */
export const adminCreatePartnerBody = z.strictObject({ name: text(200), webhook_url: partnerWebhookUrl.optional() });
/** `PUT /api/admin/partners/:partnerId/webhook`. */
export const adminPartnerWebhookBody = z.strictObject({ url: partnerWebhookUrl.nullable() });
/** `POST /api/admin/partners/:partnerId/traders`. */
export const adminLinkPartnerTraderBody = z.strictObject({ trader_id: partnerTraderId, user_name: text(200) });

/** A partner as operators see it (`partnerView` in snake_case): never its secrets. */
export const adminPartnerAnswer = z.object({
  partner_id: z.uuid(),
  name: z.string(),
  api_key_id: z.string(),
  status: partnerStatus,
  webhook_url: z.string().nullable(),
  /** The traders the partner may act for. */
  traders: z.array(z.object({ trader_id: z.string(), user_name: z.string(), linked_at: timestamp })),
  created_at: timestamp,
  updated_at: timestamp,
});
/** The create and rotate answers (`partnerWithSecrets` in snake_case): the secrets, shown this once. */
export const adminPartnerWithSecretsAnswer = adminPartnerAnswer.extend({
  /** The key of the HMAC-SHA256 the partner sends in `x-payload-hash` (hex of 32 random bytes). */
  api_secret: z.string(),
  /** The Standard Webhooks secret our webhooks to the partner are signed with (`whsec_` + base64). */
  webhook_secret: z.string(),
});
export const adminPartnerListAnswer = z.object({
  partners: z.array(adminPartnerAnswer),
  total: z.number().int(),
  page: z.number().int(),
  limit: z.number().int(),
});

// The partner's requests (`/partner/v1`).

/** The partner's id of a request: unique across all partners. */
export const withdrawRequestId = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 letters, digits or _.:-');
export const withdrawRequestParams = z.object({ withdrawRequestId });

/** `POST /partner/v1/withdrawal-requests`: a withdrawal of the user's USDT paying out `fiatAmount` to the fiat account. */
export const partnerWithdrawalRequestBody = z
  .strictObject({
    withdrawRequestId,
    /** When the partner made the request, epoch milliseconds: within PARTNER_REQUEST_WINDOW_MS of our clock. */
    withdrawRequestDate: z.number().int('must be epoch milliseconds').positive('must be epoch milliseconds').max(8_640_000_000_000_000),
    userId: partnerTraderId,
    userName: text(200),
    fiatCurrency: fiatCurrencyId,
    fiatAmount: amountInput,
    currency: z.literal('USDT'),
    fiatAccountId: z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'must be an id of at most 200 letters, digits or _.:-'),
    /** The route (e.g. BR_PIX); by default the one route of `fiatCurrency`. */
    paymentRouteId: paymentRouteId.optional(),
  })
  .superRefine((b, ctx) => {
    checkPrecision(ctx, ['fiatAmount'], b.fiatAmount, b.fiatCurrency);
    const route = b.paymentRouteId ? routeById(b.paymentRouteId) : undefined;
    if (route && route.currency !== b.fiatCurrency)
      ctx.addIssue({ code: 'custom', path: ['fiatCurrency'], message: `must be ${route.currency} for ${route.id}` });
  });
/** The request as the gateway hands it to sessions (validated and normalized by the body schema above; no transforms, so it travels as it is). */
export const partnerWithdrawalRequest = z.object({
  withdrawRequestId: z.string().max(64),
  withdrawRequestDate: z.number().int(),
  userId: z.string().min(1).max(200),
  userName: z.string().min(1).max(200),
  fiatCurrency: z.string(),
  fiatAmount: decimalAmount,
  currency: z.literal('USDT'),
  fiatAccountId: z.string().min(1).max(200),
  paymentRouteId: z.string().optional(),
});
export type PartnerWithdrawalRequest = z.output<typeof partnerWithdrawalRequest>;

/** The conversion the request was priced at: Alfred's quote from the fiat amount. */
export const partnerConversion = z.object({
  fiatAmount: decimalString,
  fiatCurrency: z.string(),
  cryptoAmount: decimalString,
  currency: z.literal('USDT'),
  rate: z.string(),
  quotedAt: timestamp,
});

/** The answer of `POST /partner/v1/withdrawal-requests`: the request as persisted, with its withdrawal's state now. */
export const partnerRequestView = z.object({
  withdrawRequestId: z.string(),
  withdrawRequestDate: z.number().int(),
  userId: z.string(),
  userName: z.string(),
  withdrawalState: partnerWithdrawalState,
  /** Our withdrawal id. */
  operationNo: z.uuid(),
  conversion: partnerConversion,
  createdAt: timestamp,
});
export type PartnerRequestView = z.infer<typeof partnerRequestView>;

/** The answer of `GET /partner/v1/withdrawal-requests/:withdrawRequestId`. */
export const partnerRequestStatusView = z.object({
  withdrawRequestId: z.string(),
  withdrawalState: partnerWithdrawalState,
  /** The USDT debited, decimal string. */
  amount: decimalString,
  currency: z.literal('USDT'),
  fiatAmount: decimalString,
  fiatCurrency: z.string(),
  userId: z.string(),
  userName: z.string(),
  /** When the withdrawal was made (the USDT held), epoch milliseconds. */
  withdrawTime: z.number().int(),
  /** When it reached COMPLETED, FAILED or REJECTED, epoch milliseconds; null before. */
  finishTime: z.number().int().nullable(),
  operationNo: z.uuid(),
  /** Our own status (`pending`, `in_review`, `approved`, `processing`, `completed`, `rejected`). */
  status: withdrawalStatus,
  /** Set when the payout failed at Alfred (FAILED): its class and an English message. */
  failure: z.object({ class: payoutFailureClass, message: z.string() }).nullable(),
});
export type PartnerRequestStatusView = z.infer<typeof partnerRequestStatusView>;

export const partnersRpc = {
  create: defineRpc(
    rpcSubject('sessions', 'partner-create'),
    z.object({ name: z.string().min(1).max(200), webhookUrl: z.string().nullable(), operatorId }),
    serviceResult(partnerWithSecrets),
  ),
  /** Newest first (created_at, then partner id), optionally of one status. */
  list: defineRpc(
    rpcSubject('sessions', 'partner-list'),
    z.object({ status: partnerStatus.optional(), page: z.number().int().min(1), limit: z.number().int().min(1).max(100) }),
    partnerListView,
  ),
  get: defineRpc(rpcSubject('sessions', 'partner-get'), z.object({ partnerId: z.uuid() }), serviceResult(partnerView)),
  setStatus: defineRpc(
    rpcSubject('sessions', 'partner-set-status'),
    z.object({ partnerId: z.uuid(), status: partnerStatus, operatorId }),
    serviceResult(partnerView),
  ),
  /** New apiSecret and webhookSecret (the apiKeyId stays); the old ones stop working at once. */
  rotateSecret: defineRpc(
    rpcSubject('sessions', 'partner-rotate-secret'),
    z.object({ partnerId: z.uuid(), operatorId }),
    serviceResult(partnerWithSecrets),
  ),
  setWebhook: defineRpc(
    rpcSubject('sessions', 'partner-set-webhook'),
    z.object({ partnerId: z.uuid(), url: z.string().nullable(), operatorId }),
    serviceResult(partnerView),
  ),
  linkTrader: defineRpc(
    rpcSubject('sessions', 'partner-link-trader'),
    z.object({ partnerId: z.uuid(), traderId: z.string().min(1).max(200), userName: z.string().min(1).max(200), operatorId }),
    serviceResult(partnerView),
  ),
  unlinkTrader: defineRpc(
    rpcSubject('sessions', 'partner-unlink-trader'),
    z.object({ partnerId: z.uuid(), traderId: z.string().min(1).max(200), operatorId }),
    serviceResult(partnerView),
  ),
  /**
   * The partner's signature: `payloadHash` (hex or base64 HMAC-SHA256 with the partner's apiSecret)
   * over `signed` (base64 of the exact bytes: the raw body of a POST, the request target of a GET).
   * PARTNER_UNAUTHORIZED, PARTNER_SIGNATURE_INVALID or PARTNER_DISABLED, in that order.
   */
  authenticate: defineRpc(
    rpcSubject('sessions', 'partner-authenticate'),
    z.object({ apiKeyId: z.string().max(200), payloadHash: z.string().max(200), signed: z.base64() }),
    serviceResult(z.object({ partnerId: z.uuid() })),
  ),
  /** A partner's withdrawal request, after `authenticate`: `created` is false when the same request was made before. */
  createRequest: defineRpc(
    rpcSubject('sessions', 'partner-create-request'),
    z.object({ partnerId: z.uuid(), request: partnerWithdrawalRequest }),
    serviceResult(z.object({ created: z.boolean(), request: partnerRequestView })),
  ),
  getRequest: defineRpc(
    rpcSubject('sessions', 'partner-get-request'),
    z.object({ partnerId: z.uuid(), withdrawRequestId: z.string().max(200) }),
    serviceResult(partnerRequestStatusView),
  ),
};
