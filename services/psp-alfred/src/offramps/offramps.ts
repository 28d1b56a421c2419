import { decimalToMinor, minorToDecimal, pspAlfredCommands, pspAlfredEvents } from '@offramp/contracts';
import {
  enqueue,
  inTransaction,
  queryRowsBound,
  type Cause,
  type Database,
  type EntityManager,
  type Logger,
  type MessageContext,
} from '@offramp/kit';
import { z } from 'zod';
import { AlfredUnavailable, type AlfredClient, type OfframpRequest } from '../alfred/client.ts';
import type { AlfredErrorBody, AlfredOfframp } from '../alfred/schemas.ts';
import { findTrader } from '../traders/traders.ts';
import { reportAmountMismatch } from '../discrepancies/discrepancies.ts';
import { applyKeptEvents, ingestPartnerEvent, lockReference } from '../webhooks/ingest.ts';
import { storeTransactionId } from './reference.ts';
import {
  findOfframp,
  forgetRequest,
  insertIntent,
  lockWithdrawal,
  markCreated,
  markRefused,
  recordAttempt,
  startRedispatch,
  type Offramp,
  type OrderRefusal,
} from './offramps-store.ts';
import { isNewerStatus } from './offramp-status.ts';

type Command = z.output<typeof pspAlfredCommands.createOfframp.payload>;

/** Test seams of the offramp path. */
export interface OfframpHooks {
  /** Runs after Alfred answered POST /offramp with an order, before its transaction id is stored. */
  afterOfframpAnswer?: (withdrawalId: string, transactionId: string) => Promise<void> | void;
}

export interface OfframpDeps {
  db: Database;
  alfred: AlfredClient;
  chain: string;
  originAddress: string;
  /** How far Alfred's fiat amount may drift from the accepted quote before it is a discrepancy. */
  tolerancePct: number;
  hooks?: OfframpHooks;
}
type Deps = OfframpDeps;

/** Statuses that are not the partner's answer to the order: our credentials, throttling, a request timeout. */
const transientStatuses = new Set([401, 403, 408, 429]);
/** 111302: the quote is expired, used or unknown; 111430: the Idempotency-Key is bound to another body. */
const quoteUnusable = 111302;
const keyReused = 111430;

/** Thrown to have the command redelivered later; the withdrawal waits in `approved` meanwhile. */
export class TryLater extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TryLater';
  }
}

/**
 * `cmd.psp-alfred.create-offramp.v1`: one order at Alfred per withdrawal, whatever the redeliveries.
 * The intent is committed on its own before Alfred is called, so that an attempt whose outcome is
 * unknown (timeout, crash) is known to be unknown next time. Alfred documents no idempotency for
 * `POST /offramp`, so it is never blindly retried: the next delivery first looks the order up by
 * its transaction id when known, else replays the very same request with the same Idempotency-Key
 * (the withdrawal id). That Alfred answers a replayed key with the first order is our assumption;
 * the sandbox honours it and refuses the key with any other body (111430).
 */
export async function createOfframp(
  deps: Deps,
  em: EntityManager,
  cmd: Command,
  ctx: Pick<MessageContext, 'log' | 'cause'>,
): Promise<void> {
  const log = ctx.log.child({ withdrawalId: cmd.withdrawalId });
  // Two deliveries for one withdrawal (a redelivery racing an operator's re-dispatch, a
  // reconciliation, a fence, or simply two commands the consumer has in hand at once: it handles
  // several) take turns on this advisory lock, held to the inbox transaction's end: the second
  // finds the first's intent and outcome. Commands about different withdrawals run side by side.
  await lockWithdrawal(em, cmd.withdrawalId);
  const dispatch = cmd.dispatch ?? 1;
  if (dispatch > 1) {
    // A new order only once the previous one is final (FAILED); until then the command comes back.
    const started = await inTransaction(deps.db, (tx) => startRedispatch(tx, cmd.withdrawalId, dispatch));
    if (started === 'not_final') throw new TryLater(`re-dispatch ${dispatch}: the previous order is not FAILED (yet)`);
    if (started === 'started') log.info({ dispatch }, 'previous order FAILED; re-dispatching a new order');
  }
  // One statement, committed on its own (no begin/commit around it: as atomic and durable alone).
  const intent = await insertIntent(deps.db.em.fork(), cmd);
  if (intent.dispatch !== dispatch) {
    log.info({ dispatch, current: intent.dispatch }, 'command of another dispatch than the current order; nothing new');
    return;
  }
  if (intent.state === 'fenced') return publishFenced(em, cmd.withdrawalId, ctx.cause, log);
  if (intent.state !== 'requested') {
    log.info({ state: intent.state }, 'offramp already settled for this withdrawal; nothing new');
    return;
  }
  await settleIntent(deps, em, intent, ctx.cause, log);
}

