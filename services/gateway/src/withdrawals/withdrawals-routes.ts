import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  createSessionBody,
  failureMessage,
  initiateAnswer,
  initiateWithdrawalBody,
  messageLanguage,
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
import { exampleIds, quoteExample, withdrawalExample } from '../edge/examples.ts';
import { operation } from '../edge/openapi.ts';
import { requireSession } from '../edge/require-session.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { quoteToWire, usdt } from '../edge/wire.ts';
import { eligibilityErrors } from '../eligibility/eligibility-routes.ts';

const tag = 'withdrawals';

/** The trader's view of a payout failure: its class and message, in the Accept-Language's language else the country's. */
export function failureToWire(w: WithdrawalView, acceptLanguage: string | undefined) {
  if (!w.failureClass) return null;
  return { class: w.failureClass, message: failureMessage(w.failureClass, messageLanguage(acceptLanguage, w.country)) };
}

function withdrawalToWire(w: WithdrawalView, acceptLanguage?: string) {
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
    failure: failureToWire(w, acceptLanguage),
    created_at: w.createdAt,
    updated_at: w.updatedAt,
    timeline: w.timeline.map((t) => ({
      kind: t.kind ?? (t.refusedCode ? 'refused' : 'transition'),
      from: t.from,
      to: t.to,
      actor: t.actor,
      reason: t.reason,
      refused_code: t.refusedCode,
      at: t.at,
    })),
  };
}

/** Sessions (intent + quote) and initiating the withdrawal of a session. */
export function sessionRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.post(
      '/session',
      {
        schema: operation({
          operationId: 'createSession',
          summary: 'Open a withdrawal session with its quote',
          description:
            'Checks eligibility for the route, the fiat account, the freeze and the limits, and prices the withdrawal. ' +
            'The session lives 24 h, keeps the quote the trader saw and starts at most one withdrawal.',
          tag,
          access: 'trader',
          status: 201,
          body: createSessionBody,
          answer: sessionAnswer,
          errors: [...eligibilityErrors, 'FIAT_ACCOUNT_NOT_FOUND', 'FIAT_ACCOUNT_ERRORED', 'LIMIT_EXCEEDED', 'ALFRED_WITHDRAWALS_FROZEN'],
          examples: {
            body: {
              data: {
                type: 'withdrawal',
                amount: '100.00',
                source_currency_id: 'BRL',
                payment_route_id: 'BR_PIX',
                wallet_id: 'MAIN',
                fiat_account_id: exampleIds.fiatAccount,
              },
            },
            answer: { session_id: exampleIds.session, expires_at: '2030-01-02T00:00:00.000Z', quote: quoteExample },
          },
        }),
      },
      async (request, reply) => {
        const { data } = request.body;
        const req = {
          traderId: traderOf(request).id,
          amount: data.amount,
          sourceCurrency: data.source_currency_id,
          paymentRouteId: data.payment_route_id,
          walletId: data.wallet_id,
          fiatAccountId: data.fiat_account_id,
        };
        const session = unwrap(await services.call(request, sessionsRpc.createSession, req));
        return sendData(
          request,
          reply,
          { session_id: session.sessionId, expires_at: session.expiresAt, quote: quoteToWire(session.quote) },
          201,
        );
      },
    );

    app.post(
      '/initiate-withdrawal',
      {
        schema: operation({
          operationId: 'initiateWithdrawal',
          summary: 'Start the withdrawal of a session (holds the funds)',
          description:
            "Holds the quote's USDT and starts the withdrawal; the same session again answers the same withdrawal (never a second hold). " +
            'A 5xx means the outcome is unknown: retry with the same `session_id` (`details.retry_with`).',
          tag,
          access: 'trader',
          body: initiateWithdrawalBody,
          answer: initiateAnswer,
          errors: ['ALFRED_SESSION_NOT_OWNED', 'SESSION_NOT_FOUND', 'SESSION_EXPIRED', 'INSUFFICIENT_FUNDS', 'ALFRED_WITHDRAWALS_FROZEN'],
          examples: {
            body: { session_id: exampleIds.session },
            answer: { withdrawal_id: exampleIds.withdrawal, status: 'pending', debited: { amount: '20.049116', currency: 'USDT' } },
          },
        }),
      },
      async (request, reply) => {
        const { session_id: sessionId } = request.body;
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
  return new AppError(
    err.code,
    'The outcome is unknown: retry with the same session_id, which returns the withdrawal if one was started and never holds twice',
    {
      statusCode: err.statusCode,
      details: { outcome: 'unknown', retry_with: { session_id: sessionId } },
    },
  );
}

/** The trader's withdrawals with their status timeline. */
export function withdrawalRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/withdrawals',
      {
        schema: operation({
          operationId: 'listWithdrawals',
          summary: "The trader's withdrawals, newest first",
          description: 'Paged: `page` from 1, `limit` up to 100 (default 20); `total` counts them all.',
          tag,
          access: 'trader',
          querystring: withdrawalsQuery,
          answer: withdrawalListAnswer,
          examples: { answer: { withdrawals: [withdrawalExample], total: 1, page: 1, limit: 20 } },
        }),
      },
      async (request, reply) => {
        const { page, limit } = request.query;
        const traderId = traderOf(request).id;
        const { withdrawals, total } = await services.call(request, sessionsRpc.listWithdrawals, { traderId, page, limit });
        // The service filters by trader; the edge does not show a row that says otherwise.
        const own = withdrawals.filter((w) => w.traderId === traderId);
        return sendData(request, reply, {
          withdrawals: own.map((w) => withdrawalToWire(w, request.headers['accept-language'])),
          total,
          page,
          limit,
        });
      },
    );

    app.get(
      '/withdrawals/:id',
      {
        schema: operation({
          operationId: 'getWithdrawal',
          summary: 'One withdrawal with its status timeline',
          description: "Another trader's withdrawal is WITHDRAWAL_NOT_FOUND, as an unknown one.",
          tag,
          access: 'trader',
          params: withdrawalIdParams,
          answer: withdrawalAnswer,
          errors: ['WITHDRAWAL_NOT_FOUND'],
          examples: { answer: withdrawalExample },
        }),
      },
      async (request, reply) => {
        const { id } = request.params;
        const traderId = traderOf(request).id;
        const withdrawal = unwrap(await services.call(request, sessionsRpc.getWithdrawal, { traderId, withdrawalId: id }));
        if (withdrawal.traderId !== traderId) throw new AppError('WITHDRAWAL_NOT_FOUND');
        return sendData(request, reply, withdrawalToWire(withdrawal, request.headers['accept-language']));
      },
    );
  };
}
