import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  decimalToMinor,
  devCountryQuery,
  devEmitKycStatusBody,
  devEmitOfframpBody,
  devFundAnswer,
  devFundBody,
  devTokenAnswer,
  devTokenBody,
  pspAlfredRpc,
} from '@offramp/contracts';
import { AppError, sendData } from '@offramp/kit';
import { requireTrader, signDevToken, traderOf } from '../auth/auth.ts';
import { traderBalances } from '../balances/balances-routes.ts';
import { exampleIds } from '../edge/examples.ts';
import { beforeBody } from '../edge/hooks.ts';
import { operation, type OperationSpec } from '../edge/openapi.ts';
import { requireSession } from '../edge/require-session.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { usdt } from '../edge/wire.ts';
import { devGate } from './dev-gate.ts';
import { fundTrader } from './fund.ts';

/** What psp-alfred's QA actions answer, passed through as they are. */
const qaAnswer = z.record(z.string(), z.unknown()).describe("psp-alfred's report of the action");
const qa = <B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
  spec: Omit<OperationSpec<B, Q, undefined>, 'tag' | 'access'>,
) => operation<B, Q, undefined>({ tag: 'qa', access: 'dev', answer: qaAnswer, ...spec });

export interface DevDeps {
  services: Services;
  secret: string;
  /** False when tokens are RS256: the gateway holds no private key, so it cannot mint any. */
  canSignTokens: boolean;
}

/**
 * QA actions of API.md under `/__dev`, mounted only when DEV_ENDPOINTS=true. Every route needs
 * X-Dev-Secret (else 404 as if absent) and, except `/token`, the trader's JWT; they act on that trader.
 */
export function devRoutes(deps: DevDeps) {
  return async (scope: FastifyInstance) => {
    scope.addHook('onRequest', devGate(deps.secret));
    const app = scope.withTypeProvider<ZodTypeProvider>();
    if (deps.canSignTokens) {
      app.post(
        '/token',
        {
          schema: operation({
            operationId: 'qaCreateToken',
            summary: 'A signed dev JWT for the playground',
            description: 'HS256 with the configured issuer and audience, valid for one hour. Needs only the dev secret.',
            tag: 'qa',
            access: 'dev-token',
            body: devTokenBody,
            answer: devTokenAnswer,
            examples: {
              body: { sub: 'qa-1', role: 'trader' },
              answer: {
                token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJxYS0xIn0.c2lnbmF0dXJl',
                token_type: 'Bearer',
                expires_in: 3600,
                expires_at: '2030-01-01T01:00:00.000Z',
              },
            },
          }),
        },
        async (request, reply) => {
          const body = request.body;
          const token = signDevToken(scope, body.sub, body.role);
          const { exp } = scope.jwt.decode<{ exp: number }>(token)!;
          const expiresIn = exp - Math.floor(Date.now() / 1000);
          return sendData(request, reply, {
            token,
            token_type: 'Bearer',
            expires_in: expiresIn,
            expires_at: new Date(exp * 1000).toISOString(),
          });
        },
      );
    }
    await scope.register(traderActions(deps.services));
  };
}

