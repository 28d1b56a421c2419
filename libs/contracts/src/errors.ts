/** The error codes of the public HTTP contract (docs/api.md) with their HTTP statuses. */
export const errorCatalogue = {
  VALIDATION_ERROR: { status: 400, message: 'The request is invalid' },
  UNAUTHORIZED: { status: 401, message: 'Authentication required' },
  FORBIDDEN: { status: 403, message: 'Forbidden' },
  USER_NOT_VERIFIED: { status: 403, message: 'User is not verified' },
  ALFRED_KYC_PENDING: { status: 403, message: 'KYC review at the PSP is pending' },
  ALFRED_KYC_REJECTED: { status: 403, message: 'KYC was rejected by the PSP' },
  ALFRED_NOT_AVAILABLE_FOR_COUNTRY: { status: 403, message: 'Withdrawals are not available for this country' },
  ALFRED_CUSTOMER_NOT_PROVISIONED: { status: 403, message: 'PSP customer is not provisioned' },
  ALFRED_SESSION_NOT_OWNED: { status: 403, message: 'Session belongs to another user' },
  NOT_FOUND: { status: 404, message: 'Not found' },
  SESSION_NOT_FOUND: { status: 404, message: 'Session not found' },
  FIAT_ACCOUNT_NOT_FOUND: { status: 404, message: 'Fiat account not found' },
  WITHDRAWAL_NOT_FOUND: { status: 404, message: 'Withdrawal not found' },
  EXCEPTION_NOT_FOUND: { status: 404, message: 'Exception not found' },
  APPROVAL_NOT_FOUND: { status: 404, message: 'Approval not found' },
  PARTNER_DELIVERY_NOT_FOUND: { status: 404, message: 'Partner webhook delivery not found' },
  // Four-eyes: the operator who requested an action cannot also confirm (or decline) it.
  FOUR_EYES_REQUIRED: { status: 403, message: 'A different operator must confirm this request' },
  APPROVAL_NOT_PENDING: { status: 409, message: 'The approval is no longer pending' },
  APPROVAL_EXPIRED: { status: 410, message: 'The approval request has expired' },
  SESSION_EXPIRED: { status: 410, message: 'Session expired' },
  INSUFFICIENT_FUNDS: { status: 409, message: 'Insufficient funds' },
  FIAT_ACCOUNT_DUPLICATE: { status: 409, message: 'Fiat account already exists' },
  ALFRED_INCORRECT_STATUS_CHANGE: { status: 409, message: 'Incorrect status change' },
  // The withdrawal has an order at Alfred that is not FAILED: rejecting it here would diverge from the partner.
  PARTNER_ORDER_LIVE: { status: 409, message: 'The partner order is live' },
  EXCEPTION_ALREADY_RESOLVED: { status: 409, message: 'Exception already resolved' },
  EXCEPTION_RESOLUTION_INVALID: { status: 409, message: 'This resolution does not apply to the exception' },
  // A replay of a webhook delivery to a partner that is disabled or has no webhook URL.
  PARTNER_WEBHOOK_UNAVAILABLE: { status: 409, message: 'The partner is disabled or has no webhook URL' },
  // Node's HTTP parser gave up waiting for the request (requestTimeout).
  REQUEST_TIMEOUT: { status: 408, message: 'Request timeout' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'Payload too large' },
  // A path parameter longer than the router accepts (Fastify's maxParamLength), refused before any route runs.
  URI_TOO_LONG: { status: 414, message: 'URI too long' },
  // A body in a content type no route parses (anything but JSON and plain text).
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported media type' },
  FIAT_ACCOUNT_INVALID: { status: 422, message: 'Fiat account is invalid' },
  LIMIT_EXCEEDED: { status: 422, message: 'Limit exceeded' },
  // A payout to the fiat account failed for a reason about the account itself (closed, invalid, another holder): register another.
  FIAT_ACCOUNT_ERRORED: { status: 422, message: 'The fiat account cannot receive payouts; register another one' },
  // Alfred answers 409 (bridged customer) or 422 (non-bridged); the edge keeps Alfred's status.
  ALFRED_BANK_USA_UNAVAILABLE: { status: 422, message: 'BANK_USA unavailable, contact support' },
  ALFRED_WITHDRAWALS_FROZEN: { status: 423, message: 'Withdrawals are frozen' },
  RATE_LIMITED: { status: 429, message: 'Too many requests' },
  HEADERS_TOO_LARGE: { status: 431, message: 'Request header fields too large' },
  // A client error no other code names (a plugin's 4xx); the answer keeps that error's own status.
  REQUEST_REFUSED: { status: 400, message: 'The request was refused' },
  // The partner API (`/partner/v1`): the signed requests' refusals, in the order they are checked.
  PARTNER_UNAUTHORIZED: { status: 401, message: 'Unknown API key' },
  PARTNER_SIGNATURE_INVALID: { status: 401, message: 'The payload hash does not match' },
  PARTNER_DISABLED: { status: 403, message: 'The partner is disabled' },
  PARTNER_REQUEST_STALE: { status: 401, message: 'The request date is outside the accepted window' },
  PARTNER_USER_NOT_LINKED: { status: 403, message: 'The user is not linked to the partner' },
  PARTNER_REQUEST_ID_TAKEN: { status: 409, message: 'The withdrawRequestId is taken' },
  PARTNER_REQUEST_CONFLICT: { status: 409, message: 'The withdrawRequestId was used for a different request' },
  PARTNER_REQUEST_NOT_FOUND: { status: 404, message: 'Withdrawal request not found' },
  PARTNER_NOT_FOUND: { status: 404, message: 'Partner not found' },
  INTERNAL: { status: 500, message: 'Internal error' },
  PSP_UNAVAILABLE: { status: 503, message: 'Payment provider unavailable' },
  // `/readyz`: the process cannot take traffic (draining, or its database or NATS is gone); details name which.
  NOT_READY: { status: 503, message: 'Not ready' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[];
