import { z } from 'zod';
import {
  type Database,
  type EntityManager,
  inTransaction,
  isInfrastructureError,
  type Logger,
  type OutboxRelay,
  outboxRow,
  outboxRowsParam,
  queryRowsBound,
} from '@offramp/kit';
import {
  ledgerRpc,
  ok,
  refuse,
  riskRpc,
  withdrawalEvents,
  withdrawalStatus,
  type initiateResult,
  type ServiceResult,
  type WithdrawalStatus,
} from '@offramp/contracts';
import type { Call } from '../call.ts';
import {
  debitedPayload,
  outboxInsertAs,
  sendDebited,
  sendStatusChanged,
  sendVoidHold,
  statusChangedPayload,
} from '../withdrawals/messages.ts';
import { appendTimeline, toWithdrawal, withdrawalCore, type Withdrawal } from '../withdrawals/withdrawals-store.ts';
import { findSession, markInitiating, reopenSession, setSessionStatus, type Session } from './sessions-store.ts';

type InitiateResult = z.output<typeof initiateResult>;

const statusRow = z.object({ status: withdrawalStatus });

export interface InitiateDeps {
  db: Database;
  call: Call;
  relay: OutboxRelay;
  log: Logger;
  /** Told of each withdrawal an initiation created, and whether it is a partner's request (the partner webhooks' consumer asks that). */
  onCreated?: (withdrawalId: string, partner: boolean) => void;
  /** Fault injection for tests: runs after the hold is placed, before the withdrawal is committed. */
  afterHold?: (session: Session) => Promise<void> | void;
}

/** Who finishes an initiation: the trader's call, or the sweeper after a crash. */
export interface Origin {
  actor: string;
  reason: string | null;
  traceId: string;
}

/** Where a withdrawal's USDT goes on its way to Alfred; a system account the ledger's migration creates. */
const clearing = { owner: 'psp:alfred:clearing', currency: 'USDT' };

/**
 * Initiates the withdrawal of a session: owner check first, then expiry, then the freeze, then
 * the hold (synchronous, id = the session's withdrawal id) and the commit. A consumed session
 * answers the same withdrawal again. Outcomes: the withdrawal, or SESSION_NOT_FOUND,
 * ALFRED_SESSION_NOT_OWNED, SESSION_EXPIRED, ALFRED_WITHDRAWALS_FROZEN, INSUFFICIENT_FUNDS, or
 * PSP_UNAVAILABLE when risk, the ledger or the database did not answer: the outcome is then unknown
 * (the hold may have been placed), and the same session finishes it, by the trader's retry or the sweeper.
 */
export async function initiateWithdrawal(
  deps: InitiateDeps,
  req: { traderId: string; sessionId: string },
  traceId: string,
): Promise<ServiceResult<InitiateResult>> {
  try {
    return await initiateOnce(deps, req, traceId);
  } catch (err) {
    if (!isInfrastructureError(err)) throw err;
    deps.log.warn({ err, sessionId: req.sessionId, traceId }, 'initiation outcome unknown: a service did not answer');
    return refuse('PSP_UNAVAILABLE', outcomeUnknown);
  }
}

/** What a trader is told when the initiation may or may not have happened; docs/api.md says the same. */
export const outcomeUnknown =
  'The outcome is unknown: the withdrawal may have been initiated. Retry with the same session_id: the retry returns the withdrawal if one exists (GET /withdrawals lists it), and never holds the funds twice.';

async function initiateOnce(
  deps: InitiateDeps,
  req: { traderId: string; sessionId: string },
  traceId: string,
): Promise<ServiceResult<InitiateResult>> {
  const session = await findSession(deps.db.em.fork(), req.sessionId);
  if (!session) return refuse('SESSION_NOT_FOUND', 'Session not found');
  if (session.traderId !== req.traderId) return refuse('ALFRED_SESSION_NOT_OWNED', 'Session belongs to another user');
  if (session.status === 'consumed') return answerConsumed(deps.db.em.fork(), session);
  if (session.status === 'abandoned') return refuse('SESSION_EXPIRED', 'Session expired');
  // An `initiating` session already passed these checks; its intent is recorded and is finished as it is.
  if (session.status === 'open') {
    if (session.expiresAt.getTime() <= Date.now()) return refuse('SESSION_EXPIRED', 'Session expired');
    const freeze = await deps.call(riskRpc.checkInitiate, { traderId: session.traderId, country: session.country }, traceId);
    if (!freeze.ok) return freeze;
    // One statement: its own transaction.
    const marked = await markInitiating(deps.db.em.fork(), session.id);
    // Consumed or abandoned in between by a concurrent call: answer from that state.
    if (!marked) return initiateOnce(deps, req, traceId);
  }
  return finishInitiation(deps, session, { actor: `trader:${session.traderId}`, reason: null, traceId });
}

