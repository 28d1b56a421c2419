/**
 * The closed set of answers the partner API refuses with, and how each one goes on the wire.
 * Codes marked *(assumed)* are our choice where Alfred's public record is silent.
 */
export const refusalCatalogue = {
  /** *(assumed)* A body, query or path that does not parse. */
  bad_request: { statusCode: 400, errorCode: 111300, errorMessage: 'Bad request' },
  internal_error: { statusCode: 500, errorCode: 111301, errorMessage: 'Internal server error' },
  /** An illegal status step, or a quote that is expired, used or unknown. */
  invalid_status_change: { statusCode: 400, errorCode: 111302, errorMessage: 'Invalid status change' },
  quote_unusable: { statusCode: 400, errorCode: 111302, errorMessage: 'Quote expired, used or unknown' },
  unauthorized: { statusCode: 401, errorCode: 111305, errorMessage: 'Unauthorized' },
  unsupported_pair: { statusCode: 400, errorCode: 111306, errorMessage: 'Unsupported currency pair' },
  unsupported_payment_method: { statusCode: 400, errorCode: 111307, errorMessage: 'Unsupported payment method' },
  unsupported_chain: { statusCode: 400, errorCode: 111308, errorMessage: 'Unsupported chain' },
  /** *(assumed status)* */
  fiat_account_not_owned: { statusCode: 403, errorCode: 111309, errorMessage: 'Fiat account belongs to another customer' },
  /** *(assumed)* */
  not_found: { statusCode: 404, errorCode: 111404, errorMessage: 'Not found' },
  kyc_incomplete: { statusCode: 400, errorCode: 111406, errorMessage: 'Customer KYC incomplete' },
  /** *(assumed)* */
  customer_exists: { statusCode: 409, errorCode: 111407, errorMessage: 'Customer already exists' },
  quantity_out_of_range: { statusCode: 409, errorCode: 111426, errorMessage: 'Quantity out of range' },
  /** *(assumed)* The Idempotency-Key header is itself assumed. */
  idempotency_key_reused: { statusCode: 409, errorCode: 111430, errorMessage: 'Idempotency key reused with a different request' },
  invalid_fiat_account: { statusCode: 400, errorCode: 111484, errorMessage: 'Invalid fiat account fields' },
  fiat_account_exists: { statusCode: 409, errorCode: 111485, errorMessage: 'Fiat account already exists' },
  bank_unresponsive: { statusCode: 422, errorCode: 110003, errorMessage: 'Bank Unresponsive' },
} as const;

export type RefusalCode = keyof typeof refusalCatalogue;

export interface Refusal {
  ok: false;
  refusal: RefusalCode;
  metadata?: Record<string, unknown>;
  message?: string;
}

/** What a domain function returns: its value, or one refusal from the catalogue. */
export type Outcome<T> = { ok: true; value: T } | Refusal;

export const accept = <T>(value: T): Outcome<T> => ({ ok: true, value });

export const refuse = (refusal: RefusalCode, metadata?: Record<string, unknown>, message?: string): Refusal => ({
  ok: false,
  refusal,
  ...(metadata === undefined ? {} : { metadata }),
  ...(message === undefined ? {} : { message }),
});

/** Thrown at the edge only, so that the one error handler writes the envelope. */
export class AlfredError extends Error {
  readonly refusal: Refusal;

  constructor(refusal: Refusal) {
    super(refusal.message ?? refusalCatalogue[refusal.refusal].errorMessage);
    this.name = 'AlfredError';
    this.refusal = refusal;
  }
}

/** The status code and body Alfred answers a refusal with. */
export function envelopeOf(refusal: Refusal) {
  const entry = refusalCatalogue[refusal.refusal];
  const body: { errorCode: number; errorMessage: string; errorMetadata?: Record<string, unknown> } = {
    errorCode: entry.errorCode,
    errorMessage: refusal.message ?? entry.errorMessage,
  };
  if (refusal.metadata !== undefined) body.errorMetadata = refusal.metadata;
  return { statusCode: entry.statusCode, body };
}

/** Unwraps an outcome at the edge: the value, or an AlfredError for the error handler. */
export function valueOrThrow<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw new AlfredError(outcome);
  return outcome.value;
}
