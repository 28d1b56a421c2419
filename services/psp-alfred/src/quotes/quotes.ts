import { currencyDecimals, decimalToMinor, ok, refuse, type QuoteView, type ServiceResult } from '@offramp/contracts';
import type { Database, Logger } from '@offramp/kit';
import { AlfredUnavailable, type AlfredClient } from '../alfred/client.ts';
import type { AlfredErrorBody, AlfredQuote } from '../alfred/schemas.ts';
import { onUserPath, unexpectedRefusal } from '../alfred/user-path.ts';
import { requireEligible } from '../traders/eligibility.ts';
import { findTrader } from '../traders/traders.ts';

const usdtDecimals = 6;

/** A decimal string in its plain form ("1725.5" stays, "017" would not pass the contract). */
const plainDecimal = (value: string) => value.replace(/^0+(?=\d)/, '');

/** Alfred's quote as ours; the USDT side exactly, in minor units. Throws when Alfred's amounts do not fit. */
function quoteViewOf(q: AlfredQuote, fiatCurrency: string): QuoteView {
  const cryptoAmountMinor = decimalToMinor(q.fromAmount, usdtDecimals);
  const expiresAt = new Date(typeof q.expiration === 'number' ? q.expiration : Date.parse(q.expiration));
  if (cryptoAmountMinor === null || cryptoAmountMinor <= 0n || Number.isNaN(expiresAt.getTime())) {
    throw new AlfredUnavailable('bad_response', 'quote amounts or expiration out of contract');
  }
  return {
    quoteId: q.quoteId,
    fiatAmount: plainDecimal(q.toAmount),
    fiatCurrency,
    cryptoAmountMinor,
    rate: q.rate,
    fees: q.fees.map((f) => ({ type: f.type, amount: f.amount, currency: f.currency })),
    expiresAt: expiresAt.toISOString(),
  };
}

/**
 * Alfred gives its bounds as JSON numbers; on our wire an amount is a decimal string with the
 * currency's decimals. The number's own shortest text is padded, never rounded through a float; a
 * bound that does not fit the currency (more decimals, an exponent) is passed on as Alfred wrote it.
 */
function decimalBound(value: unknown, currency: string): string {
  const text = String(value);
  const places = currencyDecimals[currency] ?? 6;
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m || (m[2]?.length ?? 0) > places) return text;
  return places === 0 ? m[1]! : `${m[1]}.${(m[2] ?? '').padEnd(places, '0')}`;
}

/** Alfred's quote refusals as ours: out of range is LIMIT_EXCEEDED with the bound Alfred gave. */
function quoteRefusal(log: Logger, status: number, error: AlfredErrorBody): ServiceResult<never> {
  const meta = error.errorMetadata ?? {};
  switch (error.errorCode) {
    case 111426: {
      const currency = typeof meta.fromCurrency === 'string' ? meta.fromCurrency : 'USDT';
      const bounds = {
        ...('minQuantity' in meta ? { min: decimalBound(meta.minQuantity, currency) } : {}),
        ...('maxQuantity' in meta ? { max: decimalBound(meta.maxQuantity, currency) } : {}),
      };
      return refuse('LIMIT_EXCEEDED', 'Amount outside the limits of the payment provider', {
        details: { partnerCode: error.errorCode, currency, ...bounds },
      });
    }
    case 111306:
    case 111307:
    case 111308:
      return refuse('VALIDATION_ERROR', 'Currency, payment method or chain not supported by the payment provider', {
        details: { partnerCode: error.errorCode },
      });
    case 111406:
      return refuse('ALFRED_KYC_PENDING', 'KYC review at the PSP is pending');
    default:
      return unexpectedRefusal(log, 'quote', status, error);
  }
}

/** Quotes USDT -> fiat for a fiat amount the trader asked for. */
export function createQuotes(deps: { db: Database; alfred: AlfredClient; chain: string }) {
  /** Refusals: eligibility refusals, VALIDATION_ERROR (amount precision), LIMIT_EXCEEDED, PSP_UNAVAILABLE. */
  async function quote(
    req: { traderId: string; fiatCurrency: string; fiatAmount: string },
    log: Logger,
  ): Promise<ServiceResult<QuoteView>> {
    const gate = requireEligible(await findTrader(deps.db.em.fork(), req.traderId));
    if (!gate.ok) return gate;
    const decimals = currencyDecimals[req.fiatCurrency];
    const amountMinor = decimals === undefined ? null : decimalToMinor(req.fiatAmount, decimals);
    if (amountMinor === null || amountMinor <= 0n) {
      return refuse('VALIDATION_ERROR', 'Invalid fiat amount or currency', {
        details: { fields: [{ field: 'fiatAmount', message: `must be a positive amount of ${req.fiatCurrency}` }] },
      });
    }
    return onUserPath(log, async () => {
      const answer = await deps.alfred.createQuote({
        toCurrency: req.fiatCurrency,
        toAmount: req.fiatAmount,
        chain: deps.chain,
        customerId: gate.data.customerId,
      });
      if (!answer.ok) return quoteRefusal(log, answer.status, answer.error);
      return ok(quoteViewOf(answer.data, req.fiatCurrency));
    });
  }
  return { quote };
}
