import { z } from 'zod';
import { kycStatus, offrampStatus, pspAlfredEvents, type OfframpStatus } from '@offramp/contracts';
import { enqueue, executeBound, queryRowsBound, type EntityManager } from '@offramp/kit';
import { webhookBody, type WebhookBody } from '../alfred/schemas.ts';
import { reportAmountMismatch, type ReportedAmounts } from '../discrepancies/discrepancies.ts';
import { findOfframpByTransaction, saveStatus } from '../offramps/offramps-store.ts';
import { isNewerStatus, statusRank } from '../offramps/offramp-status.ts';
import { findTraderBySubmission, saveKycStatus } from '../traders/traders.ts';

export type EventSource = 'webhook' | 'reconciliation';

/** What became of a partner event: applied (an event was published), or why not. */
export type IngestOutcome = 'applied' | 'duplicate' | 'unknown_reference' | 'stale' | 'ignored';

export interface IngestContext {
  source: EventSource;
  rawBody: string | null;
  traceId: string;
  /** How far Alfred's fiat amount may drift from the accepted quote before it is a discrepancy. */
  tolerancePct: number;
  /**
   * Publish the status again although its key was already taken (reconciliation on request:
   * sessions treats a repeat as a no-op, and a status it never took reaches it this way).
   */
  republish?: boolean;
}

const optionalText = z.string().min(1).max(500).nullish().catch(null);

// Row schemas are built once: zod compiles an object schema on its first parse, so one built per
// call is compiled again on every call.
const claimedId = z.object({ id: z.string() });
const takenRow = z.object({ id: z.string(), outcome: z.string() });
// Statements here run with bound parameters on fixed texts (`queryRowsBound`, `executeBound`):
// Postgres parses each once per connection instead of on every call (planning was the largest
// share of its CPU per withdrawal).
const setOutcome = 'update partner_events set outcome = $1 where id = $2';

/**
 * Serialises everything that decides whether an OFFRAMP reference is known: the ingest of its
 * events and the store of Alfred's transaction id. Whichever commits first, the other sees it, so
 * an event arriving while the id is being stored is either applied at once or kept where the
 * store finds it. Take it before any row lock of the offramp (always in this order: no deadlock).
 */
export async function lockReference(em: EntityManager, referenceId: string): Promise<void> {
  await executeBound(em, "select pg_advisory_xact_lock(hashtext('offramp-ref:' || $1::text))", [referenceId]);
}

/**
 * `lockReference` for several references in one statement, in the order of their lock keys, so
 * that two transactions locking overlapping sets always wait for each other in the same order
 * (never a deadlock). Take them before any row lock of their offramps, as `lockReference`.
 */
export async function lockReferences(em: EntityManager, referenceIds: readonly string[]): Promise<void> {
  await executeBound(
    em,
    `select count(pg_advisory_xact_lock(h)) from (
       select distinct hashtext('offramp-ref:' || r) as h from jsonb_array_elements_text($1::jsonb) as r order by h) keys`,
    [JSON.stringify(referenceIds)],
  );
}

/**
 * The one path of every status Alfred reports, by webhook or by reconciliation: stored once per
 * (eventType, referenceId, status), the mirror moved, and the event published through the outbox,
 * all in the caller's transaction. Duplicates are stored as a count and change nothing, except
 * that an event kept for an unknown reference is applied by whichever copy finds it known.
 */
export async function ingestPartnerEvent(em: EntityManager, event: WebhookBody, ctx: IngestContext): Promise<IngestOutcome> {
  if (event.eventType === 'OFFRAMP') await lockReference(em, event.referenceId);
  // The insert claims the dedupe key: a concurrent copy waits here for the first to commit, then
  // finds the key taken and is a duplicate.
  const claimed = await queryRowsBound(
    em,
    claimedId,
    `insert into partner_events (event_type, reference_id, status, source, outcome, payload, raw_body) values ($1, $2, $3, $4, 'pending', $5, $6)
     on conflict (event_type, reference_id, status) do nothing returning id`,
    [event.eventType, event.referenceId, event.status, ctx.source, JSON.stringify(event), ctx.rawBody],
  );
  if (claimed.length > 0) {
    const outcome = await apply(em, event, ctx);
    await executeBound(em, setOutcome, [outcome, claimed[0]!.id]);
    return outcome;
  }
  const [taken] = await queryRowsBound(
    em,
    takenRow,
    'select id, outcome from partner_events where event_type = $1 and reference_id = $2 and status = $3 for update',
    [event.eventType, event.referenceId, event.status],
  );
  // The insert found the key taken, and nothing deletes a partner event.
  if (!taken) throw new Error('partner event key taken but its row is missing');
  if (!ctx.republish) await executeBound(em, 'update partner_events set duplicates = duplicates + 1 where id = $1', [taken.id]);
  // Being early never spends the key: an event kept as unknown is tried again by every copy.
  if (taken.outcome !== 'unknown_reference' && !ctx.republish) return 'duplicate';
  const outcome = await apply(em, event, ctx);
  if (outcome !== 'applied') return ctx.republish ? outcome : 'duplicate';
  await executeBound(em, setOutcome, ['applied', taken.id]);
  return 'applied';
}

