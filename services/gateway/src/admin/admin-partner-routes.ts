import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  createPartnerBody,
  linkPartnerTraderBody,
  partnerListView,
  partnerRegistryParams,
  partnersRpc,
  partnerTraderParams,
  partnerView,
  partnerWebhookBody,
  partnerWithSecrets,
} from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import { operation } from '../edge/openapi.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { operatorOf } from './require-admin.ts';

const tag = 'admin';

const partnerExample = {
  partnerId: '0197a3c2-0000-7000-8000-0000000000c1',
  name: 'Example Exchange',
  apiKeyId: 'pk_3f1c9a0b7d2e4f6a8b0c1d2e3f4a5b6c',
  status: 'active',
  webhookUrl: 'https://partner.example.com/offramp/webhooks',
  traders: [{ traderId: 'trader-42', userName: 'Joao Santos', linkedAt: '2030-01-01T00:00:00.000Z' }],
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:00:00.000Z',
};
const secretsExample = {
  apiSecret: '9c2f4e6a8b0d1f3e5a7c9e1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d0f',
  webhookSecret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw3GLGqXN/ouI=',
};

/**
 * The partner registry (docs/api.md "Partner API"): operators create partners (the secrets are
 * shown once, in the create and rotate answers), list and read them (never the secrets), disable
 * and enable them, rotate their secrets, set their webhook URL and link the traders each may act
 * for. Sessions audits every change with the operator id from the JWT.
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
            'Answers the partner with its `apiKeyId`, `apiSecret` (the key of the `x-payload-hash` HMAC) and `webhookSecret` (the Standard Webhooks secret of our webhooks to it). ' +
            'The two secrets are shown this once: they are in no other answer and never logged.',
          tag,
          access: 'admin',
          status: 201,
          body: createPartnerBody,
          answer: partnerWithSecrets,
          examples: {
            body: { name: 'Example Exchange', webhookUrl: 'https://partner.example.com/offramp/webhooks' },
            answer: { ...partnerExample, traders: [], ...secretsExample },
          },
        }),
      },
      async (request, reply) => {
        const created = await services.call(request, partnersRpc.create, {
          name: request.body.name,
          webhookUrl: request.body.webhookUrl ?? null,
          operatorId: operatorOf(request).id,
        });
        return sendData(request, reply, unwrap(created), 201);
      },
    );

    app.get(
      '/partners',
      {
        schema: operation({
          operationId: 'adminListPartners',
          summary: 'The partners',
          description: 'Every partner with its linked traders; never a secret.',
          tag,
          access: 'admin',
          answer: partnerListView,
          examples: { answer: { partners: [partnerExample] } },
        }),
      },
      async (request, reply) => sendData(request, reply, await services.call(request, partnersRpc.list, {})),
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
          answer: partnerView,
          errors: ['PARTNER_NOT_FOUND'],
          examples: { answer: partnerExample },
        }),
      },
      async (request, reply) =>
        sendData(request, reply, unwrap(await services.call(request, partnersRpc.get, { partnerId: request.params.partnerId }))),
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
            answer: partnerView,
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
          return sendData(request, reply, unwrap(changed));
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
            'A new `apiSecret` and `webhookSecret`, shown this once; the old ones stop working at once (requests signed with the old secret: 401 PARTNER_SIGNATURE_INVALID). The `apiKeyId` stays.',
          tag,
          access: 'admin',
          params: partnerRegistryParams,
          answer: partnerWithSecrets,
          errors: ['PARTNER_NOT_FOUND'],
          examples: { answer: { ...partnerExample, ...secretsExample } },
        }),
      },
      async (request, reply) => {
        const rotated = await services.call(request, partnersRpc.rotateSecret, {
          partnerId: request.params.partnerId,
          operatorId: operatorOf(request).id,
        });
        return sendData(request, reply, unwrap(rotated));
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
          body: partnerWebhookBody,
          answer: partnerView,
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
        return sendData(request, reply, unwrap(changed));
      },
    );

    app.post(
      '/partners/:partnerId/traders',
      {
        schema: operation({
          operationId: 'adminLinkPartnerTrader',
          summary: 'Link a trader to a partner',
          description: 'The partner may then request withdrawals for this trader (`userId` = `traderId`). Linking again renames the link.',
          tag,
          access: 'admin',
          params: partnerRegistryParams,
          body: linkPartnerTraderBody,
          answer: partnerView,
          errors: ['PARTNER_NOT_FOUND'],
          examples: { body: { traderId: 'trader-42', userName: 'Joao Santos' }, answer: partnerExample },
        }),
      },
      async (request, reply) => {
        const linked = await services.call(request, partnersRpc.linkTrader, {
          partnerId: request.params.partnerId,
          traderId: request.body.traderId,
          userName: request.body.userName,
          operatorId: operatorOf(request).id,
        });
        return sendData(request, reply, unwrap(linked));
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
          answer: partnerView,
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
        return sendData(request, reply, unwrap(unlinked));
      },
    );
  };
}
