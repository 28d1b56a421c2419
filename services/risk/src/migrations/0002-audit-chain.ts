import { hashChainMigration, Migration } from '@offramp/kit';
import { auditChain } from '../audit/audit-chain.ts';

/**
 * The operator audit log becomes a hash chain: chain_seq, prev_hash and hash on every row (the rows
 * already there chained in id order), filled by a `before insert` trigger under the chain head's
 * row lock, so appends take turns and the chain never forks (see the kit's hash-chain.ts).
 */
export class AuditHashChain extends Migration {
  override up(): void {
    for (const statement of hashChainMigration(auditChain, 'audit_log_append_only')) this.addSql(statement);
  }
}
