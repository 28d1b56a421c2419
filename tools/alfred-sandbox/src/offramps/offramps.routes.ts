import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SandboxContext } from '../state.ts';
import { parseOrRefuse } from '../transport/parse.ts';
import { valueOrThrow } from '../transport/refusals.ts';
import { createOfframp, createOfframpSchema, getOfframp, listOfframps, offrampView } from './offramps.ts';

const id = z.string().min(1).max(100);
const idempotencyHeader = z.object({ 'idempotency-key': z.string().min(1).max(200).optional() });

/** `POST /offramp`, `GET /offramp/{transactionId}`, and the assumed `GET /offramp?customerId=&quoteId=`. */
export function offrampRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  app.post('/offramp', async (request, reply) => {
    const { 'idempotency-key': idempotencyKey } = parseOrRefuse(idempotencyHeader, request.headers);
    const input = parseOrRefuse(createOfframpSchema, request.body);
    return reply.code(201).send(offrampView(valueOrThrow(createOfframp(ctx, input, idempotencyKey))));
  });

  app.get('/offramp/:transactionId', async (request) => {
    const { transactionId } = parseOrRefuse(z.object({ transactionId: id }), request.params);
    return offrampView(valueOrThrow(getOfframp(ctx, transactionId)));
  });

  app.get('/offramp', async (request) => {
    const { customerId, quoteId } = parseOrRefuse(z.object({ customerId: id, quoteId: id.optional() }), request.query);
    return listOfframps(ctx, customerId, quoteId).map(offrampView);
  });
}
