import { Migration } from '@offramp/kit';

export class NotifierDelayed extends Migration {
  override up(): void {
    // `withdrawal.delayed`: the payout is past its rail's SLA; like the others, once per withdrawal.
    this.addSql('alter table notifications drop constraint notifications_kind_check');
    this.addSql(`alter table notifications add constraint notifications_kind_check
      check (kind in ('withdrawal.processing', 'withdrawal.completed', 'withdrawal.rejected', 'withdrawal.delayed'))`);
  }
}
