import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SandboxContext } from '../state.ts';
import { requireVerifiedCustomer } from '../customers/customers.ts';
import { ownedFiatAccount } from '../fiat-accounts/fiat-accounts.ts';
import { currencyOfRail, cryptoDecimals } from '../quotes/pairs.ts';
import { quoteView, type Quote } from '../quotes/quotes.ts';
import { toMinor } from '../money/decimal.ts';
import { accept, refuse, type Outcome } from '../transport/refusals.ts';
import { depositAddressFor } from './deposit-address.ts';
import type { OfframpStatus } from './offramp-status.ts';

const id = z.string().min(1).max(100);

export const createOfframpSchema = z.object({
  customerId: id,
  quoteId: id,
  fromCurrency: z.string().min(1).max(10),
  toCurrency: z.string().min(1).max(10),
  amount: z.string().min(1).max(40),
  chain: z.string().min(1).max(20),
  fiatAccountId: id,
  originAddress: z.string().min(1).max(128),
  memo: z.string().max(100).optional(),
});

export type CreateOfframpInput = z.infer<typeof createOfframpSchema>;

export interface Offramp {
  transactionId: string;
  customerId: string;
  quoteId: string;
  status: OfframpStatus;
  fromCurrency: string;
  toCurrency: string;
  fromAmount: string;
  toAmount: string;
  chain: string;
  fiatAccountId: string;
  depositAddress: string;
  originAddress: string;
  memo: string | null;
  expiration: string;
  metadata: Record<string, unknown>;
  txHash: string | null;
  quote: Quote;
  history: { status: OfframpStatus; at: string }[];
  createdAt: string;
  updatedAt: string;
}

/** What an `Idempotency-Key` *(assumed)* is bound to: the order and the request that created it. */
export interface IdempotentRequest {
  transactionId: string;
  fingerprint: string;
}

/** *(assumed)* How long the deposit address waits for the crypto. */
const depositWindowMs = 60 * 60_000;

/** Outcomes: ok, quote_unusable (unknown, used, expired, or not matching the order). */
function usableQuote(ctx: SandboxContext, input: CreateOfframpInput): Outcome<Quote> {
  const quote = ctx.state.quotes.get(input.quoteId);
  if (!quote) return refuse('quote_unusable', { quoteId: input.quoteId, reason: 'unknown' });
  if (quote.usedBy !== null) return refuse('quote_unusable', { quoteId: quote.quoteId, reason: 'used' });
  if (ctx.now().getTime() >= Date.parse(quote.expiration)) return refuse('quote_unusable', { quoteId: quote.quoteId, reason: 'expired' });
  const mismatched = [
    ...(quote.customerId !== null && quote.customerId !== input.customerId ? ['customerId'] : []),
    ...(quote.fromCurrency !== input.fromCurrency ? ['fromCurrency'] : []),
    ...(quote.toCurrency !== input.toCurrency ? ['toCurrency'] : []),
    ...(quote.chain !== input.chain ? ['chain'] : []),
    ...(toMinor(input.amount, cryptoDecimals) !== toMinor(quote.fromAmount, cryptoDecimals) ? ['amount'] : []),
  ];
  if (mismatched.length > 0) return refuse('quote_unusable', { quoteId: quote.quoteId, reason: 'does_not_match', fields: mismatched });
  return accept(quote);
}

/**
 * Creates an offramp in CREATED on an unused, unexpired quote. A repeated `Idempotency-Key` with the
 * same request answers the first order; with another request it is refused.
 * Outcomes: ok, idempotency_key_reused, not_found, kyc_incomplete, fiat_account_not_owned,
 * quote_unusable, unsupported_payment_method.
 */
export function createOfframp(ctx: SandboxContext, input: CreateOfframpInput, idempotencyKey?: string): Outcome<Offramp> {
  const fingerprint = JSON.stringify(input);
  const earlier = idempotencyKey === undefined ? undefined : ctx.state.idempotencyKeys.get(idempotencyKey);
  if (earlier && earlier.fingerprint !== fingerprint) return refuse('idempotency_key_reused');
  if (earlier) return accept(ctx.state.offramps.get(earlier.transactionId)!);
  const customer = requireVerifiedCustomer(ctx, input.customerId);
  if (!customer.ok) return customer;
  const account = ownedFiatAccount(ctx, input.customerId, input.fiatAccountId);
  if (!account.ok) return account;
  const quote = usableQuote(ctx, input);
  if (!quote.ok) return quote;
  if (currencyOfRail(account.value.type) !== quote.value.toCurrency) {
    return refuse('unsupported_payment_method', { fiatAccountType: account.value.type, toCurrency: quote.value.toCurrency });
  }
  const offramp = newOfframp(ctx, input, quote.value);
  quote.value.usedBy = offramp.transactionId;
  ctx.state.quotes.touch(quote.value.quoteId);
  ctx.state.offramps.set(offramp.transactionId, offramp);
  if (idempotencyKey !== undefined) ctx.state.idempotencyKeys.set(idempotencyKey, { transactionId: offramp.transactionId, fingerprint });
  return accept(offramp);
}

function newOfframp(ctx: SandboxContext, input: CreateOfframpInput, quote: Quote): Offramp {
  const now = ctx.now();
  const transactionId = randomUUID();
  return {
    transactionId,
    customerId: input.customerId,
    quoteId: quote.quoteId,
    status: 'CREATED',
    fromCurrency: quote.fromCurrency,
    toCurrency: quote.toCurrency,
    fromAmount: quote.fromAmount,
    toAmount: quote.toAmount,
    chain: quote.chain,
    fiatAccountId: input.fiatAccountId,
    depositAddress: depositAddressFor(quote.chain, transactionId),
    originAddress: input.originAddress,
    memo: input.memo ?? null,
    expiration: new Date(now.getTime() + depositWindowMs).toISOString(),
    metadata: {},
    txHash: null,
    quote,
    history: [{ status: 'CREATED', at: now.toISOString() }],
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
}

/** Outcomes: ok, not_found. */
export function getOfframp(ctx: SandboxContext, transactionId: string): Outcome<Offramp> {
  const offramp = ctx.state.offramps.get(transactionId);
  return offramp ? accept(offramp) : refuse('not_found', undefined, 'Offramp not found');
}

/** *(assumed)* A customer's offramps, newest first, optionally those of one quote. */
export function listOfframps(ctx: SandboxContext, customerId: string, quoteId?: string): Offramp[] {
  return [...ctx.state.offramps.values()]
    .filter((o) => o.customerId === customerId && (quoteId === undefined || o.quoteId === quoteId))
    .reverse();
}

/** Alfred's view of an offramp (the emulator's history left out). */
export const offrampView = ({ history: _history, quote, ...view }: Offramp) => ({ ...view, quote: quoteView(quote) });
