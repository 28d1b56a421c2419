import { Migration } from '@offramp/kit';

export class WithdrawalReconcile extends Migration {
  override up(): void {
    // When the sweeper last asked psp-alfred to reconcile the withdrawal's order: one request per
    // period per withdrawal, however many sweeper replicas run.
    this.addSql('alter table withdrawals add column reconcile_requested_at timestamptz');
  }
}
