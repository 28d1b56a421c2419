import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SandboxContext } from '../state.ts';
import { parseOrRefuse } from '../transport/parse.ts';
import { valueOrThrow } from '../transport/refusals.ts';
import { createCustomer, createCustomerSchema, customerView, findCustomer, getCustomer } from './customers.ts';

const idParam = z.string().min(1).max(100);

/** `POST /customers/create`, `GET /customers/{customerId}`, `GET /customers/find/{email}/{country}`. */
export function customerRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  app.post('/customers/create', async (request, reply) => {
    const input = parseOrRefuse(createCustomerSchema, request.body);
    const customer = valueOrThrow(createCustomer(ctx, input));
    return reply.code(201).send({ customerId: customer.customerId, createdAt: customer.createdAt });
  });

  app.get('/customers/find/:email/:country', async (request) => {
    const { email, country } = parseOrRefuse(
      z.object({ email: z.string().min(1).max(254), country: z.string().min(1).max(2) }),
      request.params,
    );
    return customerView(ctx, valueOrThrow(findCustomer(ctx, email, country)));
  });

  app.get('/customers/:customerId', async (request) => {
    const { customerId } = parseOrRefuse(z.object({ customerId: idParam }), request.params);
    return customerView(ctx, valueOrThrow(getCustomer(ctx, customerId)));
  });
}
