import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '@offramp/kit';
import type { SandboxState } from '../state.ts';
import type { Customer } from '../customers/customers.ts';
import type { KycSubmission } from '../kyc/kyc.ts';
import type { Quote } from '../quotes/quotes.ts';
import type { FiatAccount } from '../fiat-accounts/fiat-accounts.ts';
import type { IdempotentRequest, Offramp } from '../offramps/offramps.ts';
import type { WebhookDelivery } from '../webhooks/dispatcher.ts';
import type { ArmedFault } from '../emulator/faults.ts';
import { mergeSettings, settingsSchema, type EmulatorSettings, type SettingsPatch } from '../emulator/settings.ts';

/**
 * What is kept across restarts: everything Alfred would know (customers, KYC, quotes, fiat accounts,
 * orders, idempotency keys, webhook deliveries with their attempts) and what the emulator was told
 * (settings, armed faults). The partner-API request log is diagnostics and starts empty each time.
 */
const snapshotSchema = z.object({
  version: z.literal(1),
  settings: z.record(z.string(), z.unknown()),
  customers: z.array(z.looseObject({ customerId: z.string() })),
  kycSubmissions: z.array(z.looseObject({ submissionId: z.string() })),
  quotes: z.array(z.looseObject({ quoteId: z.string() })),
  fiatAccounts: z.array(z.looseObject({ fiatAccountId: z.string() })),
  offramps: z.array(z.looseObject({ transactionId: z.string(), quoteId: z.string() })),
  idempotencyKeys: z.array(z.tuple([z.string(), z.looseObject({ transactionId: z.string() })])),
  deliveries: z.array(z.looseObject({ deliveryId: z.string(), state: z.string() })),
  faults: z.array(z.looseObject({ faultId: z.string() })),
});

interface Snapshot {
  version: 1;
  settings: EmulatorSettings;
  customers: Customer[];
  kycSubmissions: KycSubmission[];
  quotes: Quote[];
  fiatAccounts: FiatAccount[];
  offramps: Offramp[];
  idempotencyKeys: [string, IdempotentRequest][];
  deliveries: WebhookDelivery[];
  faults: ArmedFault[];
}

function snapshotOf(state: SandboxState): string {
  const snapshot: Snapshot = {
    version: 1,
    settings: state.settings,
    customers: [...state.customers.values()],
    kycSubmissions: [...state.kycSubmissions.values()],
    quotes: [...state.quotes.values()],
    fiatAccounts: [...state.fiatAccounts.values()],
    offramps: [...state.offramps.values()],
    idempotencyKeys: [...state.idempotencyKeys],
    deliveries: state.deliveries,
    faults: state.faults,
  };
  return JSON.stringify(snapshot);
}

function parseSnapshot(file: string, text: string) {
  try {
    const parsed = snapshotSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
  } catch {
    // Not JSON: reported below like any other unreadable file.
  }
  throw new Error(`${file} is not a sandbox state file of this version; move it away to start empty`);
}

/**
 * Fills `state` from the file when there is one; false when there is none yet. The settings the
 * sandbox was started with (its environment: webhook url and secret) win over the saved ones, so
 * a stack that starts with a new webhook secret signs with it. A file that cannot be read back
 * stops the start rather than letting "Alfred" forget everything.
 */
export function loadState(file: string, state: SandboxState, startPatch: SettingsPatch): boolean {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  const parsed = parseSnapshot(file, text);
  const saved = settingsSchema.safeParse(parsed.settings);
  const settings = saved.success ? mergeSettings(saved.data, startPatch) : undefined;
  if (!settings?.success) throw new Error(`${file} holds settings this sandbox does not accept; move it away to start empty`);
  // The entities were written by this module from the same types, so they are taken back as they are.
  const snapshot = parsed as unknown as Snapshot;
  state.settings = settings.data;
  for (const customer of snapshot.customers) state.customers.set(customer.customerId, customer);
  for (const submission of snapshot.kycSubmissions) state.kycSubmissions.set(submission.submissionId, submission);
  for (const quote of snapshot.quotes) state.quotes.set(quote.quoteId, quote);
  for (const account of snapshot.fiatAccounts) state.fiatAccounts.set(account.fiatAccountId, account);
  for (const offramp of snapshot.offramps) {
    // An order shares its quote object with the quote list, as when it was created.
    offramp.quote = state.quotes.get(offramp.quoteId) ?? offramp.quote;
    state.offramps.set(offramp.transactionId, offramp);
  }
  for (const [key, request] of snapshot.idempotencyKeys) state.idempotencyKeys.set(key, request);
  state.deliveries.push(...snapshot.deliveries);
  state.faults.push(...snapshot.faults);
  return true;
}

export interface StateStore {
  /**
   * Resolves once what the state says now is on disk; runs before every answer leaves. Answers that
   * wait together share one write (group commit): while a write is in flight, every save that comes
   * waits for the next one, which covers them all.
   */
  save(): Promise<void>;
  /** A save shortly, for changes made outside a request (webhook attempts). */
  saveSoon(): void;
  /** A last save, then none: closing cancels pending deliveries, which must stay pending on disk. */
  close(): Promise<void>;
}

/** How long background changes (webhook attempts) may wait to be written; a lost one is only re-sent. */
const saveSoonMs = 100;

/**
 * Keeps the state in `file`, rewritten whole on each change: written to a temporary file, flushed,
 * then renamed over the old one, so a crash at any moment leaves either the old or the new state.
 * One write at a time, and the saves that arrive during it share the next: the cost of a flush is
 * paid per write, not per answer, so many clients do not queue behind one disk. Without a file it
 * keeps nothing, as tests that build the sandbox in-process expect.
 */
export function createStateStore(file: string | undefined, state: SandboxState, log: Logger): StateStore {
  if (file === undefined) return { save: () => Promise.resolve(), saveSoon: () => undefined, close: () => Promise.resolve() };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  let written = '';
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  /** The write in progress, and the one queued after it (shared by every save that came meanwhile). */
  let writing: Promise<void> | null = null;
  let next: Promise<void> | null = null;

  // The snapshot is taken when the write starts, so it holds every change made before it.
  const write = async () => {
    const text = snapshotOf(state);
    if (text === written) return;
    await fs.promises.writeFile(temporary, text, { flush: true });
    await fs.promises.rename(temporary, file);
    written = text;
  };
  const save = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (!writing) {
      writing = write().finally(() => {
        writing = null;
      });
      return writing;
    }
    next ??= writing
      .catch(() => undefined)
      .then(() => {
        next = null;
        return save();
      });
    return next;
  };
  const saveLogged = () => {
    timer = undefined;
    save().catch((err: unknown) => log.error({ err, file }, 'could not write the sandbox state'));
  };

  return {
    save,
    saveSoon() {
      if (!closed && timer === undefined) timer = setTimeout(saveLogged, saveSoonMs).unref();
    },
    async close() {
      clearTimeout(timer);
      timer = undefined;
      try {
        await save();
      } catch (err) {
        log.error({ err, file }, 'could not write the sandbox state');
      }
      closed = true;
    },
  };
}
