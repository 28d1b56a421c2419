import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '@offramp/kit';
import { keyedKinds, logLimit, type KeyedKind, type SandboxState } from '../state.ts';
import type { Customer } from '../customers/customers.ts';
import type { KycSubmission } from '../kyc/kyc.ts';
import type { Quote } from '../quotes/quotes.ts';
import type { FiatAccount } from '../fiat-accounts/fiat-accounts.ts';
import type { IdempotentRequest, Offramp } from '../offramps/offramps.ts';
import type { WebhookDelivery } from '../webhooks/dispatcher.ts';
import type { ArmedFault } from '../emulator/faults.ts';
import { mergeSettings, settingsSchema, type EmulatorSettings, type SettingsPatch } from '../emulator/settings.ts';

/**
 * The file: one line with a whole snapshot of the state, then the journal: one line per write since,
 * each with only what changed (a record). A write appends a record and flushes it; when the journal
 * has grown past the snapshot (and past `compactAfterBytes`), the next write is a fresh snapshot
 * instead (compaction: written aside, flushed, renamed over the file). Reading back replays the
 * records over the snapshot; a last line cut short by a crash is a record that was never
 * acknowledged (its answer waits for the flush) and is left out.
 *
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

/** A journal line: the entities set or deleted (null), in order; the deliveries created or changed; the settings or faults when they changed. */
const recordSchema = z.object({
  k: z.array(z.tuple([z.enum(keyedKinds), z.string(), z.looseObject({}).nullable()])).optional(),
  d: z.array(z.looseObject({ deliveryId: z.string(), state: z.string() })).optional(),
  s: z.record(z.string(), z.unknown()).optional(),
  f: z.array(z.looseObject({ faultId: z.string() })).optional(),
});

interface JournalRecord {
  k?: [KeyedKind, string, object | null][];
  d?: WebhookDelivery[];
  s?: EmulatorSettings;
  f?: ArmedFault[];
}

/** The whole state as one line of JSON (no line breaks: JSON.stringify writes none). */
export function snapshotOf(state: SandboxState): string {
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

function unreadable(file: string): Error {
  return new Error(`${file} is not a sandbox state file of this version; move it away to start empty`);
}

function parseLine<T>(schema: z.ZodType<T>, line: string): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    // Not JSON: the caller says what that means.
    return undefined;
  }
}

/** What changed since the last write, as a journal record; forgets the changes. */
function recordOf(state: SandboxState): JournalRecord {
  const { changes } = state;
  const record: JournalRecord = {};
  const keyed: [KeyedKind, string, object | null][] = [];
  for (const [kind, keys] of changes.keys) {
    const map = state[kind] as Map<string, object>;
    for (const [key, deleted] of keys) {
      if (deleted) keyed.push([kind, key, null]);
      const value = map.get(key);
      if (value !== undefined) keyed.push([kind, key, value]);
    }
  }
  if (keyed.length > 0) record.k = keyed;
  // A delivery dropped from the bounded list meanwhile stays dropped.
  const deliveries = [...changes.deliveries].filter((d) => state.deliveries.lastIndexOf(d) >= 0);
  if (deliveries.length > 0) record.d = deliveries;
  if (changes.settings) record.s = state.settings;
  if (changes.faults) record.f = state.faults;
  changes.clear();
  return record;
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
  const lines = text.split('\n');
  // A file ends with a line break after each record; what follows the last one was cut short by a crash.
  lines.pop();
  const parsed = parseLine(snapshotSchema, lines.shift() ?? text);
  if (!parsed) throw unreadable(file);
  const records = lines.map((line) => parseLine(recordSchema, line) ?? unreadable(file));
  for (const record of records) if (record instanceof Error) throw record;

  // The entities were written by this module from the same types, so they are taken back as they are.
  const snapshot = parsed as unknown as Snapshot;
  let savedSettings: unknown = snapshot.settings;
  for (const customer of snapshot.customers) state.customers.set(customer.customerId, customer);
  for (const submission of snapshot.kycSubmissions) state.kycSubmissions.set(submission.submissionId, submission);
  for (const quote of snapshot.quotes) state.quotes.set(quote.quoteId, quote);
  for (const account of snapshot.fiatAccounts) state.fiatAccounts.set(account.fiatAccountId, account);
  for (const offramp of snapshot.offramps) state.offramps.set(offramp.transactionId, offramp);
  for (const [key, request] of snapshot.idempotencyKeys) state.idempotencyKeys.set(key, request);
  const deliveries = new Map(snapshot.deliveries.map((d) => [d.deliveryId, d]));
  let faults = snapshot.faults;
  for (const record of records as JournalRecord[]) {
    for (const [kind, key, value] of record.k ?? []) {
      const map = state[kind] as Map<string, object>;
      if (value === null) map.delete(key);
      else map.set(key, value);
    }
    // A delivery changed keeps its place; a new one goes last, as it did when it was sent.
    for (const delivery of record.d ?? []) deliveries.set(delivery.deliveryId, delivery);
    if (record.s) savedSettings = record.s;
    if (record.f) faults = record.f;
  }

  const saved = settingsSchema.safeParse(savedSettings);
  const settings = saved.success ? mergeSettings(saved.data, startPatch) : undefined;
  if (!settings?.success) throw new Error(`${file} holds settings this sandbox does not accept; move it away to start empty`);
  state.settings = settings.data;
  // An order shares its quote object with the quote list, as when it was created.
  for (const offramp of state.offramps.values()) offramp.quote = state.quotes.get(offramp.quoteId) ?? offramp.quote;
  state.deliveries.push(...[...deliveries.values()].slice(-logLimit));
  state.faults.push(...faults);
  state.changes.clear();
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
  /** A last save (a whole snapshot, no journal), then none: closing cancels pending deliveries, which must stay pending on disk. */
  close(): Promise<void>;
}

