import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { envelopeOf, refuse } from './refusals.ts';
import { isPartnerPath, pathOf } from './request-log.ts';

export interface Credentials {
  apiKey: string;
  apiSecret: string;
}

/** Compares digests so that neither the length nor the content of a secret leaks through timing. */
function sameSecret(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** Every partner-API call must carry the configured `api-key` and `api-secret` headers. */
export function registerAuth(app: FastifyInstance, credentials: Credentials): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!isPartnerPath(pathOf(request))) return;
    const keyOk = sameSecret(request.headers['api-key'], credentials.apiKey);
    const secretOk = sameSecret(request.headers['api-secret'], credentials.apiSecret);
    if (keyOk && secretOk) return;
    const { statusCode, body } = envelopeOf(refuse('unauthorized'));
    return reply.code(statusCode).send(body);
  });
}
