import { utcText, type HashChain } from '@offramp/kit';

/**
 * The operator audit log as a hash chain (migration 0002). Hashed: chain_seq, subject, scope,
 * operator, reason, before and after (their jsonb text), time (UTC), prev_hash.
 */
export const auditChain: HashChain = {
  name: 'risk.audit_log',
  table: 'audit_log',
  id: 'id',
  head: 'audit_log_chain_head',
  existingOrder: 'id',
  content: ['r.subject', 'r.scope', 'r.operator_id', 'r.reason', 'r.before::text', 'r.after::text', utcText('r.at')],
};
