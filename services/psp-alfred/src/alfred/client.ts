import { z } from 'zod';
import type { Logger } from '@offramp/kit';
import type { PspAlfredConfig } from '../config.ts';
import { createAlfredTransport, type AlfredAnswer, type AlfredTransport } from './transport.ts';
import {
  createCustomerResponse,
  createFiatAccountResponse,
  customerResponse,
  kycStatusResponse,
  kycSubmissionResponse,
  offrampResponse,
  quoteResponse,
  type AlfredOfframp,
  type AlfredQuote,
} from './schemas.ts';

export { AlfredUnavailable, type AlfredAnswer } from './transport.ts';

export interface KycSubmission {
  firstName: string;
  lastName: string;
  dateOfBirth: string;
  country: string;
  city: string;
  state: string;
  zipCode: string;
  address: string;
  dni: string;
  [field: string]: string;
}

export interface QuoteRequest {
  toCurrency: string;
  /** Exactly one of the two amounts, as decimal strings. */
  fromAmount?: string;
  toAmount?: string;
  chain: string;
  customerId: string;
}

export interface OfframpRequest {
  customerId: string;
  quoteId: string;
  toCurrency: string;
  amount: string;
  chain: string;
  fiatAccountId: string;
  originAddress: string;
  memo: string;
}

const path = (...parts: string[]) => parts.map(encodeURIComponent).join('/');
const anything = z.unknown();

/** Alfred's partner API, typed. Refusals (4xx) are returned; no answer at all throws AlfredUnavailable. */
export function createAlfredClient(transport: AlfredTransport) {
  // `endpoint` is the path's template, the label of the call metrics (ids never go into a label).
  const get = <S extends z.ZodType>(endpoint: string, p: string, schema: S) =>
    transport.request({ method: 'GET', endpoint, path: p }, schema);
  const post = <S extends z.ZodType>(endpoint: string, p: string, body: unknown, schema: S, idempotencyKey?: string) =>
    transport.request({ method: 'POST', endpoint, path: p, body, ...(idempotencyKey ? { idempotencyKey } : {}) }, schema);
  return {
    createCustomer: (body: { email: string; type: 'INDIVIDUAL' | 'BUSINESS'; country: string }) =>
      post('/customers/create', '/customers/create', body, createCustomerResponse),
    getCustomer: (customerId: string) => get('/customers/:customerId', `/customers/${path(customerId)}`, customerResponse),
    createKycSubmission: (customerId: string, kycSubmission: KycSubmission) =>
      post('/customers/:customerId/kyc', `/customers/${path(customerId)}/kyc`, { kycSubmission }, kycSubmissionResponse),
    submitKyc: (customerId: string, submissionId: string) =>
      post(
        '/customers/:customerId/kyc/:submissionId/submit',
        `/customers/${path(customerId, 'kyc', submissionId, 'submit')}`,
        {},
        anything,
      ),
    getKycStatus: (customerId: string, submissionId: string) =>
      get(
        '/customers/:customerId/kyc/:submissionId/status',
        `/customers/${path(customerId, 'kyc', submissionId, 'status')}`,
        kycStatusResponse,
      ),
    createQuote: (req: QuoteRequest): Promise<AlfredAnswer<AlfredQuote>> =>
      post(
        '/quotes',
        '/quotes',
        {
          fromCurrency: 'USDT',
          toCurrency: req.toCurrency,
          ...(req.fromAmount !== undefined ? { fromAmount: req.fromAmount } : { toAmount: req.toAmount }),
          chain: req.chain,
          paymentMethodType: 'BANK',
          metadata: { customerId: req.customerId },
        },
        quoteResponse,
      ),
    createFiatAccount: (body: { customerId: string; type: string; fiatAccountFields: Record<string, unknown> }) =>
      post('/fiatAccounts', '/fiatAccounts', body, createFiatAccountResponse),
    deleteFiatAccount: (customerId: string, fiatAccountId: string) =>
      transport.request(
        {
          method: 'DELETE',
          endpoint: '/fiatAccounts/:customerId/:fiatAccountId',
          path: `/fiatAccounts/${path(customerId, fiatAccountId)}`,
        },
        anything,
      ),
    /**
     * Never retried by the transport. The Idempotency-Key header is honoured by the sandbox and is
     * our assumption about Alfred (it documents none): a repeated key returns the first order.
     */
    createOfframp: (req: OfframpRequest, idempotencyKey: string): Promise<AlfredAnswer<AlfredOfframp>> =>
      post('/offramp', '/offramp', { ...req, fromCurrency: 'USDT' }, offrampResponse, idempotencyKey),
    getOfframp: (transactionId: string) => get('/offramp/:transactionId', `/offramp/${path(transactionId)}`, offrampResponse),
    breakerState: () => transport.breakerState(),
    observeCalls: transport.observeCalls,
    close: () => transport.close(),
  };
}

export type AlfredClient = ReturnType<typeof createAlfredClient>;

/** The transport to Alfred the configuration names: one breaker for everything sent to Alfred. */
export function alfredTransportFromConfig(config: PspAlfredConfig, log: Logger): AlfredTransport {
  return createAlfredTransport({
    baseUrl: config.ALFRED_BASE_URL,
    apiKey: config.ALFRED_API_KEY,
    apiSecret: config.ALFRED_API_SECRET,
    timeoutMs: config.ALFRED_TIMEOUT_MS,
    getRetries: config.ALFRED_GET_RETRIES,
    breaker: {
      resetMs: config.ALFRED_BREAKER_RESET_MS,
      errorPercent: config.ALFRED_BREAKER_ERROR_PERCENT,
      volume: config.ALFRED_BREAKER_VOLUME,
      windowMs: config.ALFRED_BREAKER_WINDOW_MS,
    },
    log: log.child({ upstream: 'alfred' }),
  });
}
