/**
 * What the sandbox trades: USDT into ten fiat currencies, each paid out on one rail. Rates, limits
 * and fees are emulator settings; these are the plausible defaults it starts from.
 */
export const cryptoCurrency = 'USDT';
export const cryptoDecimals = 6;

export const fiatCurrencies = ['MXN', 'BRL', 'ARS', 'COP', 'DOP', 'USD', 'CNY', 'CLP', 'BOB', 'PEN'] as const;
export type FiatCurrency = (typeof fiatCurrencies)[number];

export const fiatAccountTypes = ['SPEI', 'PIX', 'COELSA', 'ACH', 'ACH_DOM', 'BANK_USA', 'BANK_CN', 'ACH_CHL', 'ACH_BOL', 'B89'] as const;
export type FiatAccountType = (typeof fiatAccountTypes)[number];

/** Decimals and payout rail of each fiat currency. */
export const fiatCurrencyInfo: Record<FiatCurrency, { decimals: number; rail: FiatAccountType }> = {
  MXN: { decimals: 2, rail: 'SPEI' },
  BRL: { decimals: 2, rail: 'PIX' },
  ARS: { decimals: 2, rail: 'COELSA' },
  COP: { decimals: 2, rail: 'ACH' },
  DOP: { decimals: 2, rail: 'ACH_DOM' },
  USD: { decimals: 2, rail: 'BANK_USA' },
  CNY: { decimals: 2, rail: 'BANK_CN' },
  CLP: { decimals: 0, rail: 'ACH_CHL' },
  BOB: { decimals: 2, rail: 'ACH_BOL' },
  PEN: { decimals: 2, rail: 'B89' },
};

/** The currency a rail pays out in. */
export const currencyOfRail = (rail: FiatAccountType): FiatCurrency =>
  fiatCurrencies.find((currency) => fiatCurrencyInfo[currency].rail === rail)!;

export const isFiatCurrency = (value: string): value is FiatCurrency => (fiatCurrencies as readonly string[]).includes(value);

/** *(assumed)* Chain names for USDT; the public record only shows `XLM`. */
export const supportedChains = ['TRON', 'ETH', 'POLYGON', 'SOL', 'XLM'] as const;
export type Chain = (typeof supportedChains)[number];

/** Fees are charged in USDT: a commission percentage of the amount, and three fixed amounts. */
export interface PairFees {
  commissionPercent: string;
  processingFee: string;
  taxFee: string;
  networkFee: string;
}

export interface PairSettings {
  rate: string;
  minFromAmount: string;
  maxFromAmount: string;
  fees: PairFees;
}

const standardFees: PairFees = { commissionPercent: '1', processingFee: '0.50', taxFee: '0', networkFee: '1.00' };

const pair = (rate: string, maxFromAmount = '50000', fees: Partial<PairFees> = {}): PairSettings => ({
  rate,
  minFromAmount: '10',
  maxFromAmount,
  fees: { ...standardFees, ...fees },
});

export const defaultPairs = (): Record<FiatCurrency, PairSettings> => ({
  MXN: pair('17.25'),
  BRL: pair('5.45'),
  ARS: pair('1180.00', '20000', { taxFee: '0.25' }),
  COP: pair('3950.00', '30000', { taxFee: '0.40' }),
  DOP: pair('60.10'),
  USD: pair('0.995', '100000', { commissionPercent: '0.5' }),
  CNY: pair('7.12'),
  CLP: pair('940'),
  BOB: pair('6.91', '10000'),
  PEN: pair('3.56'),
});
