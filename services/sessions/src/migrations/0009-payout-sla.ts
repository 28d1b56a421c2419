import { Migration } from '@offramp/kit';

export class PayoutSla extends Migration {
  override up(): void {
    // When the sweeper found the payout `processing` past its rail's SLA and told the trader (once).
    this.addSql('alter table withdrawals add column payout_delayed_at timestamptz');
    this.addSql(`create index withdrawals_processing_undelayed on withdrawals (status_changed_at)
      where status = 'processing' and payout_delayed_at is null`);
  }
}
