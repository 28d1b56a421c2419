import type { FastifyInstance } from 'fastify';
import { AlfredError, envelopeOf, refuse } from './refusals.ts';

/** One place writes Alfred's error envelope; a 5xx never carries internals. */
export function registerErrorEnvelope(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request, reply) => {
    if (err instanceof AlfredError) {
      const { statusCode, body } = envelopeOf(err.refusal);
      return reply.code(statusCode).send(body);
    }
    const status = typeof err === 'object' && err !== null && 'statusCode' in err ? Number(err.statusCode) : 500;
    if (status >= 400 && status < 500) {
      const message = err instanceof Error ? err.message : 'Bad request';
      const { body } = envelopeOf(refuse('bad_request', undefined, message));
      return reply.code(status).send(body);
    }
    request.log.error({ err }, 'unhandled error');
    const { statusCode, body } = envelopeOf(refuse('internal_error'));
    return reply.code(statusCode).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const { statusCode, body } = envelopeOf(
      refuse('not_found', undefined, `Route ${request.method} ${request.url.split('?')[0]} not found`),
    );
    return reply.code(statusCode).send(body);
  });
}
