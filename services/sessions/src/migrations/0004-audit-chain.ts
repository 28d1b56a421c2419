import { hashChainMigration, Migration } from '@offramp/kit';
import { timelineChain } from '../audit/timeline-chain.ts';

/**
 * The withdrawal timeline becomes a hash chain: chain_seq, prev_hash and hash on every row (the
 * rows already there chained in seq order), filled by a `before insert` trigger under the chain
 * head's row lock, so appends take turns and the chain never forks (see the kit's hash-chain.ts).
 */
export class TimelineHashChain extends Migration {
  override up(): void {
    for (const statement of hashChainMigration(timelineChain, 'withdrawal_timeline_immutable')) this.addSql(statement);
  }
}
