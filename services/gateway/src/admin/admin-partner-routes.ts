import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  adminCreatePartnerBody,
  adminLinkPartnerTraderBody,
  adminPartnerAnswer,
  adminPartnerListAnswer,
  adminPartnersQuery,
  adminPartnerWebhookBody,
  adminPartnerWithSecretsAnswer,
  partnerRegistryParams,
  partnersRpc,
  partnerTraderParams,
} from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import { operation } from '../edge/openapi.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { adminPartnerToWire, adminPartnerWithSecretsToWire } from './admin-partner-wire.ts';
import { operatorOf } from './require-admin.ts';

const tag = 'admin';

const partnerExample = {
  partner_id: '0197a3c2-0000-7000-8000-0000000000c1',
  name: 'Example Exchange',
  api_key_id: 'pk_3f1c9a0b7d2e4f6a8b0c1d2e3f4a5b6c',
  status: 'active',
  webhook_url: 'https://partner.example.com/offramp/webhooks',
  traders: [{ trader_id: 'trader-42', user_name: 'Joao Santos', linked_at: '2030-01-01T00:00:00.000Z' }],
  created_at: '2030-01-01T00:00:00.000Z',
  updated_at: '2030-01-01T00:00:00.000Z',
};
const secretsExample = {
  api_secret: '9c2f4e6a8b0d1f3e5a7c9e1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d0f',
  webhook_secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw3GLGqXN/ouI=',
};

/**
 * The partner registry (docs/api.md "Partner API"), snake_case on the wire (sessions' camelCase
 * views mapped by admin-partner-wire.ts): operators create partners (the secrets are
 * shown once, in the create and rotate answers), list them (paged, newest first) and read them
 * (never the secrets), disable and enable them, rotate their secrets, set their webhook URL and
 * link the traders each may act for. Sessions audits every change with the operator id from the JWT.
 */
