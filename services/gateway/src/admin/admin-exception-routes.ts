import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  adminExceptionAnswer,
  adminExceptionListAnswer,
  adminExceptionsQuery,
  adminResolveExceptionBody,
  exceptionIdParams,
  exceptionsRpc,
} from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import { exampleIds, exceptionExample } from '../edge/examples.ts';
import { operation } from '../edge/openapi.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { adminExceptionToWire } from './admin-exception-wire.ts';
import { operatorOf } from './require-admin.ts';

const tag = 'admin';

/**
 * The exception queue: where money and the partner (or the ledger) disagree. Operators list and
 * read exceptions and resolve them; sessions moves the money through the ledger and audits the
 * action with the operator id from the JWT.
 */
export function adminExceptionRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/exceptions',
      {
        schema: operation({
          operationId: 'adminListExceptions',
          summary: 'The exception queue, newest first',
          description: 'Filtered by status, kind and withdrawal. Paged: `limit` up to 100 (default 50); empty is `[]`.',
          tag,
          access: 'admin',
          querystring: adminExceptionsQuery,
          answer: adminExceptionListAnswer,
          examples: { answer: { exceptions: [exceptionExample], total: 1, page: 1, limit: 50 } },
        }),
      },
      async (request, reply) => {
        const { page, limit, status, kind, withdrawal_id: withdrawalId } = request.query;
        const req = { page, limit, ...(status && { status }), ...(kind && { kind }), ...(withdrawalId && { withdrawalId }) };
        const { exceptions, total } = await services.call(request, exceptionsRpc.list, req);
        return sendData(request, reply, { exceptions: exceptions.map(adminExceptionToWire), total, page, limit });
      },
    );

    app.get(
      '/exceptions/:id',
      {
        schema: operation({
          operationId: 'adminGetException',
          summary: 'One exception',
          description:
            'Kind, withdrawal, partner reference, facts, exposure, the amount at stake and what is outstanding, the resolutions that still fit and the actions taken.',
          tag,
          access: 'admin',
          params: exceptionIdParams,
          answer: adminExceptionAnswer,
          errors: ['EXCEPTION_NOT_FOUND'],
          examples: { answer: exceptionExample },
        }),
      },
      async (request, reply) =>
        sendData(
          request,
          reply,
          adminExceptionToWire(unwrap(await services.call(request, exceptionsRpc.get, { exceptionId: request.params.id }))),
        ),
    );

    app.post(
      '/exceptions/:id/resolve',
      {
        schema: operation({
          operationId: 'adminResolveException',
          summary: 'Resolve an exception',
          description:
            '`recover_from_trader`, `refund_trader`, `write_off` or `dismiss`: at most one ledger transfer, audited with the operator id; a retried resolve never moves money twice. ' +
            'A resolution that does not fit the exposure: 409 EXCEPTION_RESOLUTION_INVALID. The ledger not answering: 503, nothing recorded; retry.',
          tag,
          access: 'admin',
          params: exceptionIdParams,
          body: adminResolveExceptionBody,
          answer: adminExceptionAnswer,
          errors: ['EXCEPTION_NOT_FOUND', 'EXCEPTION_ALREADY_RESOLVED', 'EXCEPTION_RESOLUTION_INVALID'],
          examples: {
            body: { resolution: 'write_off', note: 'Alfred will not claw the payout back' },
            answer: {
              ...exceptionExample,
              status: 'resolved',
              outstanding_amount: '0.000000',
              resolved_at: '2030-01-01T00:07:00.000Z',
              resolution: 'write_off',
              resolutions: [],
              actions: [
                {
                  resolution: 'write_off',
                  note: 'Alfred will not claw the payout back',
                  operator_id: 'op-1',
                  moved_amount: '20.049116',
                  transfer_id: exampleIds.transfer,
                  at: '2030-01-01T00:07:00.000Z',
                },
              ],
            },
          },
        }),
      },
      async (request, reply) => {
        const { resolution, note } = request.body;
        const resolved = await services.call(request, exceptionsRpc.resolve, {
          exceptionId: request.params.id,
          operatorId: operatorOf(request).id,
          resolution,
          note,
        });
        return sendData(request, reply, adminExceptionToWire(unwrap(resolved)));
      },
    );
  };
}
