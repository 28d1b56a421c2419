import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
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
import { exampleIds, withdrawalExample } from '../edge/examples.ts';
import { operation } from '../edge/openapi.ts';
import { requireSession } from '../edge/require-session.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { eligibilityErrors } from '../eligibility/eligibility-routes.ts';

const tag = 'fiat-accounts';

function fiatAccountToWire(a: FiatAccountView) {
  return {
    fiat_account_id: a.fiatAccountId,
    type: a.type,
    masked_number: a.maskedNumber,
    account_holder_name: a.accountHolderName,
    bank_name: a.bankName,
    created_at: a.createdAt,
    status: a.status ?? 'active',
  };
}

/** The trader's bank accounts at Alfred: list (masked), requirements per rail, add, delete. */
export function fiatAccountRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/fiat-accounts',
      {
        schema: operation({
          operationId: 'listFiatAccounts',
          summary: "The trader's fiat accounts, numbers masked",
          tag,
          access: 'trader',
          answer: fiatAccountListAnswer,
          examples: {
            answer: [
              {
                fiat_account_id: exampleIds.fiatAccount,
                type: 'PIX',
                masked_number: '***8909',
                account_holder_name: 'Joao Santos',
                bank_name: null,
                created_at: withdrawalExample.created_at,
                status: 'active',
              },
            ],
          },
        }),
      },
      async (request, reply) => {
        const { accounts } = await services.call(request, pspAlfredRpc.listFiatAccounts, { traderId: traderOf(request).id });
        return sendData(request, reply, accounts.map(fiatAccountToWire));
      },
    );

    app.get(
      '/fiat-accounts/requirements',
      {
        schema: operation({
          operationId: 'getFiatAccountRequirements',
          summary: 'JSON Schema of fiatAccountFields for a rail',
          description:
            'What `fiatAccountFields` of `POST /fiat-accounts` must hold for the rail `type` (PIX: `pixKey`, `documentNumber`, `accountName`).',
          tag,
          access: 'trader',
          querystring: fiatAccountRequirementsQuery,
          answer: fiatAccountRequirementsAnswer,
          examples: {
            answer: {
              type: 'object',
              required: ['pixKey', 'documentNumber', 'accountName'],
              properties: { pixKey: { type: 'string' }, documentNumber: { type: 'string' }, accountName: { type: 'string' } },
            },
          },
        }),
      },
      async (request, reply) => {
        const { schema } = unwrap(await services.call(request, pspAlfredRpc.fiatAccountRequirements, { type: request.query.type }));
        return sendData(request, reply, schema);
      },
    );

    app.post(
      '/fiat-accounts',
      {
        schema: operation({
          operationId: 'createFiatAccount',
          summary: 'Register a fiat account',
          description:
            "Registers the account at Alfred, in the trader's KYC name. With `session_id`, the session must be the trader's. " +
            "BANK_USA is unavailable while Alfred's registration bug lasts: ALFRED_BANK_USA_UNAVAILABLE with Alfred's status (409 or 422) and `details.partnerCode`.",
          tag,
          access: 'trader',
          status: 201,
          body: createFiatAccountBody,
          answer: createdFiatAccountAnswer,
          errors: [
            ...eligibilityErrors,
            'ALFRED_SESSION_NOT_OWNED',
            'SESSION_NOT_FOUND',
            'FIAT_ACCOUNT_INVALID',
            'FIAT_ACCOUNT_DUPLICATE',
            ['ALFRED_BANK_USA_UNAVAILABLE', 409],
            ['ALFRED_BANK_USA_UNAVAILABLE', 422],
          ],
          examples: {
            body: { type: 'PIX', fiatAccountFields: { pixKey: '12345678909', documentNumber: '12345678909', accountName: 'Joao Santos' } },
            answer: { fiatAccountId: exampleIds.fiatAccount, fiat_account_id: exampleIds.fiatAccount },
          },
        }),
      },
      async (request, reply) => {
        const body = request.body;
        const trader = traderOf(request);
        if (body.session_id) await requireSession(services, request, body.session_id, trader.id);
        const req = { traderId: trader.id, type: body.type, fields: body.fiatAccountFields };
        const { fiatAccountId } = unwrap(await services.call(request, pspAlfredRpc.createFiatAccount, req));
        return sendData(request, reply, { fiatAccountId, fiat_account_id: fiatAccountId }, 201);
      },
    );

    app.delete(
      '/fiat-accounts/:id',
      {
        schema: operation({
          operationId: 'deleteFiatAccount',
          summary: 'Delete a fiat account',
          description: "Another trader's account is FIAT_ACCOUNT_NOT_FOUND, as an unknown one.",
          tag,
          access: 'trader',
          status: 204,
          params: fiatAccountIdParams,
          errors: ['FIAT_ACCOUNT_NOT_FOUND'],
        }),
      },
      async (request, reply) => {
        unwrap(
          await services.call(request, pspAlfredRpc.deleteFiatAccount, {
            traderId: traderOf(request).id,
            fiatAccountId: request.params.id,
          }),
        );
        return reply.code(204).send();
      },
    );
  };
}
