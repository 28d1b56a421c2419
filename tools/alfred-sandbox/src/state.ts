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

/** The collections kept by key. */
export const keyedKinds = ['customers', 'kycSubmissions', 'quotes', 'fiatAccounts', 'offramps', 'idempotencyKeys'] as const;
export type KeyedKind = (typeof keyedKinds)[number];

/**
 * What changed since the kept state (persistence/state-file.ts) last wrote, so that it writes only
 * that: per collection the keys set, changed in place or deleted, in the order first changed (true:
 * deleted meanwhile, so a key set again goes to the end as it does in the map); the deliveries
 * created or changed, in that order; whether the settings or the faults changed; or everything (reset).
 */
export class StateChanges {
  readonly keys = new Map<KeyedKind, Map<string, boolean>>(keyedKinds.map((kind) => [kind, new Map()]));
  readonly deliveries = new Set<WebhookDelivery>();
  settings = false;
  faults = false;
  everything = false;

  key(kind: KeyedKind, key: string, deleted: boolean): void {
    const keys = this.keys.get(kind)!;
    keys.set(key, deleted || keys.get(key) === true);
  }
  /** A delivery created, attempted or settled. */
  delivery(delivery: WebhookDelivery): void {
    this.deliveries.add(delivery);
  }
  get any(): boolean {
    return this.everything || this.settings || this.faults || this.deliveries.size > 0 || [...this.keys.values()].some((k) => k.size > 0);
  }
  clear(): void {
    for (const keys of this.keys.values()) keys.clear();
    this.deliveries.clear();
    this.settings = false;
    this.faults = false;
    this.everything = false;
  }
}

/**
 * A map of the state that notes its changes: `set` and `delete` by themselves, a change made to a
 * value in place through `touch` (every in-place change of a kept entity must call it).
 */
export class KeptMap<V> extends Map<string, V> {
  readonly #kind: KeyedKind;
  readonly #changes: StateChanges;
  constructor(kind: KeyedKind, changes: StateChanges) {
    super();
    this.#kind = kind;
    this.#changes = changes;
  }
  override set(key: string, value: V): this {
    this.#changes.key(this.#kind, key, false);
    return super.set(key, value);
  }
  override delete(key: string): boolean {
    if (this.has(key)) this.#changes.key(this.#kind, key, true);
    return super.delete(key);
  }
  override clear(): void {
    for (const key of this.keys()) this.#changes.key(this.#kind, key, true);
    super.clear();
  }
  /** The value under `key` was changed in place. */
  touch(key: string): void {
    if (this.has(key)) this.#changes.key(this.#kind, key, false);
  }
}

/** Everything the emulator knows, in memory. Reset empties it in place so held references stay valid. */
export interface SandboxState {
  settings: EmulatorSettings;
  customers: KeptMap<Customer>;
  kycSubmissions: KeptMap<KycSubmission>;
  quotes: KeptMap<Quote>;
  fiatAccounts: KeptMap<FiatAccount>;
  offramps: KeptMap<Offramp>;
  idempotencyKeys: KeptMap<IdempotentRequest>;
  requests: RequestRecord[];
  deliveries: WebhookDelivery[];
  faults: ArmedFault[];
  /** What changed since the state file was last written; see StateChanges. */
  changes: StateChanges;
}

/** What the feature functions are given: the state, the clock, the webhook sender and a logger. */
export interface SandboxContext {
  state: SandboxState;
  now: () => Date;
  webhooks: WebhookDispatcher;
  log: Logger;
}

export function createState(settings: EmulatorSettings): SandboxState {
  const changes = new StateChanges();
  return {
    settings: structuredClone(settings),
    customers: new KeptMap('customers', changes),
    kycSubmissions: new KeptMap('kycSubmissions', changes),
    quotes: new KeptMap('quotes', changes),
    fiatAccounts: new KeptMap('fiatAccounts', changes),
    offramps: new KeptMap('offramps', changes),
    idempotencyKeys: new KeptMap('idempotencyKeys', changes),
    requests: [],
    deliveries: [],
    faults: [],
    changes,
  };
}

export function clearState(state: SandboxState, settings: EmulatorSettings): void {
  state.changes.everything = true;
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

/** How many entries the request log and the webhook deliveries keep. */
export const logLimit = 10_000;

/** Appends to a log that keeps at most `limit` entries, dropping the oldest. */
export function appendBounded<T>(list: T[], entry: T, limit = logLimit): void {
  list.push(entry);
  if (list.length > limit) list.splice(0, list.length - limit);
}
