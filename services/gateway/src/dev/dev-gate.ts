import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Constant-time comparison of the X-Dev-Secret header with the configured secret. Both sides are
 * hashed first so that the buffers handed to timingSafeEqual always have the same length and the
 * comparison leaks neither content nor length.
 */
export function devSecretMatches(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  return timingSafeEqual(digest(given), digest(expected));
}

/** onRequest for the QA scope: without the right secret, the route answers exactly as an absent one. */
export function devGate(secret: string) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!devSecretMatches(request.headers['x-dev-secret'], secret)) return reply.callNotFound();
  };
}
