import { z } from 'zod';
import { defineMessage, defineRpc } from './envelope.ts';
import { currencyCode, minorUnits, positiveMinorUnits } from './money.ts';
import { commandSubject, eventSubject, rpcSubject } from './subjects.ts';

/** Closed set of ledger outcomes (TigerBeetle style): returned, never thrown. */
export const ledgerOutcomes = [
  'ok',
  'exists',
  'exists_with_different_fields',
  'insufficient_funds',
  'account_not_found',
  'currency_mismatch',
  'hold_not_found',
  'hold_already_posted',
  'hold_already_voided',
] as const;
export const ledgerOutcome = z.enum(ledgerOutcomes);
export type LedgerOutcome = z.infer<typeof ledgerOutcome>;

/** `trader:<id>`, `psp:alfred:clearing`, `external:deposits`, ... */
export const accountOwner = z.string().regex(/^[a-z][a-z0-9-]*:[A-Za-z0-9:_.@-]{1,200}$/, 'must look like kind:id');
export const accountRef = z.object({ owner: accountOwner, currency: currencyCode });
export type AccountRef = z.infer<typeof accountRef>;

const metadata = z
  .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.string().max(500))
  .refine((m) => Object.keys(m).length <= 20, 'at most 20 metadata keys');

export const transferKind = z.enum(['transfer', 'hold', 'post', 'void']);
export type TransferKind = z.infer<typeof transferKind>;
export const holdStatus = z.enum(['pending', 'posted', 'voided']);
export type HoldStatus = z.infer<typeof holdStatus>;

const signedMinorUnits = z.codec(z.string().regex(/^-?[0-9]+$/), z.bigint(), { decode: (s) => BigInt(s), encode: (n) => n.toString() });

export const transferView = z.object({
  id: z.uuid(),
  kind: transferKind,
  debit: accountRef,
  credit: accountRef,
  amountMinor: minorUnits,
  holdId: z.uuid().nullable(),
  /** Only for holds: whether the hold is still pending, posted or voided. */
  holdStatus: holdStatus.nullable(),
  metadata,
  createdAt: z.iso.datetime({ offset: true }),
});
export type TransferView = z.infer<typeof transferView>;

export const transferRequest = z
  .object({
    id: z.uuid(),
    debit: accountRef,
    credit: accountRef,
    amountMinor: positiveMinorUnits,
    metadata: metadata.default({}),
  })
  .refine((r) => r.debit.owner !== r.credit.owner || r.debit.currency !== r.credit.currency, {
    path: ['credit'],
    message: 'must be another account than debit',
  });
export type TransferRequest = z.infer<typeof transferRequest>;

export const resolveHoldRequest = z.object({ id: z.uuid(), holdId: z.uuid() });
export type ResolveHoldRequest = z.infer<typeof resolveHoldRequest>;

export const transferResult = z.object({ outcome: ledgerOutcome, transfer: transferView.nullable() });
export type TransferResult = z.infer<typeof transferResult>;

export const openAccountRequest = accountRef.extend({ allowNegative: z.boolean().default(false) });
export type OpenAccountRequest = z.infer<typeof openAccountRequest>;
export const accountView = accountRef.extend({ allowNegative: z.boolean() });
export type AccountView = z.infer<typeof accountView>;
export const openAccountResult = z.object({
  outcome: z.enum(['ok', 'exists', 'exists_with_different_fields']),
  account: accountView,
});
export type OpenAccountResult = z.infer<typeof openAccountResult>;

export const balanceView = accountRef.extend({
  postedMinor: signedMinorUnits,
  pendingDebitsMinor: minorUnits,
  pendingCreditsMinor: minorUnits,
  /** posted - pending debits: what may be held or sent now. */
  availableMinor: signedMinorUnits,
});
export type BalanceView = z.infer<typeof balanceView>;

export const checkMismatch = z.object({
  kind: z.enum(['currency_not_balanced', 'account_differs_from_postings', 'account_below_zero']),
  currency: z.string(),
  owner: z.string().nullable(),
  detail: z.string(),
});
export const checkResult = z.object({
  ok: z.boolean(),
  accountsChecked: z.number().int(),
  currencies: z.array(z.string()),
  mismatches: z.array(checkMismatch),
});
export type CheckResult = z.infer<typeof checkResult>;

/**
 * QA funding (served only by a ledger started with DEV_RPCS=true): credits a trader's account from
 * `external:deposits`, opening the trader's account if missing, in one transaction. `id` is the
 * transfer id and the idempotency key; without it every call is a new deposit.
 */
export const devFundRequest = z.object({
  owner: accountOwner.refine((o) => o.startsWith('trader:'), 'must be a trader account (trader:<id>)'),
  currency: currencyCode,
  amountMinor: positiveMinorUnits,
  id: z.uuid().optional(),
});
export type DevFundRequest = z.infer<typeof devFundRequest>;
export const devFundResult = z.object({ transferId: z.uuid(), outcome: ledgerOutcome });
export type DevFundResult = z.infer<typeof devFundResult>;

export const ledgerRpc = {
  openAccount: defineRpc(rpcSubject('ledger', 'open-account'), openAccountRequest, openAccountResult),
  transfer: defineRpc(rpcSubject('ledger', 'transfer'), transferRequest, transferResult),
  placeHold: defineRpc(rpcSubject('ledger', 'place-hold'), transferRequest, transferResult),
  postHold: defineRpc(rpcSubject('ledger', 'post-hold'), resolveHoldRequest, transferResult),
  voidHold: defineRpc(rpcSubject('ledger', 'void-hold'), resolveHoldRequest, transferResult),
  getBalances: defineRpc(
    rpcSubject('ledger', 'get-balances'),
    z.object({ owner: accountOwner, currency: currencyCode.optional() }),
    z.object({ balances: z.array(balanceView) }),
  ),
  getTransfer: defineRpc(rpcSubject('ledger', 'get-transfer'), z.object({ id: z.uuid() }), z.object({ transfer: transferView.nullable() })),
  check: defineRpc(rpcSubject('ledger', 'check'), z.object({}), checkResult),
  /** QA only: no responders unless the ledger runs with DEV_RPCS=true. */
  devFund: defineRpc(rpcSubject('ledger', 'dev-fund'), devFundRequest, devFundResult),
};

/** Commands other services send through their outbox; same bodies as the rpcs. */
export const ledgerCommands = {
  transfer: defineMessage(commandSubject('ledger', 'transfer'), transferRequest),
  placeHold: defineMessage(commandSubject('ledger', 'place-hold'), transferRequest),
  postHold: defineMessage(commandSubject('ledger', 'post-hold'), resolveHoldRequest),
  voidHold: defineMessage(commandSubject('ledger', 'void-hold'), resolveHoldRequest),
};

export const ledgerEvents = {
  accountOpened: defineMessage(eventSubject('ledger', 'account-opened'), accountView),
  transferred: defineMessage(eventSubject('ledger', 'transferred'), transferView),
  holdPlaced: defineMessage(eventSubject('ledger', 'hold-placed'), transferView),
  holdPosted: defineMessage(eventSubject('ledger', 'hold-posted'), transferView),
  holdVoided: defineMessage(eventSubject('ledger', 'hold-voided'), transferView),
  /** A command that could not take effect (for example insufficient funds); its sender decides what next. */
  commandRefused: defineMessage(
    eventSubject('ledger', 'command-refused'),
    z.object({ commandId: z.uuid(), commandType: z.string(), transferId: z.uuid(), outcome: ledgerOutcome }),
  ),
};
