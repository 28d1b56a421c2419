import { Migration } from '@offramp/kit';

export class PayoutFailures extends Migration {
  override up(): void {
    // The class of Alfred's failure reason (libs/contracts payout-failures.ts) when the partner
    // failed the payout; null otherwise. The raw reason stays in failure_reason.
    this.addSql(`alter table withdrawals add column failure_class text check (failure_class in ('account_closed', 'invalid_account',
      'holder_name_mismatch', 'compliance_rejected', 'limit_exceeded', 'bank_unavailable', 'deposit_not_received', 'unknown'))`);
  }
}
