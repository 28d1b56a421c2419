import type { FastifyRequest } from 'fastify';
import { sessionsRpc } from '@offramp/contracts';
import { unwrap, type Services } from './services.ts';

/**
 * requireSession(sessionId, traderId): the session must exist and be the trader's, else the
 * sessions service's refusal (ALFRED_SESSION_NOT_OWNED 403, SESSION_NOT_FOUND 404) is the answer
 * and the caller makes no further call.
 */
export async function requireSession(services: Services, request: FastifyRequest, sessionId: string, traderId: string) {
  return unwrap(await services.call(request, sessionsRpc.checkSessionOwner, { traderId, sessionId }));
}
