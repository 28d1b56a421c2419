import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { envelopeOf, refuse } from './refusals.ts';
import { isPartnerPath, pathOf } from './request-log.ts';

export interface Credentials {
  apiKey: string;
  apiSecret: string;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Compares digests so that neither the length nor the content of a secret leaks through timing. */
function sameSecret(given: string | string[] | undefined, expected: Buffer): boolean {
  if (typeof given !== 'string') return false;
  return timingSafeEqual(digest(given), expected);
}

/** Every partner-API call must carry the configured `api-key` and `api-secret` headers. */
export function registerAuth(app: FastifyInstance, credentials: Credentials): void {
  // The expected digests once, not per call.
  const apiKey = digest(credentials.apiKey);
  const apiSecret = digest(credentials.apiSecret);
  app.addHook('onRequest', async (request, reply) => {
    if (!isPartnerPath(pathOf(request))) return;
    const keyOk = sameSecret(request.headers['api-key'], apiKey);
    const secretOk = sameSecret(request.headers['api-secret'], apiSecret);
    if (keyOk && secretOk) return;
    const { statusCode, body } = envelopeOf(refuse('unauthorized'));
    return reply.code(statusCode).send(body);
  });
}
