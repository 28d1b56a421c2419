import { z } from 'zod';
import { kycStatus, offrampStatus } from '@offramp/contracts';

/**
 * Alfred's partner API as psp-alfred reads it (alfred-sandbox.md). Every response is parsed with
 * these schemas; unknown fields are allowed because the partner adds fields without notice.
 */

/** Amounts come as decimal strings; a JSON number is tolerated and turned into its decimal text. */
const decimalText = z
  .union([z.string(), z.number()])
  .transform((v) => (typeof v === 'number' ? String(v) : v))
  .pipe(z.string().regex(/^[0-9]+(\.[0-9]+)?$/));
const timestamp = z.union([z.string(), z.number()]);

export const alfredErrorBody = z.object({
  errorCode: z.number().int(),
  errorMessage: z.string().default(''),
  errorMetadata: z.record(z.string(), z.unknown()).optional(),
});
export type AlfredErrorBody = z.infer<typeof alfredErrorBody>;

export const createCustomerResponse = z.object({ customerId: z.string().min(1), createdAt: timestamp.optional() });
export const customerResponse = z.object({ customerId: z.string().min(1), statusKyc: z.string().nullish() }).loose();
export const kycSubmissionResponse = z.object({ submissionId: z.string().min(1) }).loose();
export const kycStatusResponse = z
  .object({ status: kycStatus, updatedAt: timestamp.optional(), metadata: z.record(z.string(), z.unknown()).nullish() })
  .loose();

export const quoteResponse = z
  .object({
    quoteId: z.string().min(1),
    fromCurrency: z.string(),
    toCurrency: z.string(),
    fromAmount: decimalText,
    toAmount: decimalText,
    rate: decimalText,
    expiration: timestamp,
    chain: z.string().optional(),
    fees: z.array(z.object({ type: z.string(), amount: decimalText, currency: z.string() })).default([]),
  })
  .loose();
export type AlfredQuote = z.infer<typeof quoteResponse>;

export const createFiatAccountResponse = z.object({ fiatAccountId: z.string().min(1) }).loose();

export const offrampResponse = z
  .object({
    transactionId: z.string().min(1),
    status: offrampStatus,
    depositAddress: z.string().min(1),
    chain: z.string().optional(),
    fromCurrency: z.string().optional(),
    toCurrency: z.string().optional(),
    fromAmount: decimalText,
    toAmount: decimalText.optional(),
    fiatAccountId: z.string().optional(),
    memo: z.string().nullish(),
    txHash: z.string().nullish(),
    metadata: z.object({ failureReason: z.string().nullish() }).loose().nullish(),
  })
  .loose();
export type AlfredOfframp = z.infer<typeof offrampResponse>;

/** The webhook Alfred posts to us. */
export const webhookBody = z.object({
  referenceId: z.string().min(1).max(200),
  eventType: z.enum(['KYC', 'KYB', 'ONRAMP', 'OFFRAMP']),
  status: z.string().min(1).max(100),
  metadata: z.record(z.string(), z.unknown()).nullish(),
});
export type WebhookBody = z.infer<typeof webhookBody>;
