import type { z } from 'zod';
import { newId, RpcError, type Database, type RpcContext } from '@offramp/kit';
import {
  currencyDecimals,
  decimalToMinor,
  ok,
  principalId,
  pspAlfredRpc,
  refuse,
  riskRpc,
  routeById,
  type createSessionRequest,
  type PaymentRoute,
  type ServiceResult,
  type sessionView,
} from '@offramp/contracts';
import type { Call } from '../call.ts';
import { insertSession, type Destination, type Session } from './sessions-store.ts';

type CreateSessionRequest = z.output<typeof createSessionRequest>;
type SessionView = z.output<typeof sessionView>;
/** Why a session is not created (an invalid request, an ineligible trader, psp-alfred not answering), as the rpc answers it. */
type SessionRefusal = ReturnType<typeof refuse>;

export interface CreateSessionDeps {
  db: Database;
  call: Call;
  ttlSeconds: number;
}

const invalid = (field: string, message: string): SessionRefusal =>
  refuse('VALIDATION_ERROR', message, { details: { fields: [{ field, message }] } });

/** The route and the amount in minor units, or VALIDATION_ERROR naming the field. */
export function validateSessionRequest(req: CreateSessionRequest): { route: PaymentRoute; amountMinor: bigint } | SessionRefusal {
  if (!principalId.safeParse(req.traderId).success) return invalid('traderId', 'is not a valid trader id');
  const route = routeById(req.paymentRouteId);
  if (!route || !route.available) return invalid('paymentRouteId', 'is not an available payment route');
  if (req.sourceCurrency !== route.currency) return invalid('sourceCurrency', `must be ${route.currency} for ${route.id}`);
  const amountMinor = decimalToMinor(req.amount, currencyDecimals[route.currency] ?? 2);
  if (amountMinor === null || amountMinor <= 0n)
    return invalid('amount', `must be a positive amount with at most ${currencyDecimals[route.currency] ?? 2} decimals`);
  return { route, amountMinor };
}

/** psp-alfred not answering is PSP_UNAVAILABLE for the caller, not an internal error. */
async function fromPsp<T>(call: () => Promise<T>): Promise<T | SessionRefusal> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof RpcError && (err.code === 'TIMEOUT' || err.code === 'NO_RESPONDERS'))
      return refuse('PSP_UNAVAILABLE', 'psp-alfred did not answer');
    throw err;
  }
}

export const isRefusal = (v: unknown): v is SessionRefusal => typeof v === 'object' && v !== null && (v as { ok?: unknown }).ok === false;

/** Eligibility for the route's country and rail, then the destination account on that rail. */
async function destinationFor(
  deps: CreateSessionDeps,
  req: CreateSessionRequest,
  route: PaymentRoute,
  traceId: string,
): Promise<Destination | SessionRefusal> {
  const eligibility = await fromPsp(() => deps.call(pspAlfredRpc.eligibility, { traderId: req.traderId }, traceId));
  if (isRefusal(eligibility)) return eligibility;
  if (!eligibility.ok) return eligibility;
  if (!eligibility.data.eligible)
    return refuse('USER_NOT_VERIFIED', 'KYC update required', {
      details: { reason: eligibility.data.reason, fallback: eligibility.data.fallback },
    });
  if (eligibility.data.country !== route.country)
    return refuse('ALFRED_NOT_AVAILABLE_FOR_COUNTRY', `route ${route.id} is not offered in ${eligibility.data.country}`);
  const dest = await fromPsp(() =>
    deps.call(pspAlfredRpc.getDestination, { traderId: req.traderId, fiatAccountId: req.fiatAccountId }, traceId),
  );
  if (isRefusal(dest)) return dest;
  if (!dest.ok) return dest;
  if (dest.data.fiatAccount.type !== route.rail) return invalid('fiatAccountId', `is not a ${route.rail} account`);
  return dest.data;
}

/**
 * Opens a withdrawal session: route and amount checks, eligibility, the destination account, the
 * quote, then risk's session check (freeze, limits). Outcomes: the session, or VALIDATION_ERROR,
 * the eligibility codes, FIAT_ACCOUNT_NOT_FOUND, ALFRED_WITHDRAWALS_FROZEN, LIMIT_EXCEEDED,
 * PSP_UNAVAILABLE (refusals of psp-alfred and risk pass through as they are).
 */
export async function createSession(
  deps: CreateSessionDeps,
  req: CreateSessionRequest,
  ctx: RpcContext,
): Promise<ServiceResult<SessionView>> {
  const session = await prepareSession(deps, req, ctx);
  if (isRefusal(session)) return session;
  // One statement: its own transaction.
  await insertSession(deps.db.em.fork(), session);
  ctx.log.info({ sessionId: session.id, withdrawalId: session.withdrawalId, route: session.paymentRouteId }, 'session opened');
  return ok({ sessionId: session.id, expiresAt: session.expiresAt.toISOString(), quote: session.quote });
}

/** A session to insert: every check of `createSession` and the quote, nothing stored (the partner API inserts it with its request). */
export type PreparedSession = Omit<Session, 'status'>;

/** `createSession`'s checks and quote, in its order, without the insert. */
export async function prepareSession(
  deps: CreateSessionDeps,
  req: CreateSessionRequest,
  ctx: RpcContext,
): Promise<PreparedSession | SessionRefusal> {
  const valid = validateSessionRequest(req);
  if (isRefusal(valid)) return valid;
  const { route } = valid;
  const dest = await destinationFor(deps, req, route, ctx.traceId);
  if (isRefusal(dest)) return dest;
  const quote = await fromPsp(() =>
    deps.call(pspAlfredRpc.quote, { traderId: req.traderId, fiatCurrency: route.currency, fiatAmount: req.amount }, ctx.traceId),
  );
  if (isRefusal(quote)) return quote;
  if (!quote.ok) return quote;
  const risk = await deps.call(
    riskRpc.checkSession,
    {
      traderId: req.traderId,
      country: route.country,
      paymentRouteId: route.id,
      fiatAmount: req.amount,
      fiatCurrency: route.currency,
      cryptoAmountMinor: quote.data.cryptoAmountMinor,
    },
    ctx.traceId,
  );
  if (!risk.ok) return risk;

  return {
    id: newId(),
    traderId: req.traderId,
    withdrawalId: newId(),
    paymentRouteId: route.id,
    country: route.country,
    walletId: req.walletId,
    fiatAccountId: req.fiatAccountId,
    fiatAmount: req.amount,
    fiatCurrency: route.currency,
    cryptoAmountMinor: quote.data.cryptoAmountMinor,
    quote: quote.data,
    destination: dest,
    expiresAt: new Date(Date.now() + deps.ttlSeconds * 1000),
  };
}