/** Places the hold (idempotent: its id is the withdrawal id) and commits the withdrawal. */
export async function finishInitiation(deps: InitiateDeps, session: Session, origin: Origin): Promise<ServiceResult<InitiateResult>> {
  const held = await placeWithdrawalHold(deps.call, session, origin.traceId);
  if (held === 'insufficient_funds') {
    await inTransaction(deps.db, (em) => reopenSession(em, session.id));
    return refuse('INSUFFICIENT_FUNDS', 'Insufficient funds');
  }
  await deps.afterHold?.(session);
  const created = await createWithdrawal(deps.db.em.fork(), session, origin);
  if (created) deps.onCreated?.(session.withdrawalId, created.partner);
  // Anything but an open or initiating session (or a withdrawal already there) is answered under the session's lock.
  const result = created ? consumedAnswer(session, 'pending') : await inTransaction(deps.db, (em) => commitWithdrawal(em, session, origin));
  deps.relay.wake();
  if (result.ok)
    deps.log.info({ withdrawalId: session.withdrawalId, sessionId: session.id, traceId: origin.traceId }, 'withdrawal initiated');
  return result;
}

/**
 * Outcomes: held, insufficient_funds (also when the trader has no account: the clearing account
 * always exists, so a missing account is the trader's, who has nothing to hold). Anything else is
 * a bug and throws.
 */
export async function placeWithdrawalHold(call: Call, session: Session, traceId: string): Promise<'held' | 'insufficient_funds'> {
  const req = {
    id: session.withdrawalId,
    debit: { owner: `trader:${session.traderId}`, currency: 'USDT' },
    credit: clearing,
    amountMinor: session.cryptoAmountMinor,
    metadata: { kind: 'withdrawal', withdrawalId: session.withdrawalId, sessionId: session.id },
  };
  const res = await call(ledgerRpc.placeHold, req, traceId);
  if (res.outcome === 'ok' || res.outcome === 'exists') return 'held';
  if (res.outcome === 'insufficient_funds' || res.outcome === 'account_not_found') return 'insufficient_funds';
  throw new Error(`ledger refused the hold of withdrawal ${session.withdrawalId}: ${res.outcome}`);
}

const createdRow = z.object({ partner: z.boolean() });

/**
 * `createWithdrawal`'s statement: one fixed text, bound (prepared once per connection; inlined, its
 * planning was 2.9 ms per withdrawal, the costliest of all), the events passed as a jsonb array.
 */
const createStatement = `with s as (select id from sessions where id = $1 and status = any($2::text[]) for update),
     w as (
       insert into withdrawals (id, session_id, trader_id, status, payment_route_id, country, fiat_account_id, fiat_amount, fiat_currency,
         debited_minor, quote, destination)
       select x.withdrawal_id, x.id, x.trader_id, 'pending', x.payment_route_id, x.country, x.fiat_account_id, x.fiat_amount,
         x.fiat_currency, x.crypto_amount_minor, x.quote, x.destination
       from sessions x join s on s.id = x.id
       on conflict do nothing
       returning id),
     consumed as (update sessions x set status = 'consumed', consumed_at = now() from w where x.id = $1),
     timeline as (insert into withdrawal_timeline (withdrawal_id, kind, from_status, to_status, actor, reason, refused_code)
       select id, 'transition', null, 'pending', $3::text, $4::text, null from w),
     ${outboxInsertAs('events', 5, 'exists (select 1 from w)')}
     select exists (select 1 from partner_requests where session_id = $1) as partner from w`;

/**
 * The common commit of an initiation, as one statement (its own transaction): under the session's
 * row lock, when the session is open or initiating, the withdrawal (pending) from the session's
 * row, the session consumed, the timeline's first entry and the `debited` + `statusChanged` events;
 * the events are built from the session the caller holds, whose fields are the ones copied (only a
 * session's status changes). Returns whether the session is a partner's request (stored with it),
 * or null when nothing was created: `commitWithdrawal` then answers (consumed, abandoned).
 */
