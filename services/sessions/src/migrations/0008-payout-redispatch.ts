import { Migration } from '@offramp/kit';

export class PayoutRedispatch extends Migration {
  override up(): void {
    // bank_unavailable re-dispatches: how many new partner orders were asked for after a FAILED one,
    // and the references of those failed orders (their late events are repeats, not a second order).
    this.addSql('alter table withdrawals add column payout_redispatches int not null default 0');
    this.addSql("alter table withdrawals add column failed_psp_transaction_ids text[] not null default '{}'");
  }
}