/** An event kept for an unknown reference; its jsonb payload is the webhook body it was stored from. */
const keptRow = z.object({ id: z.string(), status: z.string(), source: z.enum(['webhook', 'reconciliation']), payload: webhookBody });

/**
 * Applies, in the order of the chain, the OFFRAMP events kept for `referenceId` while it was
 * unknown; each is published once and its row marked applied. The caller holds `lockReference`
 * and has just made the reference known. Returns how many were applied.
 */
export async function applyKeptEvents(
  em: EntityManager,
  referenceId: string,
  ctx: Pick<IngestContext, 'traceId' | 'tolerancePct'>,
): Promise<number> {
  const kept = await queryRowsBound(
    em,
    keptRow,
    `select id, status, source, payload from partner_events where event_type = 'OFFRAMP' and reference_id = $1 and outcome = 'unknown_reference'
     order by received_at, id for update`,
    [referenceId],
  );
  const rankOf = (status: string) => {
    const parsed = offrampStatus.safeParse(status);
    return parsed.success ? statusRank[parsed.data] : Number.MAX_SAFE_INTEGER;
  };
  // A stable sort keeps arrival order between equal ranks (FAILED and FIAT_TRANSFER_COMPLETED both end the chain).
  const ordered = [...kept].sort((a, b) => rankOf(a.status) - rankOf(b.status));
  let applied = 0;
  for (const row of ordered) {
    const outcome = await applyOfframp(em, row.payload, { ...ctx, source: row.source, rawBody: null });
    if (outcome === 'unknown_reference') continue;
    await executeBound(em, setOutcome, [outcome, row.id]);
    if (outcome === 'applied') applied++;
  }
  return applied;
}

async function apply(em: EntityManager, event: WebhookBody, ctx: IngestContext): Promise<IngestOutcome> {
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

/** What an OFFRAMP event says of its order: the status, and the failure reason, deposit hash and amounts it may carry. */
export interface OfframpReport {
  status: OfframpStatus;
  failureReason: string | null;
  txHash: string | null;
  amounts: ReportedAmounts;
}

/** Reads an OFFRAMP event; null when its status is not one of the chain's (the event is then ignored). */
export function readOfframpReport(event: WebhookBody): OfframpReport | null {
  const status = offrampStatus.safeParse(event.status);
  if (!status.success) return null;
  const metadata = event.metadata;
  return {
    status: status.data,
    failureReason: status.data === 'FAILED' ? (optionalText.parse(metadata?.failureReason) ?? 'UNKNOWN') : null,
    txHash: optionalText.parse(metadata?.txHash ?? metadata?.transactionHash) ?? null,
    amounts: {
      fromAmount: optionalText.parse(metadata?.fromAmount),
      toAmount: optionalText.parse(metadata?.toAmount),
      toCurrency: optionalText.parse(metadata?.toCurrency),
    },
  };
}

/** Whether an event carries any amount to check against the order. */
export const carriesAmounts = (amounts: ReportedAmounts) => Boolean(amounts.fromAmount || amounts.toAmount || amounts.toCurrency);

async function applyOfframp(em: EntityManager, event: WebhookBody, ctx: IngestContext): Promise<IngestOutcome> {
  const report = readOfframpReport(event);
  if (!report) return 'ignored';
  const offramp = await findOfframpByTransaction(em, event.referenceId);
  // Kept, not spent: the store of the transaction id (or reconciliation) applies it later.
  if (!offramp) return 'unknown_reference';
  const { status, failureReason, txHash, amounts } = report;
  if (isNewerStatus(status, offramp.alfredStatus)) await saveStatus(em, offramp.withdrawalId, status, failureReason, txHash);
  const cause = { correlationId: offramp.withdrawalId, causationId: null, traceId: ctx.traceId };
  if (carriesAmounts(amounts)) {
    await reportAmountMismatch(em, offramp, event.referenceId, amounts, { tolerancePct: ctx.tolerancePct, seenIn: ctx.source, cause });
  }
  // Every distinct status goes out, even one arriving after a terminal one: the withdrawal's state
  // machine (sessions) is the one to refuse it as an incorrect status change.
  await enqueue(
    em,
    pspAlfredEvents.offrampStatusChanged,
    { withdrawalId: offramp.withdrawalId, transactionId: event.referenceId, status, failureReason, source: ctx.source },
    cause,
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
