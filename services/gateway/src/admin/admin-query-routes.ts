import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
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
import { adminWithdrawalExample } from '../edge/examples.ts';
import { operation } from '../edge/openapi.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { adminWithdrawalToWire } from './admin-wire.ts';

const tag = 'admin';
const listExample = { withdrawals: [adminWithdrawalExample], total: 1, page: 1, limit: 50 };

/**
 * What operators read: every withdrawal (filtered), the manual-review queue and one withdrawal in
 * full. Static paths (`/withdrawals/pending`) win over `/withdrawals/:id` in Fastify's router.
 */
export function adminQueryRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/withdrawals',
      {
        schema: operation({
          operationId: 'adminListWithdrawals',
          summary: 'Every withdrawal, newest first, filtered by status and trader',
          description:
            '`stuck=true`: only those that stayed in their status longer than its SLA. Paged: `limit` up to 100 (default 50); empty is `[]`.',
          tag,
          access: 'admin',
          querystring: adminWithdrawalsQuery,
          answer: adminWithdrawalListAnswer,
          examples: { answer: listExample },
        }),
      },
      async (request, reply) => {
        const { page, limit, status, user_id: traderId, stuck } = request.query;
        const req = { page, limit, ...(status && { status }), ...(traderId && { traderId }), ...(stuck !== undefined && { stuck }) };
        const { withdrawals, total } = await services.call(request, sessionsRpc.listWithdrawals, req);
        return sendData(request, reply, { withdrawals: withdrawals.map((w) => adminWithdrawalToWire(w)), total, page, limit });
      },
    );

    app.get(
      '/withdrawals/pending',
      {
        schema: operation({
          operationId: 'adminListPendingWithdrawals',
          summary: 'The manual-review queue (in_review), newest first',
          tag,
          access: 'admin',
          querystring: adminPendingQuery,
          answer: adminWithdrawalListAnswer,
          examples: { answer: listExample },
        }),
      },
      async (request, reply) => {
        const { page, limit } = request.query;
        const { withdrawals, total } = await services.call(request, sessionsRpc.listWithdrawals, { status: 'in_review', page, limit });
        return sendData(request, reply, { withdrawals: withdrawals.map((w) => adminWithdrawalToWire(w)), total, page, limit });
      },
    );

    app.get(
      '/withdrawals/:id',
      {
        schema: operation({
          operationId: 'adminGetWithdrawal',
          summary: 'One withdrawal in full',
          description:
            "Amounts, quote, masked fiat account, risk's decision with its reasons, the PSP transaction, the audit timeline and the exceptions opened about it.",
          tag,
          access: 'admin',
          params: withdrawalIdParams,
          answer: adminWithdrawalAnswer,
          errors: ['WITHDRAWAL_NOT_FOUND'],
          examples: { answer: adminWithdrawalExample },
        }),
      },
      async (request, reply) => {
        const { id } = request.params;
        const [withdrawal, risk] = await Promise.all([
          services.call(request, sessionsRpc.getWithdrawal, { withdrawalId: id }),
          services.call(request, riskRpc.getDecision, { withdrawalId: id }),
        ]);
        return sendData(request, reply, adminWithdrawalToWire(unwrap(withdrawal), risk.decision));
      },
    );
  };
}
