import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SandboxContext } from '../state.ts';
import { accept, refuse, type Outcome } from '../transport/refusals.ts';

export const createCustomerSchema = z.object({
  email: z.email().max(254),
  type: z.enum(['INDIVIDUAL', 'BUSINESS']),
  country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 code'),
  phoneNumber: z.string().max(32).optional(),
  businessId: z.string().max(100).optional(),
});

export interface Customer {
  customerId: string;
  email: string;
  type: 'INDIVIDUAL' | 'BUSINESS';
  country: string;
  phoneNumber: string | null;
  businessId: string | null;
  /** Emulator-only: whether the customer has a US bridge account, which decides how BANK_USA fails. */
  bridged: boolean;
  kycSubmissionIds: string[];
  createdAt: string;
  updatedAt: string;
}

/** The customer's KYC status is its latest submission's; `NOT_STARTED` *(assumed)* before any. */
export function kycStatusOf(ctx: SandboxContext, customer: Customer): string {
  const latest = customer.kycSubmissionIds.at(-1);
  return (latest && ctx.state.kycSubmissions.get(latest)?.status) || 'NOT_STARTED';
}

/** Creates a customer. Outcomes: ok, customer_exists (same email and country). */
export function createCustomer(ctx: SandboxContext, input: z.infer<typeof createCustomerSchema>): Outcome<Customer> {
  const existing = findByEmail(ctx, input.email, input.country);
  if (existing) return refuse('customer_exists', { customerId: existing.customerId });
  const at = ctx.now().toISOString();
  const customer: Customer = {
    customerId: randomUUID(),
    email: input.email,
    type: input.type,
    country: input.country,
    phoneNumber: input.phoneNumber ?? null,
    businessId: input.businessId ?? null,
    bridged: false,
    kycSubmissionIds: [],
    createdAt: at,
    updatedAt: at,
  };
  ctx.state.customers.set(customer.customerId, customer);
  return accept(customer);
}

function findByEmail(ctx: SandboxContext, email: string, country: string): Customer | undefined {
  const wanted = email.toLowerCase();
  return [...ctx.state.customers.values()].find((c) => c.email.toLowerCase() === wanted && c.country === country);
}

/** Outcomes: ok, not_found. */
export function findCustomer(ctx: SandboxContext, email: string, country: string): Outcome<Customer> {
  const customer = findByEmail(ctx, email, country);
  return customer ? accept(customer) : refuse('not_found', undefined, 'Customer not found');
}

/** Outcomes: ok, not_found. */
export function getCustomer(ctx: SandboxContext, customerId: string): Outcome<Customer> {
  const customer = ctx.state.customers.get(customerId);
  return customer ? accept(customer) : refuse('not_found', undefined, 'Customer not found');
}

/** Outcomes: ok, not_found, kyc_incomplete. */
export function requireVerifiedCustomer(ctx: SandboxContext, customerId: string): Outcome<Customer> {
  const found = getCustomer(ctx, customerId);
  if (!found.ok) return found;
  const status = kycStatusOf(ctx, found.value);
  return status === 'COMPLETED' ? found : refuse('kyc_incomplete', { statusKyc: status });
}

/** Alfred's view of a customer: its own fields, the KYC data of its latest submission, `statusKyc`. */
export function customerView(ctx: SandboxContext, customer: Customer) {
  const latest = customer.kycSubmissionIds.at(-1);
  const kycFields = (latest && ctx.state.kycSubmissions.get(latest)?.fields) || {};
  return {
    ...kycFields,
    customerId: customer.customerId,
    email: customer.email,
    type: customer.type,
    country: customer.country,
    phoneNumber: customer.phoneNumber,
    businessId: customer.businessId,
    statusKyc: kycStatusOf(ctx, customer),
    createdAt: customer.createdAt,
    updatedAt: customer.updatedAt,
  };
}