async function createWithdrawal(em: EntityManager, session: Session, origin: Origin): Promise<{ partner: boolean } | null> {
  const cause = { correlationId: session.withdrawalId, causationId: null, traceId: origin.traceId };
  const w = withdrawalOfSession(session);
  const events = [
    outboxRow(withdrawalEvents.debited, debitedPayload(w), cause),
    outboxRow(
      withdrawalEvents.statusChanged,
      statusChangedPayload(w, { from: null, to: 'pending', actor: origin.actor, reason: origin.reason }),
      cause,
    ),
  ];
  const [row] = await queryRowsBound(em, createdRow, createStatement, [
    session.id,
    ['open', 'initiating'],
    origin.actor,
    origin.reason,
    outboxRowsParam(events),
  ]);
  return row ?? null;
}

/** The withdrawal an open session becomes, as the events about it carry it. */
function withdrawalOfSession(s: Session): Withdrawal {
  return {
    id: s.withdrawalId,
    traderId: s.traderId,
    status: 'pending',
    paymentRouteId: s.paymentRouteId,
    country: s.country,
    fiatAccountId: s.fiatAccountId,
    fiatAmount: s.fiatAmount,
    fiatCurrency: s.fiatCurrency,
    debitedMinor: s.cryptoAmountMinor,
    destination: s.destination,
    pspTransactionId: null,
    hasRiskDecision: false,
    payoutRedispatches: 0,
    failedPspTransactionIds: [],
  };
}

/**
 * One transaction under the session's row lock: the withdrawal (pending), the session consumed,
 * the audit row and the `debited` + `statusChanged` events. Concurrent initiates of one session
 * serialize here; the first commits, the others answer what it committed.
 */
async function commitWithdrawal(em: EntityManager, session: Session, origin: Origin): Promise<ServiceResult<InitiateResult>> {
  const current = await findSession(em, session.id, { lock: true });
  if (!current) throw new Error(`session ${session.id} vanished`);
  if (current.status === 'consumed') return answerConsumed(em, current);
  const cause = { correlationId: session.withdrawalId, causationId: null, traceId: origin.traceId };
  if (current.status === 'abandoned') {
    // The sweeper gave the session up while this hold was on its way: undo the hold it may have missed.
    await sendVoidHold(em, session.withdrawalId, cause);
    return refuse('SESSION_EXPIRED', 'Session expired');
  }
  const [row] = await queryRowsBound(
    em,
    withdrawalCore,
    `insert into withdrawals (id, session_id, trader_id, status, payment_route_id, country, fiat_account_id, fiat_amount, fiat_currency,
       debited_minor, quote, destination)
     select withdrawal_id, id, trader_id, 'pending', payment_route_id, country, fiat_account_id, fiat_amount, fiat_currency,
       crypto_amount_minor, quote, destination from sessions where id = $1
     on conflict do nothing
     returning id, session_id, trader_id, status, payment_route_id, country, fiat_account_id, fiat_amount, fiat_currency,
       debited_minor::text as debited_minor, quote, destination, risk_decision, psp_transaction_id`,
    [session.id],
  );
  await setSessionStatus(em, session.id, 'consumed');
  if (row) {
    const w = toWithdrawal(row);
    await appendTimeline(em, w.id, { kind: 'transition', from: null, to: 'pending', actor: origin.actor, reason: origin.reason });
    await sendDebited(em, w, cause);
    await sendStatusChanged(em, w, { from: null, to: 'pending', actor: origin.actor, reason: origin.reason }, cause);
    // Just inserted: its status is known without reading it again.
    return consumedAnswer(current, w.status);
  }
  return answerConsumed(em, current);
}

async function answerConsumed(em: EntityManager, session: Session): Promise<ServiceResult<InitiateResult>> {
  const [w] = await queryRowsBound(em, statusRow, 'select status from withdrawals where id = $1', [session.withdrawalId]);
  if (!w) throw new Error(`session ${session.id} is consumed without its withdrawal`);
  return consumedAnswer(session, w.status);
}

function consumedAnswer(session: Session, status: WithdrawalStatus): ServiceResult<InitiateResult> {
  return ok({
    withdrawalId: session.withdrawalId,
    status,
    debited: { amountMinor: session.cryptoAmountMinor, currency: 'USDT' },
  });
}
