import type { FastifyInstance } from 'fastify';
import {
  createSessionBody,
  initiateAnswer,
  initiateWithdrawalBody,
  sessionAnswer,
  sessionsRpc,
  withdrawalAnswer,
  withdrawalIdParams,
  withdrawalListAnswer,
  withdrawalsQuery,
  type WithdrawalView,
} from '@offramp/contracts';
import { AppError, sendData } from '@offramp/kit';
import { traderOf } from '../auth/auth.ts';
import { routeSchema } from '../edge/openapi.ts';
import { parseInput } from '../edge/parse-input.ts';
import { requireSession } from '../edge/require-session.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { quoteToWire, usdt } from '../edge/wire.ts';

const tag = 'withdrawals';

function withdrawalToWire(w: WithdrawalView) {
  return {
    withdrawal_id: w.withdrawalId,
    status: w.status,
    payment_route_id: w.paymentRouteId,
    fiat_account_id: w.fiatAccountId,
    fiat_amount: w.fiatAmount,
    fiat_currency: w.fiatCurrency,
    crypto_amount: usdt(w.debitedMinor),
    crypto_currency: 'USDT' as const,
    psp_transaction_id: w.pspTransactionId,
    created_at: w.createdAt,
    updated_at: w.updatedAt,
    timeline: w.timeline.map((t) => ({ kind: t.kind ?? (t.refusedCode ? 'refused' : 'transition'), from: t.from, to: t.to, actor: t.actor, reason: t.reason, refused_code: t.refusedCode, at: t.at })),
  };
}

/** Sessions (intent + quote) and initiating the withdrawal of a session. */
export function sessionRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (app: FastifyInstance) => {
    app.post(
      '/session',
      { schema: routeSchema({ tag, summary: 'Open a withdrawal session with its quote', body: createSessionBody, answer: sessionAnswer, status: 201 }) },
      async (request, reply) => {
        const { data } = parseInput(createSessionBody, request.body);
        const req = {
          traderId: traderOf(request).id,
          amount: data.amount,
          sourceCurrency: data.source_currency_id,
          paymentRouteId: data.payment_route_id,
          walletId: data.wallet_id,
          fiatAccountId: data.fiat_account_id,
        };
        const session = unwrap(await services.call(request, sessionsRpc.createSession, req));
        return sendData(request, reply, { session_id: session.sessionId, expires_at: session.expiresAt, quote: quoteToWire(session.quote) }, 201);
      },
    );

    app.post(
      '/initiate-withdrawal',
      { schema: routeSchema({ tag, summary: 'Start the withdrawal of a session (holds the funds)', body: initiateWithdrawalBody, answer: initiateAnswer }) },
      async (request, reply) => {
        const { session_id: sessionId } = parseInput(initiateWithdrawalBody, request.body);
        const traderId = traderOf(request).id;
        await requireSession(services, request, sessionId, traderId);
        const result = await services
          .call(request, sessionsRpc.initiateWithdrawal, { traderId, sessionId })
          .then(unwrap)
          .catch((err: unknown) => {
            throw outcomeUnknown(err, sessionId);
          });
        const debited = { amount: usdt(result.debited.amountMinor), currency: result.debited.currency };
        return sendData(request, reply, { withdrawal_id: result.withdrawalId, status: result.status, debited });
      },
    );
  };
}

/**
 * A 5xx from initiate (a service or its database did not answer) means the outcome is unknown: the
 * hold may have been placed. The answer says so and how to learn it: the same `session_id` again
 * returns the withdrawal if one was started (never a second hold), and `GET /withdrawals` lists it.
 */
function outcomeUnknown(err: unknown, sessionId: string): unknown {
  if (!(err instanceof AppError) || err.statusCode < 500) return err;
  return new AppError(err.code, 'The outcome is unknown: retry with the same session_id, which returns the withdrawal if one was started and never holds twice', {
    statusCode: err.statusCode,
    details: { outcome: 'unknown', retry_with: { session_id: sessionId } },
  });
}

/** The trader's withdrawals with their status timeline. */
export function withdrawalRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (app: FastifyInstance) => {
    app.get(
      '/withdrawals',
      { schema: routeSchema({ tag, summary: "The trader's withdrawals, newest first", query: withdrawalsQuery, answer: withdrawalListAnswer }) },
      async (request, reply) => {
        const { page, limit } = parseInput(withdrawalsQuery, request.query);
        const traderId = traderOf(request).id;
        const { withdrawals, total } = await services.call(request, sessionsRpc.listWithdrawals, { traderId, page, limit });
        // The service filters by trader; the edge does not show a row that says otherwise.
        const own = withdrawals.filter((w) => w.traderId === traderId);
        return sendData(request, reply, { withdrawals: own.map(withdrawalToWire), total, page, limit });
      },
    );

    app.get(
      '/withdrawals/:id',
      { schema: routeSchema({ tag, summary: 'One withdrawal with its status timeline', params: withdrawalIdParams, answer: withdrawalAnswer }) },
      async (request, reply) => {
        const { id } = parseInput(withdrawalIdParams, request.params);
        const traderId = traderOf(request).id;
        const withdrawal = unwrap(await services.call(request, sessionsRpc.getWithdrawal, { traderId, withdrawalId: id }));
        if (withdrawal.traderId !== traderId) throw new AppError('WITHDRAWAL_NOT_FOUND');
        return sendData(request, reply, withdrawalToWire(withdrawal));
      },
    );
  };
}
