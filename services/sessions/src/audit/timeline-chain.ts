import { utcText, type HashChain } from '@offramp/kit';

/**
 * The withdrawal timeline as a hash chain (migration 0004): every transition, refused transition
 * and operator note, across all withdrawals, in one chain. Hashed: chain_seq, withdrawal id, kind,
 * from, to, actor, reason, refused code, time (UTC), prev_hash.
 */
export const timelineChain: HashChain = {
  name: 'sessions.withdrawal_timeline',
  table: 'withdrawal_timeline',
  id: 'seq',
  head: 'withdrawal_timeline_chain_head',
  existingOrder: 'seq',
  content: ['r.withdrawal_id::text', 'r.kind', 'r.from_status', 'r.to_status', 'r.actor', 'r.reason', 'r.refused_code', utcText('r.at')],
};
