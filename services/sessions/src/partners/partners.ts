import { randomBytes } from 'node:crypto';
import { inTransaction, newId, type Database, type EntityManager } from '@offramp/kit';
import { ok, refuse, type PartnerView, type PartnerWithSecrets, type ServiceResult } from '@offramp/contracts';
import {
  auditPartner,
  insertPartner,
  linkTrader,
  listPartners,
  lockPartner,
  partnerById,
  unlinkTrader,
  updatePartner,
  type PartnerListQuery,
} from './partners-store.ts';

/**
 * The partner registry: operators create partners, link the traders each may act for, disable,
 * rotate secrets and set the webhook URL. Every change is one transaction with its audit row
 * (`partner_audit`: the operator, the action, never a secret). The secrets are made here, answered
 * once by create and rotate, and otherwise never leave sessions.
 */

/** The key of the partner's request HMAC: hex of 32 random bytes. */
const newApiSecret = () => randomBytes(32).toString('hex');
/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
/** The public key id the partner sends in `x-api-key`. */
const newApiKeyId = () => `pk_${randomBytes(16).toString('hex')}`;

const notFound = () => refuse('PARTNER_NOT_FOUND', 'Partner not found');
const actorOf = (operatorId: string) => `operator:${operatorId}`;

export function partnerRegistry(db: Database) {
  /** Runs `change` under the partner's row lock, audits it, and answers the partner after it. */
  async function change(
    partnerId: string,
    operatorId: string,
    action: string,
    detail: Record<string, unknown>,
    apply: (em: EntityManager) => Promise<ServiceResult<unknown> | undefined>,
  ): Promise<ServiceResult<PartnerView>> {
    return inTransaction(db, async (em) => {
      if (!(await lockPartner(em, partnerId))) return notFound();
      const refused = await apply(em);
      if (refused && !refused.ok) return refused;
      await auditPartner(em, { partnerId, action, actor: actorOf(operatorId), detail });
      return ok((await partnerById(em, partnerId))!);
    });
  }

  return {
    async create(req: { name: string; webhookUrl: string | null; operatorId: string }): Promise<ServiceResult<PartnerWithSecrets>> {
      const secrets = { apiSecret: newApiSecret(), webhookSecret: newWebhookSecret() };
      const partnerId = newId();
      const view = await inTransaction(db, async (em) => {
        await insertPartner(em, { partnerId, name: req.name, apiKeyId: newApiKeyId(), webhookUrl: req.webhookUrl, ...secrets });
        await auditPartner(em, {
          partnerId,
          action: 'created',
          actor: actorOf(req.operatorId),
          detail: { name: req.name, webhookUrl: req.webhookUrl },
        });
        return (await partnerById(em, partnerId))!;
      });
      return ok({ ...view, ...secrets });
    },

    async list(req: PartnerListQuery): Promise<{ partners: PartnerView[]; total: number }> {
      return listPartners(db.em.fork(), req);
    },

    async get(req: { partnerId: string }): Promise<ServiceResult<PartnerView>> {
      const view = await partnerById(db.em.fork(), req.partnerId);
      return view ? ok(view) : notFound();
    },

    setStatus(req: { partnerId: string; status: 'active' | 'disabled'; operatorId: string }) {
      return change(req.partnerId, req.operatorId, req.status === 'active' ? 'enabled' : 'disabled', {}, async (em) => {
        await updatePartner(em, req.partnerId, { status: req.status });
        return undefined;
      });
    },

    async rotateSecret(req: { partnerId: string; operatorId: string }): Promise<ServiceResult<PartnerWithSecrets>> {
      const secrets = { apiSecret: newApiSecret(), webhookSecret: newWebhookSecret() };
      const view = await change(req.partnerId, req.operatorId, 'secrets_rotated', {}, async (em) => {
        await updatePartner(em, req.partnerId, { secrets });
        return undefined;
      });
      return view.ok ? ok({ ...view.data, ...secrets }) : view;
    },

    setWebhook(req: { partnerId: string; url: string | null; operatorId: string }) {
      return change(req.partnerId, req.operatorId, 'webhook_set', { url: req.url }, async (em) => {
        await updatePartner(em, req.partnerId, { webhookUrl: req.url });
        return undefined;
      });
    },

    linkTrader(req: { partnerId: string; traderId: string; userName: string; operatorId: string }) {
      return change(req.partnerId, req.operatorId, 'trader_linked', { traderId: req.traderId, userName: req.userName }, async (em) => {
        await linkTrader(em, req.partnerId, req.traderId, req.userName);
        await updatePartner(em, req.partnerId, {});
        return undefined;
      });
    },

    unlinkTrader(req: { partnerId: string; traderId: string; operatorId: string }) {
      return change(req.partnerId, req.operatorId, 'trader_unlinked', { traderId: req.traderId }, async (em) => {
        if (!(await unlinkTrader(em, req.partnerId, req.traderId))) return refuse('NOT_FOUND', 'The trader is not linked to the partner');
        await updatePartner(em, req.partnerId, {});
        return undefined;
      });
    },
  };
}

export type PartnerRegistry = ReturnType<typeof partnerRegistry>;
