import type { z } from 'zod';
import { inTransaction, newId, type Database, type EntityManager, type Logger } from '@offramp/kit';
import {
  failureMessage,
  minorToDecimal,
  ok,
  partnerStateOf,
  refuse,
  type Envelope,
  type PartnerDeliveryView,
  type partnerWebhooksRpc,
  type PartnerWebhookPayload,
  type ServiceResult,
  type withdrawalEvents,
} from '@offramp/contracts';
import { auditPartner } from '../partners/partners-store.ts';
import type { PartnerWebhooksMetrics } from './partner-webhooks-metrics.ts';
import {
  claimForReplay,
  findDeliveryRow,
  insertDelivery,
  insertReplay,
  listDeliveryRows,
  partnerExists,
  partnerRequestOf,
  recordOutcome,
  toViews,
} from './partner-webhooks-store.ts';
import { sendWebhook, urlForLog } from './sender.ts';

type StatusChanged = z.output<typeof withdrawalEvents.statusChanged.payload>;
type Req<K extends keyof typeof partnerWebhooksRpc> = z.output<(typeof partnerWebhooksRpc)[K]['request']>;

/** The retry schedule: the first retry after `baseMs`, doubling per attempt up to `maxMs`, `maxAttempts` attempts in all. */
export interface Backoff {
  baseMs: number;
  maxMs: number;
  maxAttempts: number;
}

/**
 * When to try again after `attempts` failed attempts, or null when that was the last one. The
 * delay doubles per attempt up to the maximum, and is drawn between half and all of it (jitter), so
 * that the deliveries of a partner that was down do not all come back at the same instant.
 */
export function retryAt(now: Date, attempts: number, backoff: Backoff, random: () => number = Math.random): Date | null {
  if (attempts >= backoff.maxAttempts) return null;
  const full = Math.min(backoff.baseMs * 2 ** Math.max(0, attempts - 1), backoff.maxMs);
  return new Date(now.getTime() + Math.round(full / 2 + (random() * full) / 2));
}

/** The `webhook-id` of the delivery a status-changed event makes: from the event's envelope id, so a redelivered event makes the same one. */
export const webhookIdOf = (eventId: string) => `msg_${eventId}`;

/** The body the partner receives for a status change of its request. */
export function webhookPayloadOf(event: { occurredAt: string; payload: StatusChanged }, withdrawRequestId: string): PartnerWebhookPayload {
  const p = event.payload;
  return {
    type: 'withdrawal.state_changed',
    timestamp: event.occurredAt,
    data: {
      withdrawRequestId,
      operationNo: p.withdrawalId,
      withdrawalState: partnerStateOf(p.to, p.failureClass),
      status: p.to,
      previousStatus: p.from,
      fiatAmount: p.fiatAmount,
      fiatCurrency: p.fiatCurrency,
      amount: minorToDecimal(p.debitedMinor, 6),
      currency: 'USDT',
      // A payout that failed: its class and the message the partner API's query shows. Our own reasons
      // are not sent: risk's rule codes and screening hits must not tip anyone off, operators' notes
      // and the PSP's raw reasons are internal.
      ...(p.to === 'rejected' && p.failureClass ? { reason: failureMessage(p.failureClass, 'en'), failureClass: p.failureClass } : {}),
    },
  };
}

/**
 * In the inbox transaction of a `withdrawals.status-changed` event: when the withdrawal was
 * requested by a partner, records the delivery of its webhook (pending, due now), sent by the
 * dispatcher after the commit. A redelivered event finds its webhook id and records nothing.
 */
/** Whether the withdrawal was made by a partner's request (one read; the request is stored before the withdrawal exists). */
export async function isPartnerWithdrawal(em: EntityManager, withdrawalId: string): Promise<boolean> {
  return (await partnerRequestOf(em, withdrawalId)) !== null;
}

/**
 * `isPartnerWithdrawal` asked once per withdrawal rather than once per status change: "not a
 * partner's" never changes, so it is remembered from the first answer, or from the initiation that
 * created the withdrawal (`learn`), until the withdrawal's terminal status change has been asked
 * about. Bounded: past `limit` the oldest are forgotten (and read again if asked).
 */
export class PartnerWithdrawals {
  readonly #notPartner = new Set<string>();
  readonly #limit: number;
  constructor(limit = 20_000) {
    this.#limit = limit;
  }

