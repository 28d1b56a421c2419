import { hashChainAtCommit, Migration } from '@offramp/kit';
import { partnerAuditChain } from '../audit/partner-audit-chain.ts';
import { timelineChain } from '../audit/timeline-chain.ts';

/**
 * Both chains are linked when the appending transaction commits (see the kit's
 * `hashChainAtCommit`) instead of at the insert. Every transition appends to the timeline, so with
 * the head taken at the insert each transition waited for the whole of the one before it (measured:
 * 32 ms of lock wait per timeline insert under load, seven inserts per withdrawal); now it waits
 * only for the other's commit. The foreign keys' `for key share` locks of 0005 and 0012 go with the
 * old triggers: at commit the head is the last lock a transaction takes, so none waits for it while
 * holding the head.
 */
export class ChainsAtCommit extends Migration {
  override up(): void {
    const chains = [
      { chain: timelineChain, fn: 'withdrawal_timeline_immutable', message: 'the withdrawal timeline is append-only' },
      { chain: partnerAuditChain, fn: 'partner_audit_immutable', message: 'the partner audit is append-only' },
    ];
    for (const { chain, fn, message } of chains) for (const statement of hashChainAtCommit(chain, { fn, message })) this.addSql(statement);
  }
}
