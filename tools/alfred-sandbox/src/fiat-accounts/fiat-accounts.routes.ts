import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SandboxContext } from '../state.ts';
import { parseOrRefuse } from '../transport/parse.ts';
import { valueOrThrow } from '../transport/refusals.ts';
import { deleteFiatAccount, fiatAccountView, listFiatAccounts, registerFiatAccount, registerFiatAccountSchema } from './fiat-accounts.ts';

const id = z.string().min(1).max(100);

/** `POST /fiatAccounts`, `GET /fiatAccounts?customerId=`, `DELETE /fiatAccounts/{customerId}/{fiatAccountId}`. */
export function fiatAccountRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  app.post('/fiatAccounts', async (request, reply) => {
    const input = parseOrRefuse(registerFiatAccountSchema, request.body);
    const account = valueOrThrow(registerFiatAccount(ctx, input));
    return reply.code(201).send(fiatAccountView(account));
  });

  app.get('/fiatAccounts', async (request) => {
    const { customerId } = parseOrRefuse(z.object({ customerId: id }), request.query);
    return valueOrThrow(listFiatAccounts(ctx, customerId)).map(fiatAccountView);
  });

  app.delete('/fiatAccounts/:customerId/:fiatAccountId', async (request, reply) => {
    const { customerId, fiatAccountId } = parseOrRefuse(z.object({ customerId: id, fiatAccountId: id }), request.params);
    valueOrThrow(deleteFiatAccount(ctx, customerId, fiatAccountId));
    return reply.code(204).send();
  });
}
