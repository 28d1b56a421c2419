import type { FastifyInstance } from 'fastify';
import {
  createFiatAccountBody,
  createdFiatAccountAnswer,
  fiatAccountIdParams,
  fiatAccountListAnswer,
  fiatAccountRequirementsAnswer,
  fiatAccountRequirementsQuery,
  pspAlfredRpc,
  type FiatAccountView,
} from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import { traderOf } from '../auth/auth.ts';
import { routeSchema } from '../edge/openapi.ts';
import { parseInput } from '../edge/parse-input.ts';
import { requireSession } from '../edge/require-session.ts';
import { unwrap, type Services } from '../edge/services.ts';

const tag = 'fiat-accounts';

function fiatAccountToWire(a: FiatAccountView) {
  return {
    fiat_account_id: a.fiatAccountId,
    type: a.type,
    masked_number: a.maskedNumber,
    account_holder_name: a.accountHolderName,
    bank_name: a.bankName,
    created_at: a.createdAt,
  };
}

/** The trader's bank accounts at Alfred: list (masked), requirements per rail, add, delete. */
export function fiatAccountRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (app: FastifyInstance) => {
    app.get('/fiat-accounts', { schema: routeSchema({ tag, summary: "The trader's fiat accounts, numbers masked", answer: fiatAccountListAnswer }) }, async (request, reply) => {
      const { accounts } = await services.call(request, pspAlfredRpc.listFiatAccounts, { traderId: traderOf(request).id });
      return sendData(request, reply, accounts.map(fiatAccountToWire));
    });

    app.get(
      '/fiat-accounts/requirements',
      { schema: routeSchema({ tag, summary: 'JSON Schema of fiatAccountFields for a rail', query: fiatAccountRequirementsQuery, answer: fiatAccountRequirementsAnswer }) },
      async (request, reply) => {
        const { type } = parseInput(fiatAccountRequirementsQuery, request.query);
        const { schema } = unwrap(await services.call(request, pspAlfredRpc.fiatAccountRequirements, { type }));
        return sendData(request, reply, schema);
      },
    );

    app.post(
      '/fiat-accounts',
      { schema: routeSchema({ tag, summary: 'Register a fiat account', body: createFiatAccountBody, answer: createdFiatAccountAnswer, status: 201 }) },
      async (request, reply) => {
        const body = parseInput(createFiatAccountBody, request.body);
        const trader = traderOf(request);
        if (body.session_id) await requireSession(services, request, body.session_id, trader.id);
        const req = { traderId: trader.id, type: body.type, fields: body.fiatAccountFields };
        const { fiatAccountId } = unwrap(await services.call(request, pspAlfredRpc.createFiatAccount, req));
        return sendData(request, reply, { fiatAccountId, fiat_account_id: fiatAccountId }, 201);
      },
    );

    app.delete('/fiat-accounts/:id', { schema: routeSchema({ tag, summary: 'Delete a fiat account', params: fiatAccountIdParams, status: 204 }) }, async (request, reply) => {
      const { id } = parseInput(fiatAccountIdParams, request.params);
      unwrap(await services.call(request, pspAlfredRpc.deleteFiatAccount, { traderId: traderOf(request).id, fiatAccountId: id }));
      return reply.code(204).send();
    });
  };
}
