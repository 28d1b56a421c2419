import { hashChainMigration, hashChainTrigger, Migration } from '@offramp/kit';
import { partnerAuditChain } from '../audit/partner-audit-chain.ts';

/**
 * The partners' audit becomes a hash chain like the withdrawal timeline (rows already there chained
 * in order). Its trigger takes the partner's `for key share` lock (the foreign key needs it anyway)
 * before the chain head's, so an append never holds the head while waiting for the partner.
 */
export class PartnerAuditChain extends Migration {
  override up(): void {
    for (const statement of hashChainMigration(partnerAuditChain, 'partner_audit_immutable')) this.addSql(statement);
    this.addSql(hashChainTrigger(partnerAuditChain, 'perform 1 from partners where partner_id = new.partner_id for key share;'));
  }
}