export function adminPartnerRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.post(
      '/partners',
      {
        schema: operation({
          operationId: 'adminCreatePartner',
          summary: 'Create a partner',
          description:
            'Answers the partner with its `api_key_id` (the partner sends it in `x-api-key`), `api_secret` (the key of the `x-payload-hash` HMAC) and `webhook_secret` (the Standard Webhooks secret of our webhooks to it). ' +
            'The two secrets are shown this once: they are in no other answer and never logged.',
          tag,
          access: 'admin',
          status: 201,
          body: adminCreatePartnerBody,
          answer: adminPartnerWithSecretsAnswer,
          examples: {
            body: { name: 'Example Exchange', webhook_url: 'https://partner.example.com/offramp/webhooks' },
            answer: { ...partnerExample, traders: [], ...secretsExample },
          },
        }),
      },
      async (request, reply) => {
        const created = await services.call(request, partnersRpc.create, {
          name: request.body.name,
          webhookUrl: request.body.webhook_url ?? null,
          operatorId: operatorOf(request).id,
        });
        return sendData(request, reply, adminPartnerWithSecretsToWire(unwrap(created)), 201);
      },
    );

    app.get(
      '/partners',
      {
        schema: operation({
          operationId: 'adminListPartners',
          summary: 'The partners, newest first',
          description:
            'Each partner with its linked traders; never a secret. Filtered by `status`; paged: `limit` up to 100 (default 50); empty is `[]`.',
          tag,
          access: 'admin',
          querystring: adminPartnersQuery,
          answer: adminPartnerListAnswer,
          examples: { answer: { partners: [partnerExample], total: 1, page: 1, limit: 50 } },
        }),
      },
      async (request, reply) => {
        const { page, limit, status } = request.query;
        const { partners, total } = await services.call(request, partnersRpc.list, { page, limit, ...(status && { status }) });
        return sendData(request, reply, { partners: partners.map(adminPartnerToWire), total, page, limit });
      },
    );

    app.get(
      '/partners/:partnerId',
      {
        schema: operation({
          operationId: 'adminGetPartner',
          summary: 'One partner',
          description: 'The partner with its linked traders; never a secret.',
          tag,
          access: 'admin',
          params: partnerRegistryParams,
          answer: adminPartnerAnswer,
          errors: ['PARTNER_NOT_FOUND'],
          examples: { answer: partnerExample },
        }),
      },
      async (request, reply) => {
        const partner = await services.call(request, partnersRpc.get, { partnerId: request.params.partnerId });
        return sendData(request, reply, adminPartnerToWire(unwrap(partner)));
      },
    );

    for (const [action, status] of [
      ['disable', 'disabled'],
      ['enable', 'active'],
    ] as const) {
      app.post(
        `/partners/:partnerId/${action}`,
        {
          schema: operation({
            operationId: action === 'disable' ? 'adminDisablePartner' : 'adminEnablePartner',
            summary: action === 'disable' ? 'Disable a partner' : 'Enable a partner again',
            description:
              action === 'disable'
                ? 'Its signed requests are refused with 403 PARTNER_DISABLED from now on (withdrawals already made go on).'
                : 'Its signed requests are accepted again.',
            tag,
            access: 'admin',
            params: partnerRegistryParams,
            answer: adminPartnerAnswer,
            errors: ['PARTNER_NOT_FOUND'],
            examples: { answer: { ...partnerExample, status } },
          }),
        },
        async (request, reply) => {
          const changed = await services.call(request, partnersRpc.setStatus, {
            partnerId: request.params.partnerId,
            status,
            operatorId: operatorOf(request).id,
          });
          return sendData(request, reply, adminPartnerToWire(unwrap(changed)));
        },
      );
    }

    app.post(
      '/partners/:partnerId/rotate-secret',
      {
        schema: operation({
          operationId: 'adminRotatePartnerSecret',
          summary: "Rotate a partner's secrets",
          description:
            'A new `api_secret` and `webhook_secret`, shown this once; the old ones stop working at once (requests signed with the old secret: 401 PARTNER_SIGNATURE_INVALID). The `api_key_id` stays.',
          tag,
          access: 'admin',
          params: partnerRegistryParams,
          answer: adminPartnerWithSecretsAnswer,
          errors: ['PARTNER_NOT_FOUND'],
          examples: { answer: { ...partnerExample, ...secretsExample } },
        }),
      },
      async (request, reply) => {
        const rotated = await services.call(request, partnersRpc.rotateSecret, {
          partnerId: request.params.partnerId,
          operatorId: operatorOf(request).id,
        });
        return sendData(request, reply, adminPartnerWithSecretsToWire(unwrap(rotated)));
      },
    );

    app.put(
      '/partners/:partnerId/webhook',
      {
        schema: operation({
          operationId: 'adminSetPartnerWebhook',
          summary: "Set a partner's webhook URL",
          description: '`url`: https, or http to localhost / 127.0.0.1 for QA; null removes it.',
          tag,
          access: 'admin',
          params: partnerRegistryParams,
          body: adminPartnerWebhookBody,
          answer: adminPartnerAnswer,
          errors: ['PARTNER_NOT_FOUND'],
          examples: { body: { url: 'https://partner.example.com/offramp/webhooks' }, answer: partnerExample },
        }),
      },
      async (request, reply) => {
        const changed = await services.call(request, partnersRpc.setWebhook, {
          partnerId: request.params.partnerId,
          url: request.body.url,
          operatorId: operatorOf(request).id,
        });
        return sendData(request, reply, adminPartnerToWire(unwrap(changed)));
      },
    );

    app.post(
      '/partners/:partnerId/traders',
      {
        schema: operation({
          operationId: 'adminLinkPartnerTrader',
          summary: 'Link a trader to a partner',
          description:
            'The partner may then request withdrawals for this trader (its `userId` is our `trader_id`). Linking again renames the link (`user_name`).',
          tag,
          access: 'admin',
          params: partnerRegistryParams,
          body: adminLinkPartnerTraderBody,
          answer: adminPartnerAnswer,
          errors: ['PARTNER_NOT_FOUND'],
          examples: { body: { trader_id: 'trader-42', user_name: 'Joao Santos' }, answer: partnerExample },
        }),
      },
      async (request, reply) => {
        const linked = await services.call(request, partnersRpc.linkTrader, {
          partnerId: request.params.partnerId,
          traderId: request.body.trader_id,
          userName: request.body.user_name,
          operatorId: operatorOf(request).id,
        });
        return sendData(request, reply, adminPartnerToWire(unwrap(linked)));
      },
    );

    app.delete(
      '/partners/:partnerId/traders/:traderId',
      {
        schema: operation({
          operationId: 'adminUnlinkPartnerTrader',
          summary: 'Unlink a trader from a partner',
          description:
            'The partner may no longer request withdrawals for the trader (403 PARTNER_USER_NOT_LINKED); withdrawals already made go on.',
          tag,
          access: 'admin',
          params: partnerTraderParams,
          answer: adminPartnerAnswer,
          errors: ['PARTNER_NOT_FOUND', 'NOT_FOUND'],
          examples: { answer: { ...partnerExample, traders: [] } },
        }),
      },
      async (request, reply) => {
        const unlinked = await services.call(request, partnersRpc.unlinkTrader, {
          partnerId: request.params.partnerId,
          traderId: request.params.traderId,
          operatorId: operatorOf(request).id,
        });
        return sendData(request, reply, adminPartnerToWire(unwrap(unlinked)));
      },
    );
  };
}
