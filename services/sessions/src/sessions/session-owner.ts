import type { Database } from '@offramp/kit';
import { ok, refuse, type ServiceResult } from '@offramp/contracts';
import { findSessionOwner } from './sessions-store.ts';

/** The gateway's requireSession: ok with the withdrawal id once initiated; SESSION_NOT_FOUND or ALFRED_SESSION_NOT_OWNED. */
export async function checkSessionOwner(
  db: Database,
  req: { traderId: string; sessionId: string },
): Promise<ServiceResult<{ sessionId: string; withdrawalId: string | null }>> {
  const session = await findSessionOwner(db.em.fork(), req.sessionId);
  if (!session) return refuse('SESSION_NOT_FOUND', 'Session not found');
  if (session.traderId !== req.traderId) return refuse('ALFRED_SESSION_NOT_OWNED', 'Session belongs to another user');
  return ok({ sessionId: req.sessionId, withdrawalId: session.status === 'consumed' ? session.withdrawalId : null });
}
