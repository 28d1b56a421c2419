import { createHash } from 'node:crypto';
import { inTransaction, RpcError, type Database, type RpcContext } from '@offramp/kit';
import {
  currencyDecimals,
  decimalToMinor,
  failureMessage,
  minorToDecimal,
  ok,
  partnerStateOf,
  paymentRoutes,
  pspAlfredRpc,
  refuse,
  routeById,
  type PartnerRequestStatusView,
  type PartnerRequestView,
  type PartnerWithdrawalRequest,
  type ServiceResult,
} from '@offramp/contracts';
import { initiateWithdrawal, type InitiateDeps } from '../sessions/initiate.ts';
import { insertSession } from '../sessions/sessions-store.ts';
import { isRefusal, prepareSession, type CreateSessionDeps } from '../sessions/sessions.ts';
import { insertRequest, isLinked, lockRequestId, requestById, requestWithdrawal, type RequestRow } from './partners-store.ts';

export interface PartnerRequestDeps {
  db: Database;
  create: CreateSessionDeps;
  initiate: InitiateDeps;
  /** How far the request's date may be from our clock, either way. */
  windowMs: number;
}

/**
 * What makes two requests the same: every field, the amount as minor units of its currency (so
 * "100" and "100.00" are one request, whatever the JSON's spacing or key order). SHA-256, hex.
 */
export function requestHash(r: PartnerWithdrawalRequest): string {
  const amount = decimalToMinor(r.fiatAmount, currencyDecimals[r.fiatCurrency] ?? 2)?.toString() ?? r.fiatAmount;
  const fields = [
    r.withdrawRequestId,
    String(r.withdrawRequestDate),
    r.userId,
    r.userName,
    r.fiatCurrency,
    amount,
    r.currency,
    r.fiatAccountId,
    r.paymentRouteId ?? null,
  ];
  return createHash('sha256').update(JSON.stringify(fields), 'utf8').digest('hex');
}

/** The session request's fields named as the partner names them, in a VALIDATION_ERROR from the session checks. */
const partnerField: Record<string, string> = {
  traderId: 'userId',
  amount: 'fiatAmount',
  sourceCurrency: 'fiatCurrency',
  paymentRouteId: 'paymentRouteId',
  fiatAccountId: 'fiatAccountId',
};
function inPartnerTerms<R extends { ok: false; error: { code: string; details?: Record<string, unknown> } }>(refusal: R): R {
  const fields = refusal.error.details?.fields;
  if (refusal.error.code !== 'VALIDATION_ERROR' || !Array.isArray(fields)) return refusal;
  const renamed = (fields as { field: string; message: string }[]).map((f) => ({ ...f, field: partnerField[f.field] ?? f.field }));
  return { ...refusal, error: { ...refusal.error, details: { ...refusal.error.details, fields: renamed } } };
}

/**
 * A partner's withdrawal request (its signature already checked by `authenticatePartner`). In
 * order: the request date within the window (PARTNER_REQUEST_STALE), the user linked to the
 * partner (PARTNER_USER_NOT_LINKED), then the request id: the same request again answers it as
 * it is (and finishes its initiation if it had not been); otherwise a fiat account that is not the
 * user's (FIAT_ACCOUNT_NOT_FOUND), another partner's id (PARTNER_REQUEST_ID_TAKEN), this partner's
 * id with another body (PARTNER_REQUEST_CONFLICT).
 * A new request runs the widget's pipeline: the session checks and quote (eligibility,
 * FIAT_ACCOUNT_NOT_FOUND, limits, freeze, …), then the session and the request stored in one
 * transaction under the request id's advisory lock (so concurrent copies make one), then the
 * initiation (hold, risk, Alfred). Nothing is held for a refusal.
 */
export async function createPartnerRequest(
  deps: PartnerRequestDeps,
  req: { partnerId: string; request: PartnerWithdrawalRequest },
  ctx: RpcContext,
): Promise<ServiceResult<{ created: boolean; request: PartnerRequestView }>> {
  const r = req.request;
  const skew = Date.now() - r.withdrawRequestDate;
  if (Math.abs(skew) > deps.windowMs)
    return refuse('PARTNER_REQUEST_STALE', `withdrawRequestDate must be within ${deps.windowMs} ms of the server's time`, {
      details: { windowMs: deps.windowMs, serverTime: Date.now() },
    });
  const em = deps.db.em.fork();
  if (!(await isLinked(em, req.partnerId, r.userId)))
    return refuse('PARTNER_USER_NOT_LINKED', 'The user is not linked to the partner: an operator links the traders a partner may act for');
  const hash = requestHash(r);
  const existing = await requestById(em, r.withdrawRequestId);
  if (existing) return answerExisting(deps, existing, req.partnerId, r, hash, ctx);

  const route = r.paymentRouteId ? routeById(r.paymentRouteId) : paymentRoutes.find((x) => x.currency === r.fiatCurrency && x.available);
  if (!route)
    return refuse('VALIDATION_ERROR', 'No payment route for the currency', {
      details: { fields: [{ field: 'fiatCurrency', message: `no available payment route pays out ${r.fiatCurrency}` }] },
    });
  const session = await prepareSession(
    deps.create,
    {
      traderId: r.userId,
      amount: r.fiatAmount,
      sourceCurrency: r.fiatCurrency,
      paymentRouteId: route.id,
      walletId: 'MAIN',
      fiatAccountId: r.fiatAccountId,
    },
    ctx,
  );
  if (isRefusal(session)) return inPartnerTerms(session);
  const stored = await inTransaction(deps.db, async (tx) => {
    await lockRequestId(tx, r.withdrawRequestId);
    const raced = await requestById(tx, r.withdrawRequestId);
    if (raced) return { row: raced, created: false };
    await insertSession(tx, session);
    const row = await insertRequest(tx, {
      withdraw_request_id: r.withdrawRequestId,
      partner_id: req.partnerId,
      session_id: session.id,
      withdrawal_id: session.withdrawalId,
      body_hash: hash,
      withdraw_request_date: r.withdrawRequestDate,
      user_id: r.userId,
      user_name: r.userName,
      fiat_account_id: r.fiatAccountId,
      payment_route_id: route.id,
      fiat_amount: session.quote.fiatAmount,
      fiat_currency: session.quote.fiatCurrency,
      crypto_amount_minor: session.cryptoAmountMinor,
      rate: session.quote.rate,
      quoted_at: new Date(),
    });
    return { row, created: true };
  });
  if (!stored.created) return answerExisting(deps, stored.row, req.partnerId, r, hash, ctx);
  ctx.log.info(
    { partnerId: req.partnerId, withdrawRequestId: r.withdrawRequestId, sessionId: session.id, withdrawalId: session.withdrawalId },
    'partner request accepted',
  );
  return initiateAndAnswer(deps, stored.row, true, ctx);
}

