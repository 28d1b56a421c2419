import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  adminApproveBody,
  adminCompleteBody,
  adminProcessBody,
  adminRejectBody,
  adminStatusBody,
  adminWithdrawalAnswer,
  withdrawalIdParams,
  withdrawalOperatorRpc,
  type ServiceResult,
  type WithdrawalView,
} from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import type { z } from 'zod';
import { routeSchema, type RouteDoc } from '../edge/openapi.ts';
import { parseInput } from '../edge/parse-input.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { operatorOf } from './require-admin.ts';
import { adminWithdrawalToWire } from './admin-wire.ts';

const tag = 'admin';

/** The request of an operator action: the withdrawal, the operator (JWT sub) and the parsed body. */
interface Action<B> {
  withdrawalId: string;
  operatorId: string;
  body: B;
}

/**
 * Operator actions on one withdrawal, each through its sessions rpc with the operator id from the
 * JWT. The answer is the withdrawal after the action; an illegal transition is the service's 409
 * ALFRED_INCORRECT_STATUS_CHANGE (audited there as a refused entry), an unknown id 404.
 */
export function adminActionRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (app: FastifyInstance) => {
    const action = <S extends z.ZodType>(
      method: 'POST' | 'PUT',
      path: string,
      doc: Pick<RouteDoc, 'summary'> & { body: S },
      run: (request: FastifyRequest, a: Action<z.output<S>>) => Promise<ServiceResult<WithdrawalView>>,
    ) =>
      app.route({
        method,
        url: `/withdrawals/:id/${path}`,
        schema: routeSchema({ tag, summary: doc.summary, params: withdrawalIdParams, body: doc.body, answer: adminWithdrawalAnswer }),
        handler: async (request, reply) => {
          const { id } = parseInput(withdrawalIdParams, request.params);
          const body = parseInput(doc.body, request.body);
          const withdrawal = unwrap(await run(request, { withdrawalId: id, operatorId: operatorOf(request).id, body }));
          return sendData(request, reply, adminWithdrawalToWire(withdrawal));
        },
      });

    action('POST', 'approve', { summary: 'in_review -> approved; the pipeline continues', body: adminApproveBody }, (request, a) =>
      services.call(request, withdrawalOperatorRpc.approve, { withdrawalId: a.withdrawalId, operatorId: a.operatorId, ...(a.body?.reason && { reason: a.body.reason }) }),
    );

    action('POST', 'reject', { summary: '-> rejected; the held funds are restored (a withdrawal with a live order at Alfred: 409 PARTNER_ORDER_LIVE)', body: adminRejectBody }, (request, a) =>
      services.call(request, withdrawalOperatorRpc.reject, { withdrawalId: a.withdrawalId, operatorId: a.operatorId, reason: a.body.reason }),
    );

    action('POST', 'process', { summary: 'Re-dispatch the PSP request of an approved withdrawal', body: adminProcessBody }, (request, a) =>
      services.call(request, withdrawalOperatorRpc.process, { withdrawalId: a.withdrawalId, operatorId: a.operatorId }),
    );

    action('POST', 'complete', { summary: 'processing -> completed, when the partner confirmed out of band', body: adminCompleteBody }, (request, a) =>
      services.call(request, withdrawalOperatorRpc.complete, {
        withdrawalId: a.withdrawalId,
        operatorId: a.operatorId,
        reference: a.body.reference,
        ...(a.body.notes && { notes: a.body.notes }),
        ...(a.body.confirmed_out_of_band !== undefined && { confirmedOutOfBand: a.body.confirmed_out_of_band }),
      }),
    );

    action('PUT', 'status', { summary: 'Override the status along a legal transition, with the same money effects', body: adminStatusBody }, (request, a) =>
      services.call(request, withdrawalOperatorRpc.overrideStatus, {
        withdrawalId: a.withdrawalId,
        operatorId: a.operatorId,
        status: a.body.status,
        reason: a.body.reason,
        ...(a.body.reference && { reference: a.body.reference }),
        ...(a.body.confirmed_out_of_band !== undefined && { confirmedOutOfBand: a.body.confirmed_out_of_band }),
      }),
    );
  };
}
