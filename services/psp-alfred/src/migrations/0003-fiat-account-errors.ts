import { Migration } from '@offramp/kit';

export class PspAlfredFiatAccountErrors extends Migration {
  override up(): void {
    // A payout to the account failed for a reason about the account itself (an account-level class
    // of the payout failure taxonomy): new sessions with it are refused until the trader replaces it.
    this.addSql('alter table fiat_accounts add column errored_at timestamptz');
    this.addSql('alter table fiat_accounts add column error_class text');
    this.addSql('alter table fiat_accounts add column error_reason text');
    this.addSql('alter table fiat_accounts add column error_withdrawal_id uuid');
  }
}
