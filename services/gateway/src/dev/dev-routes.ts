import type { FastifyInstance } from 'fastify';
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
import { routeSchema, type RouteDoc } from '../edge/openapi.ts';
import { parseInput } from '../edge/parse-input.ts';
import { requireSession } from '../edge/require-session.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { usdt } from '../edge/wire.ts';
import { devGate } from './dev-gate.ts';
import { fundTrader } from './fund.ts';

const tag = 'qa';
const anyAnswer = z.record(z.string(), z.unknown());
const doc = (d: Omit<RouteDoc, 'tag' | 'auth'>) => routeSchema({ tag, auth: 'jwt+dev-secret', answer: anyAnswer, ...d });

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
  return async (app: FastifyInstance) => {
    app.addHook('onRequest', devGate(deps.secret));
    if (deps.canSignTokens) {
      app.post(
        '/token',
        { schema: routeSchema({ tag, auth: 'dev-secret', summary: 'A signed dev JWT for the playground', body: devTokenBody, answer: devTokenAnswer }) },
        async (request, reply) => {
          const body = parseInput(devTokenBody, request.body);
          const token = signDevToken(app, body.sub, body.role);
          const { exp } = app.jwt.decode<{ exp: number }>(token)!;
          const expiresIn = exp - Math.floor(Date.now() / 1000);
          return sendData(request, reply, { token, token_type: 'Bearer', expires_in: expiresIn, expires_at: new Date(exp * 1000).toISOString() });
        },
      );
    }
    await app.register(traderActions(deps.services));
  };
}

function traderActions(services: Services) {
  return async (app: FastifyInstance) => {
    app.addHook('preHandler', requireTrader);
    app.post('/seed-kyc', { schema: doc({ summary: 'Platform KYC approved with a generated identity', query: devCountryQuery }) }, async (request, reply) => {
      const { country } = parseInput(devCountryQuery, request.query);
      return sendData(request, reply, unwrap(await services.call(request, pspAlfredRpc.devSeedKyc, { traderId: traderOf(request).id, country })));
    });
    app.post('/provision-customer', { schema: doc({ summary: 'Create the Alfred customer and submit KYC' }) }, async (request, reply) =>
      sendData(request, reply, unwrap(await services.call(request, pspAlfredRpc.devProvisionCustomer, { traderId: traderOf(request).id }))),
    );
    app.post('/seed-kyc-and-provision', { schema: doc({ summary: 'seed-kyc then provision-customer', query: devCountryQuery }) }, async (request, reply) => {
      const { country } = parseInput(devCountryQuery, request.query);
      const traderId = traderOf(request).id;
      const kycResult = unwrap(await services.call(request, pspAlfredRpc.devSeedKyc, { traderId, country }));
      const customer = unwrap(await services.call(request, pspAlfredRpc.devProvisionCustomer, { traderId }));
      return sendData(request, reply, { kyc: kycResult, customer });
    });
    app.post('/approve-kyc', { schema: doc({ summary: "Drive Alfred's KYC to COMPLETED" }) }, async (request, reply) =>
      sendData(request, reply, unwrap(await services.call(request, pspAlfredRpc.devApproveKyc, { traderId: traderOf(request).id }))),
    );
    app.post('/emit-kyc-status', { schema: doc({ summary: 'A KYC status through the webhook path', body: devEmitKycStatusBody }) }, async (request, reply) => {
      const { status } = parseInput(devEmitKycStatusBody, request.body);
      return sendData(request, reply, unwrap(await services.call(request, pspAlfredRpc.devEmitKycStatus, { traderId: traderOf(request).id, status })));
    });
    app.post('/emit-offramp', { schema: doc({ summary: "Walk the session's offramp to success or failure", body: devEmitOfframpBody }) }, async (request, reply) => {
      const body = parseInput(devEmitOfframpBody, request.body);
      const traderId = traderOf(request).id;
      const { withdrawalId } = await requireSession(services, request, body.session_id, traderId);
      if (!withdrawalId) throw new AppError('WITHDRAWAL_NOT_FOUND', 'The session has not started a withdrawal yet');
      const req = { traderId, withdrawalId, scenario: body.scenario };
      return sendData(request, reply, unwrap(await services.call(request, pspAlfredRpc.devEmitOfframp, req)));
    });
    app.post('/fund', { schema: doc({ summary: "Credit the trader's USDT balance", body: devFundBody, answer: devFundAnswer }) }, async (request, reply) => {
      const body = parseInput(devFundBody, request.body);
      const traderId = traderOf(request).id;
      // The schema checked the precision, so the conversion cannot fail here.
      const amountMinor = decimalToMinor(body.amount, 6)!;
      const transferId = await fundTrader(services, request, traderId, amountMinor);
      const balance = (await traderBalances(services, request, traderId)).find((b) => b.currency === 'USDT')!;
      const data = { transfer_id: transferId, amount: usdt(amountMinor), currency: body.currency, available: balance.available, held: balance.held };
      return sendData(request, reply, data);
    });
  };
}
