import type { Logger } from '@offramp/kit';
import type { Customer } from './customers/customers.ts';
import type { KycSubmission } from './kyc/kyc.ts';
import type { Quote } from './quotes/quotes.ts';
import type { FiatAccount } from './fiat-accounts/fiat-accounts.ts';
import type { IdempotentRequest, Offramp } from './offramps/offramps.ts';
import type { WebhookDelivery, WebhookDispatcher } from './webhooks/dispatcher.ts';
import type { ArmedFault } from './emulator/faults.ts';
import type { RequestRecord } from './transport/request-log.ts';
import type { EmulatorSettings } from './emulator/settings.ts';

/** Everything the emulator knows, in memory. Reset empties it in place so held references stay valid. */
export interface SandboxState {
  settings: EmulatorSettings;
  customers: Map<string, Customer>;
  kycSubmissions: Map<string, KycSubmission>;
  quotes: Map<string, Quote>;
  fiatAccounts: Map<string, FiatAccount>;
  offramps: Map<string, Offramp>;
  idempotencyKeys: Map<string, IdempotentRequest>;
  requests: RequestRecord[];
  deliveries: WebhookDelivery[];
  faults: ArmedFault[];
}

/** What the feature functions are given: the state, the clock, the webhook sender and a logger. */
export interface SandboxContext {
  state: SandboxState;
  now: () => Date;
  webhooks: WebhookDispatcher;
  log: Logger;
}

export function createState(settings: EmulatorSettings): SandboxState {
  return {
    settings: structuredClone(settings),
    customers: new Map(),
    kycSubmissions: new Map(),
    quotes: new Map(),
    fiatAccounts: new Map(),
    offramps: new Map(),
    idempotencyKeys: new Map(),
    requests: [],
    deliveries: [],
    faults: [],
  };
}

export function clearState(state: SandboxState, settings: EmulatorSettings): void {
  state.settings = structuredClone(settings);
  state.customers.clear();
  state.kycSubmissions.clear();
  state.quotes.clear();
  state.fiatAccounts.clear();
  state.offramps.clear();
  state.idempotencyKeys.clear();
  state.requests.length = 0;
  state.deliveries.length = 0;
  state.faults.length = 0;
}

/** Appends to a log that keeps at most `limit` entries, dropping the oldest. */
export function appendBounded<T>(list: T[], entry: T, limit = 10_000): void {
  list.push(entry);
  if (list.length > limit) list.splice(0, list.length - limit);
}
