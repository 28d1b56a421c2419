import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SandboxContext } from '../state.ts';
import { accept, refuse, type Outcome } from '../transport/refusals.ts';
import { formatMinor, minorToNumber, toMinor } from '../money/decimal.ts';
import {
  cryptoCurrency,
  cryptoDecimals,
  fiatCurrencies,
  fiatCurrencyInfo,
  isFiatCurrency,
  supportedChains,
  type FiatCurrency,
} from './pairs.ts';
import { priceFromAmount, priceToAmount, type Pricing } from './pricing.ts';

export const createQuoteSchema = z
  .object({
    fromCurrency: z.string().min(1).max(10),
    toCurrency: z.string().min(1).max(10),
    fromAmount: z.string().max(40).optional(),
    toAmount: z.string().max(40).optional(),
    chain: z.string().min(1).max(20),
    paymentMethodType: z.string().min(1).max(20),
    metadata: z.looseObject({ customerId: z.string().min(1).max(100).optional() }).optional(),
  })
  .refine((q) => (q.fromAmount === undefined) !== (q.toAmount === undefined), {
    message: 'exactly one of fromAmount and toAmount is required',
    path: ['fromAmount'],
  });

export type CreateQuoteInput = z.infer<typeof createQuoteSchema>;

export interface Quote {
  quoteId: string;
  fromCurrency: string;
  toCurrency: FiatCurrency;
  fromAmount: string;
  toAmount: string;
  rate: string;
  chain: string;
  paymentMethodType: string;
  expiration: string;
  fees: { type: string; amount: string; currency: string }[];
  customerId: string | null;
  /** The offramp that consumed the quote; a quote is good for one order. */
  usedBy: string | null;
  createdAt: string;
}

/** `BANK` always; the pair's own rail name too, as some integrations send it. */
const paymentMethodAccepted = (method: string, currency: FiatCurrency) => method === 'BANK' || method === fiatCurrencyInfo[currency].rail;

/**
 * Prices a USDT -> fiat quote. Outcomes: ok, unsupported_pair, unsupported_chain,
 * unsupported_payment_method, bad_request (malformed amount), not_found (customer),
 * quantity_out_of_range (with `minQuantity` or `maxQuantity`).
 */
export function createQuote(ctx: SandboxContext, input: CreateQuoteInput): Outcome<Quote> {
  const { fromCurrency, toCurrency } = input;
  if (fromCurrency !== cryptoCurrency || !isFiatCurrency(toCurrency)) return refuse('unsupported_pair', { fromCurrency, toCurrency });
  if (!(supportedChains as readonly string[]).includes(input.chain)) return refuse('unsupported_chain', { chain: input.chain });
  if (!paymentMethodAccepted(input.paymentMethodType, toCurrency)) {
    return refuse('unsupported_payment_method', { paymentMethodType: input.paymentMethodType });
  }
  const customerId = input.metadata?.customerId ?? null;
  if (customerId !== null && !ctx.state.customers.has(customerId)) return refuse('not_found', undefined, 'Customer not found');
  const priced = price(ctx, input, toCurrency);
  if (!priced.ok) return priced;
  const quote = quoteOf(ctx, input, toCurrency, priced.value, customerId);
  ctx.state.quotes.set(quote.quoteId, quote);
  return accept(quote);
}

function price(ctx: SandboxContext, input: CreateQuoteInput, toCurrency: FiatCurrency): Outcome<Pricing> {
  const pair = ctx.state.settings.pairs[toCurrency];
  const toDecimals = fiatCurrencyInfo[toCurrency].decimals;
  const minMinor = toMinor(pair.minFromAmount, cryptoDecimals)!;
  const maxMinor = toMinor(pair.maxFromAmount, cryptoDecimals)!;
  const belowMinimum = refuse('quantity_out_of_range', {
    fromCurrency: cryptoCurrency,
    minQuantity: minorToNumber(minMinor, cryptoDecimals),
  });
  let priced: Pricing | null;
  if (input.fromAmount !== undefined) {
    const fromMinor = toMinor(input.fromAmount, cryptoDecimals);
    if (fromMinor === null)
      return refuse('bad_request', { fields: ['fromAmount'] }, 'fromAmount must be a decimal with at most 6 decimals');
    if (fromMinor < minMinor) return belowMinimum;
    priced = priceFromAmount(fromMinor, pair, toDecimals);
  } else {
    const wantedMinor = toMinor(input.toAmount!, toDecimals);
    if (wantedMinor === null || wantedMinor === 0n) {
      return refuse('bad_request', { fields: ['toAmount'] }, `toAmount must be a positive decimal with at most ${toDecimals} decimals`);
    }
    priced = priceToAmount(wantedMinor, pair, toDecimals);
  }
  if (priced === null || priced.fromMinor < minMinor) return belowMinimum;
  if (priced.fromMinor > maxMinor) {
    return refuse('quantity_out_of_range', { fromCurrency: cryptoCurrency, maxQuantity: minorToNumber(maxMinor, cryptoDecimals) });
  }
  return accept(priced);
}

function quoteOf(
  ctx: SandboxContext,
  input: CreateQuoteInput,
  toCurrency: FiatCurrency,
  priced: Pricing,
  customerId: string | null,
): Quote {
  const now = ctx.now();
  const toDecimals = fiatCurrencyInfo[toCurrency].decimals;
  return {
    quoteId: randomUUID(),
    fromCurrency: cryptoCurrency,
    toCurrency,
    fromAmount: formatMinor(priced.fromMinor, cryptoDecimals),
    toAmount: formatMinor(priced.toMinor, toDecimals),
    rate: ctx.state.settings.pairs[toCurrency].rate,
    chain: input.chain,
    paymentMethodType: input.paymentMethodType,
    expiration: new Date(now.getTime() + ctx.state.settings.quoteTtlSeconds * 1000).toISOString(),
    fees: priced.fees.map((fee) => ({ type: fee.type, amount: formatMinor(fee.amountMinor, cryptoDecimals), currency: cryptoCurrency })),
    customerId,
    usedBy: null,
    createdAt: now.toISOString(),
  };
}

/** Alfred's view of a quote (the emulator's bookkeeping left out). */
export const quoteView = ({ customerId: _customerId, usedBy: _usedBy, createdAt: _createdAt, ...view }: Quote) => view;

/** `GET /allConfigs`: every pair with its limits, decimals, rate, chains and rail. */
export function allConfigs(ctx: SandboxContext) {
  const pairs = fiatCurrencies.map((toCurrency) => {
    const pair = ctx.state.settings.pairs[toCurrency];
    const info = fiatCurrencyInfo[toCurrency];
    return {
      fromCurrency: cryptoCurrency,
      toCurrency,
      minQuantity: pair.minFromAmount,
      maxQuantity: pair.maxFromAmount,
      fromDecimals: cryptoDecimals,
      toDecimals: info.decimals,
      rate: pair.rate,
      chains: [...supportedChains],
      paymentMethodTypes: ['BANK'],
      fiatAccountTypes: [info.rail],
    };
  });
  return { pairs };
}