/**
 * A fenced intent (an operator's reject asked Alfred first and fenced it off) will never make an
 * order: say so as a refusal, so a withdrawal still `approved` (its reject failed after the fence,
 * or it was approved again) ends `rejected` with its hold voided instead of waiting forever.
 * Sessions treats it as a repeat once the withdrawal is rejected.
 */
export async function publishFenced(em: EntityManager, withdrawalId: string, cause: Cause, log: Logger): Promise<void> {
  await enqueue(
    em,
    pspAlfredEvents.offrampRefused,
    { withdrawalId, partnerCode: null, message: 'no order was made: fenced off by an operator reject' },
    cause,
  );
  log.info('offramp fenced off by an operator reject; refusal published');
}

/**
 * Brings a `requested` intent to `created` or `refused`: looks its order up, replays the attempt
 * whose outcome is unknown, or sends it. The caller holds the withdrawal's lock in `em`. Throws
 * TryLater or AlfredUnavailable when the outcome is still unknown.
 */
export async function settleIntent(deps: Deps, em: EntityManager, intent: Offramp, cause: Cause, log: Logger): Promise<void> {
  const withdrawalId = intent.withdrawalId;
  // Once an attempt may have reached Alfred, only Alfred's answer decides: an order may exist.
  const firstTry = intent.attempts === 0 && !intent.transactionId;
  const early = firstTry ? await checkPreconditions(deps, intent) : null;
  const obtained: Obtained = early && 'refusal' in early ? early : await obtainOrder(deps, intent, log, cause.traceId, early?.customerId);
  if ('refusal' in obtained) {
    const current = await findOfframp(em, withdrawalId, { lock: true });
    if (current?.state !== 'requested') return;
    const r = obtained.refusal;
    await markRefused(em, withdrawalId, r);
    await enqueue(em, pspAlfredEvents.offrampRefused, { withdrawalId, partnerCode: r.partnerCode, message: r.message }, cause);
    log.warn({ partnerCode: r.partnerCode, status: r.status }, 'offramp refused');
    return;
  }
  const order = obtained.order;
  const transactionId = order.transactionId;
  // The reference's lock before the row's, as the webhook path takes them.
  await lockReference(em, transactionId);
  const current = await findOfframp(em, withdrawalId, { lock: true });
  if (current?.state !== 'requested') return;
  const sentAmountMinor = decimalToMinor(order.fromAmount, 6);
  if (sentAmountMinor === null || sentAmountMinor <= 0n) throw new AlfredUnavailable('bad_response', 'offramp fromAmount out of contract');
  const chain = order.chain ?? deps.chain;
  // Early events applied when the id was stored may already have moved the mirror past the answer.
  const status = isNewerStatus(order.status, current.alfredStatus) ? order.status : (current.alfredStatus ?? order.status);
  await markCreated(em, withdrawalId, { transactionId, status, depositAddress: order.depositAddress, chain, sentAmountMinor });
  await enqueue(
    em,
    pspAlfredEvents.offrampCreated,
    { withdrawalId, transactionId, depositAddress: order.depositAddress, chain, cryptoAmountMinor: sentAmountMinor },
    cause,
  );
  const ctx = { traceId: cause.traceId, tolerancePct: deps.tolerancePct };
  await applyKeptEvents(em, transactionId, ctx);
  await reportAmountMismatch(em, current, transactionId, order, { ...ctx, seenIn: 'create', cause });
  // An order already past CREATED (it failed or paid out before we heard of it, e.g. the answer
  // was lost and this is the replay) must reach the withdrawal too, not only offramp-created.
  if (order.status !== 'CREATED') {
    await ingestPartnerEvent(
      em,
      { eventType: 'OFFRAMP', referenceId: transactionId, status: order.status, metadata: orderMetadata(order) },
      { ...ctx, source: 'reconciliation', rawBody: null },
    );
  }
  log.info({ transactionId, status: order.status }, 'offramp created at alfred');
}

/** The part of an order that a status event carries: its failure reason and deposit hash. */
export function orderMetadata(order: AlfredOfframp): Record<string, unknown> {
  return { ...(order.metadata ?? {}), ...(order.txHash ? { txHash: order.txHash } : {}) };
}

/**
 * Refusals found before Alfred is asked: the trader or the account is not (or no longer) usable;
 * else the trader's Alfred customer, which the order is then made for (not read a second time).
 */
