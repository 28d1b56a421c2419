import { currencyDecimals, minorToDecimal, type QuoteView } from '@offramp/contracts';

/** USDT amounts on the wire: decimal strings with the currency's 6 decimals. */
export const usdt = (amountMinor: bigint) => minorToDecimal(amountMinor, currencyDecimals.USDT!);

/** A quote as the widget sees it (snake_case, USDT as a decimal string). */
export function quoteToWire(q: QuoteView) {
  return {
    quote_id: q.quoteId,
    fiat_amount: q.fiatAmount,
    fiat_currency: q.fiatCurrency,
    crypto_amount: usdt(q.cryptoAmountMinor),
    crypto_currency: 'USDT' as const,
    rate: q.rate,
    fees: q.fees,
    expires_at: q.expiresAt,
  };
}
