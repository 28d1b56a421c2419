import { z } from 'zod';
import { defineRpc } from './envelope.ts';
import { decimalString, pageNumber, uuidInput } from './http.ts';
import { currencyCode } from './money.ts';
import { partnerRegistryParams, partnerWithdrawalState } from './partners.ts';
import { payoutFailureClass } from './payout-failures.ts';
import { serviceResult } from './result.ts';
import { rpcSubject } from './subjects.ts';
import { decimalAmount, principalId, withdrawalStatus } from './withdrawals.ts';

/**
 * Webhooks to the partner (issue 13): every status change of a withdrawal a partner requested is
 * POSTed to the partner's webhook URL in the Standard Webhooks format (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`), at least once, with retries;
 * sessions keeps the delivery log and operators replay a delivery.
 */

export const partnerWebhookEventTypes = ['withdrawal.state_changed'] as const;
export const partnerWebhookEventType = z.enum(partnerWebhookEventTypes);

/** The JSON body the partner receives (its exact bytes are what the signature covers). */
export const partnerWebhookPayload = z.object({
  type: z.literal('withdrawal.state_changed'),
  /** When the status changed (the status change's own time, the same on every attempt). */
  timestamp: z.iso.datetime({ offset: true }),
  data: z.object({
    /** The partner's own id of the request. */
    withdrawRequestId: z.string(),
    /** Our withdrawal id. */
    operationNo: z.uuid(),
    /** The partner's state (`partnerStateOf`): NEW, PROCESSING, COMPLETED, FAILED or REJECTED. */
    withdrawalState: partnerWithdrawalState,
    /** Our status, and the one it left (null for the first). */
    status: withdrawalStatus,
    previousStatus: withdrawalStatus.nullable(),
    fiatAmount: decimalAmount,
    fiatCurrency: currencyCode,
    /** The USDT held for the withdrawal, a decimal string with 6 decimals. */
    amount: decimalString,
    currency: z.literal('USDT'),
    /**
     * FAILED only (the payout failed at the PSP): the class of its reason and an English message
     * (as the query's `failure`). A REJECTED withdrawal carries no reason: risk's and operators'
     * reasons are not shared.
     */
    reason: z.string().optional(),
    failureClass: payoutFailureClass.optional(),
  }),
});
export type PartnerWebhookPayload = z.infer<typeof partnerWebhookPayload>;

/** `pending`: to be sent (or retried); `delivered`: the partner answered 2xx; `failed`: given up after the last attempt. */
export const partnerDeliveryStatuses = ['pending', 'delivered', 'failed'] as const;
export const partnerDeliveryStatus = z.enum(partnerDeliveryStatuses);
export type PartnerDeliveryStatus = z.infer<typeof partnerDeliveryStatus>;

/** Why a pending delivery is not being sent: the partner is disabled, or has no webhook URL. */
export const partnerDeliveryHold = z.enum(['partner_disabled', 'no_webhook_url']);

/** An operator's replay of a delivery (append-only audit) and what the partner answered. */
export const partnerDeliveryReplay = z.object({
  operatorId: z.string(),
  at: z.iso.datetime({ offset: true }),
  outcome: z.enum(['delivered', 'failed']),
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
});

export const partnerDeliveryView = z.object({
  deliveryId: z.uuid(),
  partnerId: z.uuid(),
  withdrawRequestId: z.string(),
  withdrawalId: z.uuid(),
  /** The `webhook-id` header: the same on every attempt and replay, for the partner to dedupe. */
  webhookId: z.string(),
  eventType: partnerWebhookEventType,
  payload: partnerWebhookPayload,
  status: partnerDeliveryStatus,
  /** Attempts so far, replays included. */
  attempts: z.number().int(),
  /** When a pending delivery is next tried (null once delivered or failed). */
  nextAttemptAt: z.iso.datetime({ offset: true }).nullable(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: z.iso.datetime({ offset: true }).nullable(),
  createdAt: z.iso.datetime({ offset: true }),
  /** Set while a pending delivery waits for the partner (enabled again, or given a webhook URL). */
  onHold: partnerDeliveryHold.nullable(),
  replays: z.array(partnerDeliveryReplay),
});
export type PartnerDeliveryView = z.infer<typeof partnerDeliveryView>;

export const partnerWebhooksRpc = {
  /** A partner's deliveries, newest first, optionally of one status; PARTNER_NOT_FOUND for an unknown partner. */
  listDeliveries: defineRpc(
    rpcSubject('sessions', 'list-partner-deliveries'),
    z.object({
      partnerId: z.uuid(),
      status: partnerDeliveryStatus.optional(),
      page: z.number().int().min(1),
      limit: z.number().int().min(1).max(100),
    }),
    serviceResult(z.object({ deliveries: z.array(partnerDeliveryView), total: z.number().int() })),
  ),
  /**
   * Sends the delivery again now, with the same `webhook-id` and a fresh timestamp and signature,
   * audited with the operator; answers the delivery after it. PARTNER_DELIVERY_NOT_FOUND (also for
   * another partner's delivery); PARTNER_WEBHOOK_UNAVAILABLE (409) when the partner is disabled or
   * has no webhook URL.
   */
  replayDelivery: defineRpc(
    rpcSubject('sessions', 'replay-partner-delivery'),
    z.object({ partnerId: z.uuid(), deliveryId: z.uuid(), operatorId: principalId }),
    serviceResult(partnerDeliveryView),
  ),
};

// The operator routes (`/api/admin/partners/:partnerId/deliveries`), snake_case on the wire.

export const partnerDeliveryParams = partnerRegistryParams.extend({ deliveryId: uuidInput });
export const adminPartnerDeliveriesQuery = z.object({
  page: pageNumber(1_000_000, 1),
  limit: pageNumber(100, 50),
  status: partnerDeliveryStatus.optional(),
});

const timestamp = z.iso.datetime({ offset: true });

export const adminPartnerDeliveryAnswer = z.object({
  delivery_id: z.uuid(),
  partner_id: z.uuid(),
  withdraw_request_id: z.string(),
  withdrawal_id: z.uuid(),
  webhook_id: z.string(),
  event_type: partnerWebhookEventType,
  /** The body as the partner receives it (camelCase, as sent). */
  payload: partnerWebhookPayload,
  status: partnerDeliveryStatus,
  attempts: z.number().int(),
  next_attempt_at: timestamp.nullable(),
  last_status_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  delivered_at: timestamp.nullable(),
  created_at: timestamp,
  on_hold: partnerDeliveryHold.nullable(),
  replays: z.array(
    z.object({
      operator_id: z.string(),
      at: timestamp,
      outcome: z.enum(['delivered', 'failed']),
      status_code: z.number().int().nullable(),
      error: z.string().nullable(),
    }),
  ),
});
export const adminPartnerDeliveryListAnswer = z.object({
  deliveries: z.array(adminPartnerDeliveryAnswer),
  total: z.number().int(),
  page: z.number().int(),
  limit: z.number().int(),
});