async function checkPreconditions(deps: Deps, intent: Offramp): Promise<{ refusal: OrderRefusal } | { customerId: string }> {
  // One raw read of both (as findTrader and findAccount would read them: an account not deleted).
  // Bound parameters on a fixed text: parsed once per connection, not on every withdrawal.
  const [found] = await queryRowsBound(
    deps.db.em.fork(),
    preconditionsRow,
    `select (select customer_id from traders where trader_id = $1) as customer_id,
       exists (select 1 from fiat_accounts where fiat_account_id = $2 and trader_id = $1 and deleted_at is null) as account_found`,
    [intent.traderId, intent.fiatAccountId],
  );
  if (!found?.customer_id) return { refusal: { partnerCode: null, message: 'trader has no Alfred customer', status: null } };
  if (!found.account_found) return { refusal: { partnerCode: null, message: 'fiat account not found', status: null } };
  return { customerId: found.customer_id };
}
const preconditionsRow = z.object({ customer_id: z.string().nullable(), account_found: z.boolean() });

function definitive(status: number, error: AlfredErrorBody): OrderRefusal | null {
  if (transientStatuses.has(status)) return null;
  return { partnerCode: error.errorCode || null, message: error.errorMessage || `HTTP ${status}`, status };
}

type Obtained = { order: AlfredOfframp } | { refusal: OrderRefusal };
type Sent = Obtained | 'quote_unusable';

/**
 * The order for the intent: found (by transaction id or replayed key), created now, or refused for
 * good. Throws TryLater or AlfredUnavailable when the outcome is unknown. `knownCustomerId`: the
 * trader's Alfred customer when the caller has just read it.
 */
async function obtainOrder(deps: Deps, intent: Offramp, log: Logger, traceId: string, knownCustomerId?: string): Promise<Obtained> {
  if (intent.transactionId) {
    const found = await deps.alfred.getOfframp(intent.transactionId);
    if (found.ok) return { order: found.data };
    if (found.status !== 404) throw new TryLater(`order lookup refused: ${found.status}`);
  }
  if (intent.lastRequest) {
    log.warn({ attempts: intent.attempts }, 'earlier offramp attempt has an unknown outcome; replaying it with the same idempotency key');
    const replayed = await send(deps, intent, intent.lastRequest as unknown as OfframpRequest, traceId);
    if (replayed !== 'quote_unusable') return replayed;
    // The quote is no longer usable, so no order was made with it under this key: start afresh.
    await forgetRequest(deps.db.em.fork(), intent.withdrawalId);
  }
  const customerId = knownCustomerId ?? (await findTrader(deps.db.em.fork(), intent.traderId))?.customerId;
  if (!customerId) return { refusal: { partnerCode: null, message: 'trader has no Alfred customer', status: null } };
  // The USDT side is what was held for the withdrawal; Alfred prices the fiat it pays out.
  const quote = await deps.alfred.createQuote({
    toCurrency: intent.fiatCurrency,
    fromAmount: minorToDecimal(intent.cryptoAmountMinor, 6),
    chain: deps.chain,
    customerId,
  });
  if (!quote.ok) {
    const refusal = definitive(quote.status, quote.error);
    if (!refusal) throw new TryLater(`quote refused: ${quote.status}`);
    return { refusal };
  }
  const request: OfframpRequest = {
    customerId,
    quoteId: quote.data.quoteId,
    toCurrency: intent.fiatCurrency,
    amount: quote.data.fromAmount,
    chain: deps.chain,
    fiatAccountId: intent.fiatAccountId,
    originAddress: deps.originAddress,
    memo: intent.withdrawalId,
  };
  // One statement committed on its own before the request leaves, so that a crash can replay it.
  await recordAttempt(deps.db.em.fork(), intent.withdrawalId, { ...request });
  const sent = await send(deps, intent, request, traceId);
  if (sent !== 'quote_unusable') return sent;
  await forgetRequest(deps.db.em.fork(), intent.withdrawalId);
  throw new TryLater('the fresh quote was refused as unusable; a later delivery quotes again');
}

/**
 * One POST /offramp, never retried here; keeps the transaction id as soon as it is known, which
 * applies the events Alfred sent for it before we knew it.
 */
async function send(deps: Deps, intent: Offramp, request: OfframpRequest, traceId: string): Promise<Sent> {
  const withdrawalId = intent.withdrawalId;
  // Each dispatch is its own order: the first keeps the withdrawal id as its key, a re-dispatch adds its number.
  const answer = await deps.alfred.createOfframp(request, intent.dispatch > 1 ? `${withdrawalId}:${intent.dispatch}` : withdrawalId);
  if (answer.ok) {
    await deps.hooks?.afterOfframpAnswer?.(withdrawalId, answer.data.transactionId);
    await inTransaction(deps.db, (tx) =>
      storeTransactionId(tx, withdrawalId, answer.data.transactionId, { traceId, tolerancePct: deps.tolerancePct }),
    );
    return { order: answer.data };
  }
  if (answer.error.errorCode === quoteUnusable) return 'quote_unusable';
  if (answer.error.errorCode === keyReused) throw new TryLater('idempotency key bound to another request');
  const refusal = definitive(answer.status, answer.error);
  if (!refusal) throw new TryLater(`offramp refused transiently: ${answer.status}`);
  return { refusal };
}
