import type { FastifyInstance } from 'fastify';
import {
  adminPendingQuery,
  adminWithdrawalAnswer,
  adminWithdrawalListAnswer,
  adminWithdrawalsQuery,
  riskRpc,
  sessionsRpc,
  withdrawalIdParams,
} from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import { routeSchema } from '../edge/openapi.ts';
import { parseInput } from '../edge/parse-input.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { adminWithdrawalToWire } from './admin-wire.ts';

const tag = 'admin';

/**
 * What operators read: every withdrawal (filtered), the manual-review queue and one withdrawal in
 * full. Static paths (`/withdrawals/pending`) win over `/withdrawals/:id` in Fastify's router.
 */
export function adminQueryRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (app: FastifyInstance) => {
    app.get(
      '/withdrawals',
      { schema: routeSchema({ tag, summary: 'Every withdrawal, newest first, filtered by status and trader', query: adminWithdrawalsQuery, answer: adminWithdrawalListAnswer }) },
      async (request, reply) => {
        const { page, limit, status, user_id: traderId, stuck } = parseInput(adminWithdrawalsQuery, request.query);
        const req = { page, limit, ...(status && { status }), ...(traderId && { traderId }), ...(stuck !== undefined && { stuck }) };
        const { withdrawals, total } = await services.call(request, sessionsRpc.listWithdrawals, req);
        return sendData(request, reply, { withdrawals: withdrawals.map((w) => adminWithdrawalToWire(w)), total, page, limit });
      },
    );

    app.get(
      '/withdrawals/pending',
      { schema: routeSchema({ tag, summary: 'The manual-review queue (in_review), newest first', query: adminPendingQuery, answer: adminWithdrawalListAnswer }) },
      async (request, reply) => {
        const { page, limit } = parseInput(adminPendingQuery, request.query);
        const { withdrawals, total } = await services.call(request, sessionsRpc.listWithdrawals, { status: 'in_review', page, limit });
        return sendData(request, reply, { withdrawals: withdrawals.map((w) => adminWithdrawalToWire(w)), total, page, limit });
      },
    );

    app.get(
      '/withdrawals/:id',
      {
        schema: routeSchema({
          tag,
          summary: 'One withdrawal with quote, masked fiat account, risk decision, PSP transaction and audit timeline',
          params: withdrawalIdParams,
          answer: adminWithdrawalAnswer,
        }),
      },
      async (request, reply) => {
        const { id } = parseInput(withdrawalIdParams, request.params);
        const [withdrawal, risk] = await Promise.all([
          services.call(request, sessionsRpc.getWithdrawal, { withdrawalId: id }),
          services.call(request, riskRpc.getDecision, { withdrawalId: id }),
        ]);
        return sendData(request, reply, adminWithdrawalToWire(unwrap(withdrawal), risk.decision));
      },
    );
  };
}
