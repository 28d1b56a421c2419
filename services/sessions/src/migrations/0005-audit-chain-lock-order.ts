import { hashChainTrigger, Migration } from '@offramp/kit';
import { timelineChain } from '../audit/timeline-chain.ts';

/**
 * The timeline's chain trigger takes the withdrawal's `for key share` lock (which the insert's
 * foreign key needs anyway) before the chain head's: a note appended by a transaction that does not
 * hold the withdrawal (an exception opened elsewhere) would otherwise hold the head while waiting
 * for the withdrawal, as a transition holding the withdrawal waits for the head: a deadlock.
 */
export class TimelineChainLockOrder extends Migration {
  override up(): void {
    this.addSql(hashChainTrigger(timelineChain, 'perform 1 from withdrawals where id = new.withdrawal_id for key share;'));
  }
}
