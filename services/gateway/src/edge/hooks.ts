import type { FastifyRequest, RequestPayload } from 'fastify';

/**
 * A refusal (`requireTrader`, `requireAdmin`) as a preParsing hook: it runs after the rate limiter
 * (whose onRequest hook is per route, so after every scope's onRequest hooks) and before the body
 * is read or validated, so an unauthenticated request is counted and refused without its body.
 */
export const beforeBody =
  (check: (request: FastifyRequest) => Promise<void>) =>
  async (request: FastifyRequest, _reply: unknown, payload: RequestPayload): Promise<RequestPayload> => {
    await check(request);
    return payload;
  };
