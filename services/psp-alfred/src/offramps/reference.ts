import type { EntityManager } from '@offramp/kit';
import { applyKeptEvents, lockReference } from '../webhooks/ingest.ts';
import { recordTransactionId } from './offramps-store.ts';

/**
 * Keeps Alfred's transaction id for a withdrawal's intent, the moment the reference becomes known:
 * under the reference's lock, so an event arriving meanwhile is either applied by the webhook
 * itself or kept and applied here, in rank order. Returns how many kept events were applied.
 */
export async function storeTransactionId(
  em: EntityManager,
  withdrawalId: string,
  transactionId: string,
  ctx: { traceId: string; tolerancePct: number },
): Promise<number> {
  await lockReference(em, transactionId);
  await recordTransactionId(em, withdrawalId, transactionId);
  return applyKeptEvents(em, transactionId, ctx);
}
