import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  adminPartnerDeliveriesQuery,
  adminPartnerDeliveryAnswer,
  adminPartnerDeliveryListAnswer,
  partnerDeliveryParams,
  partnerRegistryParams,
  partnerWebhooksRpc,
  type PartnerDeliveryView,
} from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import { exampleIds } from '../edge/examples.ts';
import { operation } from '../edge/openapi.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { operatorOf } from './require-admin.ts';

const tag = 'admin';

/** A delivery as operators see it: snake_case, the payload as the partner received it. */
export function partnerDeliveryToWire(d: PartnerDeliveryView) {
  return {
    delivery_id: d.deliveryId,
    partner_id: d.partnerId,
    withdraw_request_id: d.withdrawRequestId,
    withdrawal_id: d.withdrawalId,
    webhook_id: d.webhookId,
    event_type: d.eventType,
    payload: d.payload,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.nextAttemptAt,
    last_status_code: d.lastStatusCode,
    last_error: d.lastError,
    delivered_at: d.deliveredAt,
    created_at: d.createdAt,
    on_hold: d.onHold,
    replays: d.replays.map((r) => ({ operator_id: r.operatorId, at: r.at, outcome: r.outcome, status_code: r.statusCode, error: r.error })),
  };
}

const partnerId = '0197a3c2-0000-7000-8000-0000000000c1';
const deliveryExample = {
  delivery_id: '0197a3c2-0000-7000-8000-0000000000d1',
  partner_id: partnerId,
  withdraw_request_id: 'WR-20300101-0001',
  withdrawal_id: exampleIds.withdrawal,
  webhook_id: 'msg_0197a3c2-0000-7000-8000-0000000000b1',
  event_type: 'withdrawal.state_changed',
  payload: {
    type: 'withdrawal.state_changed',
    timestamp: '2030-01-01T00:05:00.000Z',
    data: {
      withdrawRequestId: 'WR-20300101-0001',
      operationNo: exampleIds.withdrawal,
      withdrawalState: 'COMPLETED',
      status: 'completed',
      previousStatus: 'processing',
      fiatAmount: '100.00',
      fiatCurrency: 'BRL',
      amount: '20.049116',
      currency: 'USDT',
    },
  },
  status: 'delivered',
  attempts: 3,
  next_attempt_at: null,
  last_status_code: 200,
  last_error: null,
  delivered_at: '2030-01-01T00:05:07.000Z',
  created_at: '2030-01-01T00:05:00.100Z',
  on_hold: null,
  replays: [],
};

/**
 * The webhooks to a partner (docs/api.md "Webhooks to the partner"): operators read the delivery
 * log and replay a delivery; sessions sends it again with the same `webhook-id` and audits the
 * replay with the operator id from the JWT.
 */
export function adminPartnerWebhookRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/partners/:partnerId/deliveries',
      {
        schema: operation({
          operationId: 'adminListPartnerDeliveries',
          summary: "A partner's webhook deliveries, newest first",
          description:
            'One delivery per status change of a withdrawal the partner requested: `pending` (to be sent or retried; `next_attempt_at`, and `on_hold` when the partner is disabled or has no webhook URL), `delivered` (answered 2xx) or `failed` (given up after the last attempt). ' +
            'Filtered by `status`; paged: `limit` up to 100 (default 50).',
          tag,
          access: 'admin',
          params: partnerRegistryParams,
          querystring: adminPartnerDeliveriesQuery,
          answer: adminPartnerDeliveryListAnswer,
          errors: ['PARTNER_NOT_FOUND'],
          examples: { answer: { deliveries: [deliveryExample], total: 1, page: 1, limit: 50 } },
        }),
      },
      async (request, reply) => {
        const { page, limit, status } = request.query;
        const listed = await services.call(request, partnerWebhooksRpc.listDeliveries, {
          partnerId: request.params.partnerId,
          page,
          limit,
          ...(status && { status }),
        });
        const { deliveries, total } = unwrap(listed);
        return sendData(request, reply, { deliveries: deliveries.map(partnerDeliveryToWire), total, page, limit });
      },
    );

    app.post(
      '/partners/:partnerId/deliveries/:deliveryId/replay',
      {
        schema: operation({
          operationId: 'adminReplayPartnerDelivery',
          summary: 'Send a webhook delivery again',
          description:
            'Sends the delivery to the partner’s current webhook URL now, with the same `webhook-id` (the partner dedupes on it) and a fresh `webhook-timestamp` and signature, whatever its status; audited with the operator id (`replays`). ' +
            'Answers the delivery after it: a 2xx makes it `delivered`; otherwise a delivered one stays delivered, a failed one failed, a pending one keeps its retries. ' +
            'No body. Another partner’s or an unknown delivery: 404 PARTNER_DELIVERY_NOT_FOUND; the partner disabled or without a webhook URL: 409 PARTNER_WEBHOOK_UNAVAILABLE.',
          tag,
          access: 'admin',
          params: partnerDeliveryParams,
          answer: adminPartnerDeliveryAnswer,
          errors: ['PARTNER_DELIVERY_NOT_FOUND', 'PARTNER_WEBHOOK_UNAVAILABLE'],
          examples: {
            answer: {
              ...deliveryExample,
              attempts: 4,
              replays: [{ operator_id: 'op-1', at: '2030-01-01T09:00:00.000Z', outcome: 'delivered', status_code: 200, error: null }],
            },
          },
        }),
      },
      async (request, reply) => {
        const { partnerId: id, deliveryId } = request.params;
        const replayed = await services.call(request, partnerWebhooksRpc.replayDelivery, {
          partnerId: id,
          deliveryId,
          operatorId: operatorOf(request).id,
        });
        return sendData(request, reply, partnerDeliveryToWire(unwrap(replayed)));
      },
    );
  };
}