async function answerExisting(
  deps: PartnerRequestDeps,
  row: RequestRow,
  partnerId: string,
  request: PartnerWithdrawalRequest,
  hash: string,
  ctx: RpcContext,
): Promise<ServiceResult<{ created: boolean; request: PartnerRequestView }>> {
  if (row.partner_id === partnerId && row.body_hash === hash) return initiateAndAnswer(deps, row, false, ctx);
  // Refused either way; a fiat account that is not the user's is said first (the documented order).
  if (await accountNotTheUsers(deps, request, ctx)) return refuse('FIAT_ACCOUNT_NOT_FOUND', 'Fiat account not found');
  if (row.partner_id !== partnerId) return refuse('PARTNER_REQUEST_ID_TAKEN', 'The withdrawRequestId is taken: choose another');
  return refuse(
    'PARTNER_REQUEST_CONFLICT',
    'This withdrawRequestId was used for a different request: the same id must carry the same body',
  );
}

/** Whether psp-alfred says the fiat account is not the user's; anything else (an errored account, psp-alfred not answering) is not that. */
async function accountNotTheUsers(deps: PartnerRequestDeps, r: PartnerWithdrawalRequest, ctx: RpcContext): Promise<boolean> {
  try {
    const dest = await deps.create.call(pspAlfredRpc.getDestination, { traderId: r.userId, fiatAccountId: r.fiatAccountId }, ctx.traceId);
    return !dest.ok && dest.error.code === 'FIAT_ACCOUNT_NOT_FOUND';
  } catch (err) {
    if (err instanceof RpcError) return false;
    throw err;
  }
}

/** Initiates the request's session (idempotent: a consumed session answers its withdrawal) and answers the request. */
async function initiateAndAnswer(
  deps: PartnerRequestDeps,
  row: RequestRow,
  created: boolean,
  ctx: RpcContext,
): Promise<ServiceResult<{ created: boolean; request: PartnerRequestView }>> {
  const initiated = await initiateWithdrawal(deps.initiate, { traderId: row.user_id, sessionId: row.session_id }, ctx.traceId);
  if (!initiated.ok) return initiated;
  const w = await requestWithdrawal(deps.db.em.fork(), row.withdrawal_id);
  const state = partnerStateOf(w?.status ?? initiated.data.status, w?.failure_class ?? null);
  return ok({ created, request: requestView(row, state) });
}

export function requestView(row: RequestRow, state: PartnerRequestView['withdrawalState']): PartnerRequestView {
  return {
    withdrawRequestId: row.withdraw_request_id,
    withdrawRequestDate: row.withdraw_request_date,
    userId: row.user_id,
    userName: row.user_name,
    withdrawalState: state,
    operationNo: row.withdrawal_id,
    conversion: {
      fiatAmount: row.fiat_amount,
      fiatCurrency: row.fiat_currency,
      cryptoAmount: minorToDecimal(row.crypto_amount_minor, 6),
      currency: 'USDT',
      rate: row.rate,
      quotedAt: row.quoted_at.toISOString(),
    },
    createdAt: row.created_at.toISOString(),
  };
}

/**
 * The state of one of the partner's requests. PARTNER_REQUEST_NOT_FOUND for an unknown id, another
 * partner's, and one whose withdrawal was never made (refused at initiation: insufficient funds, a freeze).
 */
export async function getPartnerRequest(
  db: Database,
  req: { partnerId: string; withdrawRequestId: string },
): Promise<ServiceResult<PartnerRequestStatusView>> {
  const em = db.em.fork();
  const row = await requestById(em, req.withdrawRequestId);
  const w = row && row.partner_id === req.partnerId ? await requestWithdrawal(em, row.withdrawal_id) : null;
  if (!row || !w) return refuse('PARTNER_REQUEST_NOT_FOUND', 'No withdrawal request of this partner has this withdrawRequestId');
  const terminal = w.status === 'completed' || w.status === 'rejected';
  return ok({
    withdrawRequestId: row.withdraw_request_id,
    withdrawalState: partnerStateOf(w.status, w.failure_class),
    amount: minorToDecimal(w.debited_minor, 6),
    currency: 'USDT',
    fiatAmount: row.fiat_amount,
    fiatCurrency: row.fiat_currency,
    userId: row.user_id,
    userName: row.user_name,
    withdrawTime: w.created_at.getTime(),
    finishTime: terminal ? w.status_changed_at.getTime() : null,
    operationNo: row.withdrawal_id,
    status: w.status,
    failure: w.failure_class ? { class: w.failure_class, message: failureMessage(w.failure_class, 'en') } : null,
  });
}