/** How long background changes (webhook attempts) may wait to be written; a lost one is only re-sent. */
const saveSoonMs = 100;
/** The journal is compacted into a fresh snapshot once it is larger than the snapshot and than this (default). */
const defaultCompactAfterBytes = 1024 * 1024;

/** Appends `data` to the journal: opened with O_DSYNC, each write is on disk when it returns (one call, not a write and an fdatasync). */
function appendDurably(fd: number, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const from = (offset: number) =>
      fs.write(fd, data, offset, data.length - offset, null, (err, written) => {
        if (err) reject(err);
        else if (offset + written < data.length) from(offset + written);
        else resolve();
      });
    from(0);
  });
}

const closeFd = (fd: number) => new Promise<void>((resolve) => fs.close(fd, () => resolve()));

/**
 * Keeps the state in `file` (see the format above): each write appends what changed since the last
 * one, so its cost follows the change, not the size of the state; now and then, and at the first
 * write and on close, the whole state is written aside, flushed and renamed over the file, so a
 * crash at any moment leaves either the old or the new file, and a journal cut short loses only a
 * record nobody was answered about. One write at a time; a save starts its write at the end of the
 * event-loop turn (setImmediate), so the answers of every request handled in that turn share it,
 * and the saves that arrive while a write is in progress share the next: the cost of a write is
 * paid per write, not per answer, so many clients do not queue behind one disk. Without a file it
 * keeps nothing, as tests that build the sandbox in-process expect.
 */
export function createStateStore(
  file: string | undefined,
  state: SandboxState,
  log: Logger,
  compactAfterBytes = defaultCompactAfterBytes,
): StateStore {
  if (file === undefined) return { save: () => Promise.resolve(), saveSoon: () => undefined, close: () => Promise.resolve() };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  const { O_WRONLY, O_APPEND, O_DSYNC } = fs.constants;
  let timer: NodeJS.Timeout | undefined;
  let closing = false;
  let closed = false;
  /** The file's descriptor, open for appending records (O_DSYNC); none before the first snapshot of this process. */
  let journal: number | null = null;
  let snapshotBytes = 0;
  let journalBytes = 0;
  /** The next write is a whole snapshot: the first one (a journal cut short by a crash goes) and after a failed write; `closing`: the last one. */
  let compactNext = true;
  /** The write in progress; the one waiting to start (after it, at the end of the turn), shared by every save that comes meanwhile. */
  let writing: Promise<void> | null = null;
  let next: Promise<void> | null = null;

  const compact = async () => {
    compactNext = true;
    // The snapshot is taken when the write starts, so it holds every change made before it.
    state.changes.clear();
    const text = `${snapshotOf(state)}\n`;
    if (journal !== null) await closeFd(journal);
    journal = null;
    await fs.promises.writeFile(temporary, text, { flush: true });
    await fs.promises.rename(temporary, file);
    journal = await new Promise<number>((resolve, reject) =>
      fs.open(file, O_WRONLY | O_APPEND | O_DSYNC, (err, fd) => (err ? reject(err) : resolve(fd))),
    );
    snapshotBytes = Buffer.byteLength(text);
    journalBytes = 0;
    compactNext = false;
  };
  const append = async (fd: number) => {
    const line = Buffer.from(`${JSON.stringify(recordOf(state))}\n`);
    // Until the record is known to be whole on disk, the next write starts afresh.
    compactNext = true;
    await appendDurably(fd, line);
    journalBytes += line.length;
    compactNext = false;
  };
  const write = async () => {
    if (
      compactNext ||
      closing ||
      journal === null ||
      state.changes.everything ||
      journalBytes > Math.max(compactAfterBytes, snapshotBytes)
    ) {
      return compact();
    }
    if (state.changes.any) return append(journal);
  };
  const endOfTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
  const save = (): Promise<void> => {
    if (closed) return Promise.resolve();
    next ??= (writing ?? Promise.resolve())
      .catch(() => undefined)
      .then(endOfTurn)
      .then(() => {
        next = null;
        writing = write().finally(() => {
          writing = null;
        });
        return writing;
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
        closing = true;
        await save();
      } catch (err) {
        log.error({ err, file }, 'could not write the sandbox state');
      }
      closed = true;
      if (journal !== null) await closeFd(journal);
      journal = null;
    },
  };
}
