import type { FastifyInstance } from 'fastify';
import type { SandboxContext } from '../state.ts';
import { parseOrRefuse } from '../transport/parse.ts';
import { valueOrThrow } from '../transport/refusals.ts';
import { allConfigs, createQuote, createQuoteSchema, quoteView } from './quotes.ts';

/** `POST /quotes` and `GET /allConfigs`. */
export function quoteRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  app.post('/quotes', async (request, reply) => {
    const input = parseOrRefuse(createQuoteSchema, request.body);
    return reply.code(201).send(quoteView(valueOrThrow(createQuote(ctx, input))));
  });

  app.get('/allConfigs', async () => allConfigs(ctx));
}
