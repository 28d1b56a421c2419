import { z } from 'zod';
import { kycStatus, offrampStatus, pspAlfredEvents } from '@offramp/contracts';
import { enqueue, type EntityManager } from '@offramp/kit';
import type { WebhookBody } from '../alfred/schemas.ts';
import { findOfframpByTransaction, isNewerStatus, saveStatus } from '../offramps/store.ts';
import { findTraderBySubmission, saveKycStatus } from '../traders/traders.ts';

export type EventSource = 'webhook' | 'reconciliation';

/** What became of a partner event: applied (an event was published), or why not. */
export type IngestOutcome = 'applied' | 'duplicate' | 'unknown_reference' | 'stale' | 'ignored';

const optionalText = z.string().min(1).max(500).nullish().catch(null);

/**
 * The one path of every status Alfred reports, by webhook or by reconciliation: stored once per
 * (eventType, referenceId, status), the mirror moved, and the event published through the outbox,
 * all in the caller's transaction. Duplicates are stored as a count and change nothing.
 */
export async function ingestPartnerEvent(
  em: EntityManager,
  event: WebhookBody,
  ctx: { source: EventSource; rawBody: string | null; traceId: string },
): Promise<IngestOutcome> {
  // The insert claims the dedupe key: a concurrent copy waits here for the first to commit, then
  // finds the key taken and is a duplicate.
  const claimed = await em.execute<{ id: string }[]>(
    `insert into partner_events (event_type, reference_id, status, source, outcome, payload, raw_body) values (?, ?, ?, ?, 'pending', ?, ?)
     on conflict (event_type, reference_id, status) do nothing returning id`,
    [event.eventType, event.referenceId, event.status, ctx.source, JSON.stringify(event), ctx.rawBody],
  );
  if (claimed.length === 0) {
    await em.execute('update partner_events set duplicates = duplicates + 1 where event_type = ? and reference_id = ? and status = ?', [event.eventType, event.referenceId, event.status], 'run');
    return 'duplicate';
  }
  const outcome = await apply(em, event, ctx);
  await em.execute('update partner_events set outcome = ? where id = ?', [outcome, claimed[0]!.id], 'run');
  return outcome;
}

async function apply(em: EntityManager, event: WebhookBody, ctx: { source: EventSource; traceId: string }): Promise<IngestOutcome> {
  switch (event.eventType) {
    case 'OFFRAMP':
      return applyOfframp(em, event, ctx);
    case 'KYC':
    case 'KYB':
      return applyKyc(em, event, ctx);
    default:
      return 'ignored';
  }
}

async function applyOfframp(em: EntityManager, event: WebhookBody, ctx: { source: EventSource; traceId: string }): Promise<IngestOutcome> {
  const status = offrampStatus.safeParse(event.status);
  if (!status.success) return 'ignored';
  const offramp = await findOfframpByTransaction(em, event.referenceId);
  if (!offramp) return 'unknown_reference';
  const failureReason = status.data === 'FAILED' ? (optionalText.parse(event.metadata?.failureReason) ?? 'UNKNOWN') : null;
  const txHash = optionalText.parse(event.metadata?.txHash ?? event.metadata?.transactionHash);
  if (isNewerStatus(status.data, offramp.alfredStatus)) await saveStatus(em, offramp.withdrawalId, status.data, failureReason, txHash ?? null);
  // Every distinct status goes out, even one arriving after a terminal one: the withdrawal's state
  // machine (sessions) is the one to refuse it as an incorrect status change.
  await enqueue(
    em,
    pspAlfredEvents.offrampStatusChanged,
    { withdrawalId: offramp.withdrawalId, transactionId: event.referenceId, status: status.data, failureReason, source: ctx.source },
    { correlationId: offramp.withdrawalId, causationId: null, traceId: ctx.traceId },
  );
  return 'applied';
}

async function applyKyc(em: EntityManager, event: WebhookBody, ctx: { traceId: string }): Promise<IngestOutcome> {
  const status = kycStatus.safeParse(event.status);
  if (!status.success) return 'ignored';
  const trader = await findTraderBySubmission(em, event.referenceId);
  if (!trader?.customerId) return 'unknown_reference';
  // COMPLETED and FAILED are final for a submission; an earlier status arriving late is stale.
  const final = trader.kycStatus === 'COMPLETED' || trader.kycStatus === 'FAILED';
  if (final && status.data !== trader.kycStatus) return 'stale';
  await saveKycStatus(em, trader.traderId, status.data, event.metadata ?? null);
  await enqueue(
    em,
    pspAlfredEvents.kycStatusChanged,
    { traderId: trader.traderId, customerId: trader.customerId, status: status.data },
    { correlationId: trader.traderId, causationId: null, traceId: ctx.traceId },
  );
  return 'applied';
}
