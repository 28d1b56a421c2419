import { z } from 'zod';
import { ok, paymentRoutes, refuse, type eligibility, type PaymentRoute, type ServiceResult } from '@offramp/contracts';
import type { Trader } from './traders.ts';

export type Eligibility = z.infer<typeof eligibility>;

const stringList = z.array(z.string()).catch([]);

/** What the trader must supply when Alfred asks for an update; Alfred's metadata, else our usual ask. */
function fallbackOf(metadata: Record<string, unknown> | null): { fields: string[]; documents: string[] } {
  const fields = stringList.parse(metadata?.fields ?? metadata?.requiredFields ?? []);
  const documents = stringList.parse(metadata?.documents ?? metadata?.requiredDocuments ?? []);
  return {
    fields: fields.length > 0 ? fields : ['address', 'zipCode'],
    documents: documents.length > 0 ? documents : ['PROOF_OF_ADDRESS'],
  };
}

/** The routes of a country, the unavailable ones (BANK_USA while Alfred's bug lasts) included. */
export const routesOf = (country: string): PaymentRoute[] => paymentRoutes.filter((r) => r.country === country);

/**
 * Whether the trader may withdraw through Alfred. Refusals: USER_NOT_VERIFIED (no platform KYC),
 * ALFRED_NOT_AVAILABLE_FOR_COUNTRY (no route for the country), ALFRED_CUSTOMER_NOT_PROVISIONED,
 * ALFRED_KYC_PENDING (CREATED, IN_REVIEW), ALFRED_KYC_REJECTED (FAILED). UPDATE_REQUIRED is an
 * answer, not a refusal: `eligible:false` with what to supply.
 *
 * `rails` lists every rail of the country, BANK_USA included although no route uses it today:
 * registering a US account is where Alfred's bug shows, and the trader must be told there
 * ("BANK_USA unavailable, contact support") rather than be turned away as if the US were unserved.
 */
export function eligibilityOf(trader: Trader | null): ServiceResult<Eligibility> {
  if (!trader?.identity || !trader.country) return refuse('USER_NOT_VERIFIED', 'Platform KYC is not approved');
  const routes = routesOf(trader.country);
  if (routes.length === 0)
    return refuse('ALFRED_NOT_AVAILABLE_FOR_COUNTRY', `Withdrawals are not available for ${trader.country}`, {
      details: { country: trader.country },
    });
  if (!trader.customerId) return refuse('ALFRED_CUSTOMER_NOT_PROVISIONED', 'PSP customer is not provisioned');
  switch (trader.kycStatus) {
    case 'COMPLETED':
      return ok({ eligible: true, country: trader.country, rails: [...new Set(routes.map((r) => r.rail))] });
    case 'UPDATE_REQUIRED':
      return ok({ eligible: false, reason: 'KYC_UPDATE_REQUIRED', fallback: fallbackOf(trader.kycMetadata) });
    case 'FAILED':
      return refuse('ALFRED_KYC_REJECTED', 'KYC was rejected by the PSP');
    default:
      return refuse('ALFRED_KYC_PENDING', 'KYC review at the PSP is pending', {
        details: { kycStatus: trader.kycStatus ?? 'NOT_STARTED' },
      });
  }
}

/** Eligibility as a gate: passes only an eligible trader (UPDATE_REQUIRED is refused as pending). */
export function requireEligible(trader: Trader | null): ServiceResult<{ trader: Trader; country: string; customerId: string }> {
  const result = eligibilityOf(trader);
  if (!result.ok) return result;
  if (!result.data.eligible || !trader?.customerId || !trader.country) {
    return refuse('ALFRED_KYC_PENDING', 'KYC update required at the PSP', { details: { kycStatus: 'UPDATE_REQUIRED' } });
  }
  return ok({ trader, country: trader.country, customerId: trader.customerId });
}