function traderActions(services: Services) {
  return async (scope: FastifyInstance) => {
    scope.addHook('preParsing', beforeBody(requireTrader));
    const app = scope.withTypeProvider<ZodTypeProvider>();
    const provisionErrors = ['USER_NOT_VERIFIED', 'ALFRED_NOT_AVAILABLE_FOR_COUNTRY'] as const;
    const kycErrors = ['USER_NOT_VERIFIED', 'ALFRED_CUSTOMER_NOT_PROVISIONED', 'ALFRED_INCORRECT_STATUS_CHANGE'] as const;
    app.post(
      '/seed-kyc',
      {
        schema: qa({
          operationId: 'qaSeedKyc',
          summary: 'Platform KYC approved with a generated identity',
          querystring: devCountryQuery,
          examples: { answer: { traderId: 'qa-1', country: 'BR', kycName: 'Joao Santos' } },
        }),
      },
      async (request, reply) =>
        sendData(
          request,
          reply,
          unwrap(await services.call(request, pspAlfredRpc.devSeedKyc, { traderId: traderOf(request).id, country: request.query.country })),
        ),
    );
    app.post(
      '/provision-customer',
      {
        schema: qa({
          operationId: 'qaProvisionCustomer',
          summary: 'Create the Alfred customer and submit KYC',
          errors: [...provisionErrors],
          examples: { answer: { customerId: 'cus_01HZX3', kycStatus: 'IN_REVIEW' } },
        }),
      },
      async (request, reply) =>
        sendData(
          request,
          reply,
          unwrap(await services.call(request, pspAlfredRpc.devProvisionCustomer, { traderId: traderOf(request).id })),
        ),
    );
    app.post(
      '/seed-kyc-and-provision',
      {
        schema: qa({
          operationId: 'qaSeedKycAndProvision',
          summary: 'seed-kyc then provision-customer',
          querystring: devCountryQuery,
          errors: [...provisionErrors],
          examples: {
            answer: {
              kyc: { traderId: 'qa-1', country: 'BR', kycName: 'Joao Santos' },
              customer: { customerId: 'cus_01HZX3', kycStatus: 'IN_REVIEW' },
            },
          },
        }),
      },
      async (request, reply) => {
        const traderId = traderOf(request).id;
        const kycResult = unwrap(await services.call(request, pspAlfredRpc.devSeedKyc, { traderId, country: request.query.country }));
        const customer = unwrap(await services.call(request, pspAlfredRpc.devProvisionCustomer, { traderId }));
        return sendData(request, reply, { kyc: kycResult, customer });
      },
    );
    app.post(
      '/approve-kyc',
      {
        schema: qa({
          operationId: 'qaApproveKyc',
          summary: "Drive Alfred's KYC to COMPLETED",
          errors: [...kycErrors],
          examples: { answer: { customerId: 'cus_01HZX3', kycStatus: 'COMPLETED' } },
        }),
      },
      async (request, reply) =>
        sendData(request, reply, unwrap(await services.call(request, pspAlfredRpc.devApproveKyc, { traderId: traderOf(request).id }))),
    );
    app.post(
      '/emit-kyc-status',
      {
        schema: qa({
          operationId: 'qaEmitKycStatus',
          summary: 'A KYC status through the webhook path',
          body: devEmitKycStatusBody,
          errors: [...kycErrors],
          examples: { body: { status: 'UPDATE_REQUIRED' }, answer: { customerId: 'cus_01HZX3', kycStatus: 'UPDATE_REQUIRED' } },
        }),
      },
      async (request, reply) =>
        sendData(
          request,
          reply,
          unwrap(
            await services.call(request, pspAlfredRpc.devEmitKycStatus, { traderId: traderOf(request).id, status: request.body.status }),
          ),
        ),
    );
    app.post(
      '/emit-offramp',
      {
        schema: qa({
          operationId: 'qaEmitOfframp',
          summary: "Walk the session's offramp to success or failure",
          description:
            'Success walks the order through Alfred to FIAT_TRANSFER_COMPLETED; failure to FAILED with `failureReason` `failure_reason` (default QA_SIMULATED_FAILURE; e.g. ACCOUNT_CLOSED, INVALID_ACCOUNT, HOLDER_NAME_MISMATCH, COMPLIANCE_REJECTED, LIMIT_EXCEEDED, BANK_UNAVAILABLE, DEPOSIT_NOT_RECEIVED). Each step is a signed webhook.',
          body: devEmitOfframpBody,
          errors: ['ALFRED_SESSION_NOT_OWNED', 'SESSION_NOT_FOUND', 'WITHDRAWAL_NOT_FOUND', 'ALFRED_INCORRECT_STATUS_CHANGE'],
          examples: {
            body: { session_id: exampleIds.session, scenario: 'success' },
            answer: {
              withdrawalId: exampleIds.withdrawal,
              steps: ['ON_CHAIN_DEPOSIT_RECEIVED', 'TRADE_COMPLETED', 'FIAT_TRANSFER_INITIATED', 'FIAT_TRANSFER_COMPLETED'],
              status: 'FIAT_TRANSFER_COMPLETED',
            },
          },
        }),
      },
      async (request, reply) => {
        const body = request.body;
        const traderId = traderOf(request).id;
        const { withdrawalId } = await requireSession(services, request, body.session_id, traderId);
        if (!withdrawalId) throw new AppError('WITHDRAWAL_NOT_FOUND', 'The session has not started a withdrawal yet');
        const req = { traderId, withdrawalId, scenario: body.scenario, failureReason: body.failure_reason };
        return sendData(request, reply, unwrap(await services.call(request, pspAlfredRpc.devEmitOfframp, req)));
      },
    );
    app.post(
      '/fund',
      {
        schema: operation({
          operationId: 'qaFund',
          summary: "Credit the trader's USDT balance",
          description: 'A deposit from `external:deposits` in the ledger; every call is a new one.',
          tag: 'qa',
          access: 'dev',
          body: devFundBody,
          answer: devFundAnswer,
          examples: {
            body: { amount: '1000', currency: 'USDT' },
            answer: {
              transfer_id: exampleIds.transfer,
              amount: '1000.000000',
              currency: 'USDT',
              available: '1000.000000',
              held: '0.000000',
            },
          },
        }),
      },
      async (request, reply) => {
        const body = request.body;
        const traderId = traderOf(request).id;
        // The schema checked the precision, so the conversion cannot fail here.
        const amountMinor = decimalToMinor(body.amount, 6)!;
        const transferId = await fundTrader(services, request, traderId, amountMinor);
        const balance = (await traderBalances(services, request, traderId)).find((b) => b.currency === 'USDT')!;
        const data = {
          transfer_id: transferId,
          amount: usdt(amountMinor),
          currency: body.currency,
          available: balance.available,
          held: balance.held,
        };
        return sendData(request, reply, data);
      },
    );
  };
}
