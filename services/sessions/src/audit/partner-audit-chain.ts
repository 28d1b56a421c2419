import { utcText, type HashChain } from '@offramp/kit';

/**
 * The partners' audit (every operator change of a partner and every webhook replay, migration 0012)
 * as a hash chain of its own. Hashed: chain_seq, partner id, action, actor, detail (jsonb's text,
 * which Postgres writes canonically), time (UTC), prev_hash.
 */
export const partnerAuditChain: HashChain = {
  name: 'sessions.partner_audit',
  table: 'partner_audit',
  id: 'seq',
  head: 'partner_audit_chain_head',
  existingOrder: 'seq',
  content: ['r.partner_id::text', 'r.action', 'r.actor', 'r.detail::text', utcText('r.at')],
};
