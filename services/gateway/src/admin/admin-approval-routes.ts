import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { approvalsRpc } from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import { exampleIds } from '../edge/examples.ts';
import { operation } from '../edge/openapi.ts';
import { unwrap, type Services } from '../edge/services.ts';
import {
  adminApprovalAnswer,
  adminApprovalListAnswer,
  adminApprovalsQuery,
  adminApprovalToWire,
  adminDecideApprovalBody,
  approvalIdParams,
} from './admin-approval-wire.ts';
import { operatorOf } from './require-admin.ts';

const tag = 'admin';

export const approvalExample = {
  approval_id: '0197a3c2-0000-7000-8000-0000000000a1',
  action: 'withdrawal_override',
  target: exampleIds.withdrawal,
  withdrawal_id: exampleIds.withdrawal,
  request: { status: 'rejected', reason: 'partner lost the order', reference: 'INC-7' },
  status: 'pending',
  requested_by: 'op-1',
  requested_at: '2030-01-01T00:05:00.000Z',
  expires_at: '2030-01-01T01:05:00.000Z',
  decided_by: null,
  decided_at: null,
  note: null,
  result: null,
};

/**
 * Four-eyes: the queue of operator requests waiting for a second operator, and their decision. The
 * operator who requested an action can neither confirm nor decline it (403 FOUR_EYES_REQUIRED).
 */
export function adminApprovalRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/approvals',
      {
        schema: operation({
          operationId: 'adminListApprovals',
          summary: 'Four-eyes requests, newest first',
          description:
            'Filtered by `status` (`pending` for the queue). A pending request past its expiry (FOUR_EYES_TTL_MINUTES) is listed as `expired`. Paged: `limit` up to 100 (default 50); empty is `[]`.',
          tag,
          access: 'admin',
          querystring: adminApprovalsQuery,
          answer: adminApprovalListAnswer,
          examples: { answer: { approvals: [approvalExample], total: 1, page: 1, limit: 50 } },
        }),
      },
      async (request, reply) => {
        const { status, page, limit } = request.query;
        const { approvals, total } = await services.call(request, approvalsRpc.list, { page, limit, ...(status && { status }) });
        return sendData(request, reply, { approvals: approvals.map(adminApprovalToWire), total, page, limit });
      },
    );

    const decision = (verb: 'confirm' | 'decline') =>
      app.post(
        `/approvals/:id/${verb}`,
        {
          schema: operation({
            operationId: verb === 'confirm' ? 'adminConfirmApproval' : 'adminDeclineApproval',
            summary: verb === 'confirm' ? 'Confirm a four-eyes request: the action runs once' : 'Decline a four-eyes request: nothing runs',
            description:
              verb === 'confirm'
                ? 'A second operator confirms: the stored action runs once, as this operator, with the requester named on its audit entry. The answer is the request after it: `confirmed` with `result.outcome: done`, or `failed` with the refusal (`result.code`, e.g. ALFRED_INCORRECT_STATUS_CHANGE: nothing moved). A service that did not answer: 503, the request stays pending. The requester: 403 FOUR_EYES_REQUIRED; already decided (or confirmed by a concurrent call): 409 APPROVAL_NOT_PENDING; expired: 410 APPROVAL_EXPIRED.'
                : 'A second operator declines (optional `note`): nothing runs. The requester: 403 FOUR_EYES_REQUIRED; already decided: 409 APPROVAL_NOT_PENDING; expired: 410 APPROVAL_EXPIRED.',
            tag,
            access: 'admin',
            params: approvalIdParams,
            body: adminDecideApprovalBody,
            answer: adminApprovalAnswer,
            errors: ['APPROVAL_NOT_FOUND', 'FOUR_EYES_REQUIRED', 'APPROVAL_NOT_PENDING', 'APPROVAL_EXPIRED'],
            examples: {
              body: { note: verb === 'confirm' ? 'checked the bank statement' : 'the partner says it paid' },
              answer: {
                ...approvalExample,
                status: verb === 'confirm' ? 'confirmed' : 'declined',
                decided_by: 'op-2',
                decided_at: '2030-01-01T00:06:00.000Z',
                result: verb === 'confirm' ? { outcome: 'done', code: null, message: null } : null,
              },
            },
          }),
        },
        async (request, reply) => {
          const req = { approvalId: request.params.id, operatorId: operatorOf(request).id };
          const note = request.body?.note;
          const decided =
            verb === 'confirm'
              ? await services.call(request, approvalsRpc.confirm, req)
              : await services.call(request, approvalsRpc.decline, { ...req, ...(note && { note }) });
          return sendData(request, reply, adminApprovalToWire(unwrap(decided)));
        },
      );
    decision('confirm');
    decision('decline');
  };
}