  learn(withdrawalId: string, partner: boolean): void {
    if (partner) return;
    this.#notPartner.add(withdrawalId);
    if (this.#notPartner.size > this.#limit) this.#notPartner.delete(this.#notPartner.values().next().value!);
  }

  /** Whether this status change is of a partner's withdrawal. */
  async concerns(em: EntityManager, change: Pick<StatusChanged, 'withdrawalId' | 'to'>): Promise<boolean> {
    const id = change.withdrawalId;
    // No status change follows a terminal one (a redelivered one reads again).
    const last = change.to === 'completed' || change.to === 'rejected';
    if (this.#notPartner.has(id)) {
      if (last) this.#notPartner.delete(id);
      return false;
    }
    const partner = await isPartnerWithdrawal(em, id);
    if (!last) this.learn(id, partner);
    return partner;
  }
}

export async function recordPartnerDelivery(
  em: EntityManager,
  envelope: Envelope<StatusChanged>,
  log: Logger,
): Promise<'recorded' | 'not_a_partner_withdrawal' | 'already_recorded'> {
  const request = await partnerRequestOf(em, envelope.payload.withdrawalId);
  if (!request) return 'not_a_partner_withdrawal';
  const delivery = {
    deliveryId: newId(),
    partnerId: request.partnerId,
    withdrawRequestId: request.withdrawRequestId,
    withdrawalId: envelope.payload.withdrawalId,
    webhookId: webhookIdOf(envelope.id),
    payload: webhookPayloadOf(envelope, request.withdrawRequestId),
  };
  const recorded = await insertDelivery(em, delivery);
  if (recorded) {
    log.info(
      { partnerId: delivery.partnerId, deliveryId: delivery.deliveryId, webhookId: delivery.webhookId, to: envelope.payload.to },
      'partner webhook recorded',
    );
  }
  return recorded ? 'recorded' : 'already_recorded';
}

export interface PartnerWebhookDeps {
  db: Database;
  log: Logger;
  metrics: PartnerWebhooksMetrics;
  backoff: Backoff;
  /** How long a replay waits for the partner. */
  replayTimeoutMs: number;
}

/** The delivery log, newest first. */
export async function listDeliveries(
  db: Database,
  req: Req<'listDeliveries'>,
): Promise<ServiceResult<{ deliveries: PartnerDeliveryView[]; total: number }>> {
  const em = db.em.fork();
  if (!(await partnerExists(em, req.partnerId))) return refuse('PARTNER_NOT_FOUND', 'Partner not found');
  const { rows, total } = await listDeliveryRows(em, req);
  return ok({ deliveries: await toViews(em, rows), total });
}

/**
 * An operator's replay: sends the delivery again now, under the same `webhook-id` with a fresh
 * timestamp and signature, then records the outcome and the operator's replay (append-only, and in
 * the partner's audit) in one transaction, and answers the delivery after it. A delivered delivery
 * stays delivered whatever the replay's answer; a failed one becomes delivered on a 2xx; a pending
 * one goes on with its schedule.
 */
export async function replayDelivery(deps: PartnerWebhookDeps, req: Req<'replayDelivery'>): Promise<ServiceResult<PartnerDeliveryView>> {
  const leaseMs = deps.replayTimeoutMs + 30_000;
  const claim = await inTransaction(deps.db, (em) => claimForReplay(em, req.partnerId, req.deliveryId, leaseMs));
  if (claim.found === 'not_found') return refuse('PARTNER_DELIVERY_NOT_FOUND', 'Partner webhook delivery not found');
  if (claim.found === 'unavailable') return refuse('PARTNER_WEBHOOK_UNAVAILABLE', 'The partner is disabled or has no webhook URL');
  const d = claim.delivery;
  const result = await sendWebhook({
    url: d.webhookUrl,
    secret: d.webhookSecret,
    webhookId: d.webhookId,
    body: d.body,
    timeoutMs: deps.replayTimeoutMs,
  });
  const next = result.outcome === 'failed' && d.status === 'pending' ? retryAt(new Date(), d.attempts, deps.backoff) : null;
  const view = await inTransaction(deps.db, async (em) => {
    await recordOutcome(em, d, result, next);
    await insertReplay(em, d.deliveryId, req.operatorId, result);
    // The partner's own audit trail names every operator action on it, the replays too.
    await auditPartner(em, {
      partnerId: d.partnerId,
      action: 'delivery_replayed',
      actor: `operator:${req.operatorId}`,
      detail: { deliveryId: d.deliveryId, webhookId: d.webhookId, outcome: result.outcome, statusCode: result.statusCode },
    });
    const row = await findDeliveryRow(em, d.deliveryId);
    return (await toViews(em, row ? [row] : []))[0];
  });
  deps.metrics.attempts.inc({ source: 'replay', outcome: result.outcome === 'delivered' ? 'delivered' : next ? 'retry' : 'failed' });
  deps.log.info(
    {
      operatorId: req.operatorId,
      partnerId: d.partnerId,
      deliveryId: d.deliveryId,
      webhookId: d.webhookId,
      url: urlForLog(d.webhookUrl),
      outcome: result.outcome,
      statusCode: result.statusCode,
      ...(result.outcome === 'failed' ? { error: result.error } : {}),
    },
    'partner webhook replayed by an operator',
  );
  if (!view) throw new Error(`delivery ${d.deliveryId} vanished after its replay`);
  return ok(view);
}
