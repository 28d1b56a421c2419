import { z } from 'zod';

/** The rails Alfred offers, as its fiat account `type`. */
export const rails = ['SPEI', 'PIX', 'COELSA', 'ACH', 'ACH_DOM', 'BANK_USA', 'BANK_CN', 'ACH_CHL', 'ACH_BOL', 'B89'] as const;
export const rail = z.enum(rails);
export type Rail = z.infer<typeof rail>;

export interface PaymentRoute {
  id: string;
  country: string;
  rail: Rail;
  currency: string;
  /** Route bounds in the fiat currency, decimal strings. */
  min: string;
  max: string;
  /** False for BANK_USA while Alfred's registration bug lasts. */
  available: boolean;
}

/** Country + rail routes for withdrawals (offramp). Product data, not code paths. */
export const paymentRoutes: readonly PaymentRoute[] = [
  { id: 'MX_SPEI', country: 'MX', rail: 'SPEI', currency: 'MXN', min: '100.00', max: '200000.00', available: true },
  { id: 'BR_PIX', country: 'BR', rail: 'PIX', currency: 'BRL', min: '10.00', max: '50000.00', available: true },
  { id: 'AR_COELSA', country: 'AR', rail: 'COELSA', currency: 'ARS', min: '5000.00', max: '20000000.00', available: true },
  { id: 'CO_ACH', country: 'CO', rail: 'ACH', currency: 'COP', min: '20000.00', max: '40000000.00', available: true },
  { id: 'DO_ACH_DOM', country: 'DO', rail: 'ACH_DOM', currency: 'DOP', min: '300.00', max: '600000.00', available: true },
  { id: 'US_BANK_USA', country: 'US', rail: 'BANK_USA', currency: 'USD', min: '10.00', max: '10000.00', available: false },
  { id: 'CN_BANK_CN', country: 'CN', rail: 'BANK_CN', currency: 'CNY', min: '50.00', max: '70000.00', available: true },
  { id: 'CL_ACH_CHL', country: 'CL', rail: 'ACH_CHL', currency: 'CLP', min: '5000', max: '9000000', available: true },
  { id: 'BO_ACH_BOL', country: 'BO', rail: 'ACH_BOL', currency: 'BOB', min: '70.00', max: '70000.00', available: true },
  { id: 'PE_B89', country: 'PE', rail: 'B89', currency: 'PEN', min: '40.00', max: '35000.00', available: true },
];

export const paymentRouteId = z.enum(paymentRoutes.map((r) => r.id) as [string, ...string[]]);

export function routeById(id: string): PaymentRoute | undefined {
  return paymentRoutes.find((r) => r.id === id);
}
