import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SandboxContext } from '../state.ts';
import { getCustomer, requireVerifiedCustomer } from '../customers/customers.ts';
import { fiatAccountTypes, type FiatAccountType } from '../quotes/pairs.ts';
import { accept, refuse, type Outcome } from '../transport/refusals.ts';
import { accountKeyOf, validateRailFields, type FiatAccountFields } from './rails.ts';

export const registerFiatAccountSchema = z.object({
  customerId: z.string().min(1).max(100),
  type: z.string().min(1).max(20),
  fiatAccountFields: z.unknown(),
  isExternal: z.boolean().optional(),
});

export interface FiatAccount {
  fiatAccountId: string;
  customerId: string;
  type: FiatAccountType;
  fields: FiatAccountFields;
  /** The number duplicates are detected on (same customer, type and number). */
  accountKey: string;
  isExternal: boolean;
  createdAt: string;
}

const isFiatAccountType = (value: string): value is FiatAccountType => (fiatAccountTypes as readonly string[]).includes(value);

/**
 * Registers a payout account. BANK_USA reproduces the partner bug unless the emulator is told it is
 * fixed: a bridged customer gets 111485, any other 110003, after the fields were found valid.
 * Outcomes: ok, not_found, kyc_incomplete, invalid_fiat_account, fiat_account_exists, bank_unresponsive.
 */
export function registerFiatAccount(ctx: SandboxContext, input: z.infer<typeof registerFiatAccountSchema>): Outcome<FiatAccount> {
  const customer = requireVerifiedCustomer(ctx, input.customerId);
  if (!customer.ok) return customer;
  const type = input.type;
  if (!isFiatAccountType(type)) return refuse('invalid_fiat_account', { fields: ['type'] });
  const fields = validateRailFields(type, input.fiatAccountFields);
  if (!fields.ok) return fields;
  if (type === 'BANK_USA' && !ctx.state.settings.bankUsaWorks) {
    return customer.value.bridged ? refuse('fiat_account_exists') : refuse('bank_unresponsive');
  }
  const accountKey = accountKeyOf(type, fields.value);
  const duplicate = [...ctx.state.fiatAccounts.values()].find(
    (a) => a.customerId === input.customerId && a.type === type && a.accountKey === accountKey,
  );
  if (duplicate) return refuse('fiat_account_exists', { fiatAccountId: duplicate.fiatAccountId });
  const account: FiatAccount = {
    fiatAccountId: randomUUID(),
    customerId: input.customerId,
    type,
    fields: fields.value,
    accountKey,
    isExternal: input.isExternal ?? false,
    createdAt: ctx.now().toISOString(),
  };
  ctx.state.fiatAccounts.set(account.fiatAccountId, account);
  return accept(account);
}

/** Outcomes: ok, not_found (customer). */
export function listFiatAccounts(ctx: SandboxContext, customerId: string): Outcome<FiatAccount[]> {
  const customer = getCustomer(ctx, customerId);
  if (!customer.ok) return customer;
  return accept([...ctx.state.fiatAccounts.values()].filter((a) => a.customerId === customerId));
}

/** An account the customer may pay out to. Outcomes: ok, not_found, fiat_account_not_owned. */
export function ownedFiatAccount(ctx: SandboxContext, customerId: string, fiatAccountId: string): Outcome<FiatAccount> {
  const account = ctx.state.fiatAccounts.get(fiatAccountId);
  if (!account) return refuse('not_found', undefined, 'Fiat account not found');
  if (account.customerId !== customerId) return refuse('fiat_account_not_owned');
  return accept(account);
}

/** Outcomes: ok, not_found, fiat_account_not_owned. */
export function deleteFiatAccount(ctx: SandboxContext, customerId: string, fiatAccountId: string): Outcome<FiatAccount> {
  const owned = ownedFiatAccount(ctx, customerId, fiatAccountId);
  if (owned.ok) ctx.state.fiatAccounts.delete(fiatAccountId);
  return owned;
}

/** Alfred's view: the registration fields flattened beside the account's identity. */
export const fiatAccountView = (account: FiatAccount) => ({
  ...account.fields,
  fiatAccountId: account.fiatAccountId,
  customerId: account.customerId,
  type: account.type,
  status: 'ACTIVE',
  isExternal: account.isExternal,
  createdAt: account.createdAt,
});
