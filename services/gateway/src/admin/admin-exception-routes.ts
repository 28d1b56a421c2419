import type { FastifyInstance } from 'fastify';
import {
  adminExceptionAnswer,
  adminExceptionListAnswer,
  adminExceptionsQuery,
  adminResolveExceptionBody,
  exceptionIdParams,
  exceptionsRpc,
} from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import { routeSchema } from '../edge/openapi.ts';
import { parseInput } from '../edge/parse-input.ts';
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
  return async (app: FastifyInstance) => {
    app.get(
      '/exceptions',
      { schema: routeSchema({ tag, summary: 'The exception queue, newest first, filtered by status, kind and withdrawal', query: adminExceptionsQuery, answer: adminExceptionListAnswer }) },
      async (request, reply) => {
        const { page, limit, status, kind, withdrawal_id: withdrawalId } = parseInput(adminExceptionsQuery, request.query);
        const req = { page, limit, ...(status && { status }), ...(kind && { kind }), ...(withdrawalId && { withdrawalId }) };
        const { exceptions, total } = await services.call(request, exceptionsRpc.list, req);
        return sendData(request, reply, { exceptions: exceptions.map(adminExceptionToWire), total, page, limit });
      },
    );

    app.get(
      '/exceptions/:id',
      { schema: routeSchema({ tag, summary: 'One exception: kind, withdrawal, facts, amounts, status and the actions taken', params: exceptionIdParams, answer: adminExceptionAnswer }) },
      async (request, reply) => {
        const { id } = parseInput(exceptionIdParams, request.params);
        return sendData(request, reply, adminExceptionToWire(unwrap(await services.call(request, exceptionsRpc.get, { exceptionId: id }))));
      },
    );

    app.post(
      '/exceptions/:id/resolve',
      {
        schema: routeSchema({
          tag,
          summary: 'Resolve an exception (recover_from_trader, refund_trader, write_off, dismiss); money moves only through the ledger',
          params: exceptionIdParams,
          body: adminResolveExceptionBody,
          answer: adminExceptionAnswer,
        }),
      },
      async (request, reply) => {
        const { id } = parseInput(exceptionIdParams, request.params);
        const { resolution, note } = parseInput(adminResolveExceptionBody, request.body);
        const resolved = await services.call(request, exceptionsRpc.resolve, { exceptionId: id, operatorId: operatorOf(request).id, resolution, note });
        return sendData(request, reply, adminExceptionToWire(unwrap(resolved)));
      },
    );
  };
}
