import type { z } from 'zod';
import type { adminPartnerAnswer, adminPartnerWithSecretsAnswer, PartnerView, PartnerWithSecrets } from '@offramp/contracts';

/** A partner as operators see it: sessions' view in snake_case, never a secret. */
export function adminPartnerToWire(p: PartnerView): z.output<typeof adminPartnerAnswer> {
  return {
    partner_id: p.partnerId,
    name: p.name,
    api_key_id: p.apiKeyId,
    status: p.status,
    webhook_url: p.webhookUrl,
    traders: p.traders.map((t) => ({ trader_id: t.traderId, user_name: t.userName, linked_at: t.linkedAt })),
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
}

/** The create and rotate answers: the partner and its secrets, shown this once. */
export function adminPartnerWithSecretsToWire(p: PartnerWithSecrets): z.output<typeof adminPartnerWithSecretsAnswer> {
  return { ...adminPartnerToWire(p), api_secret: p.apiSecret, webhook_secret: p.webhookSecret };
}
