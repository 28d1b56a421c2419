import { Migration } from '@offramp/kit';

export class PspAlfredRedispatch extends Migration {
  override up(): void {
    // A withdrawal's order is its dispatch n: 1 first, n > 1 a new order after the previous one
    // FAILED as bank_unavailable (sessions' re-dispatch). The Idempotency-Key of dispatch n > 1 is
    // `<withdrawalId>:<n>`; the FAILED orders it replaced are kept below.
    this.addSql('alter table offramps add column dispatch int not null default 1');
    this.addSql(`create table offramp_previous_orders (
      withdrawal_id uuid not null references offramps (withdrawal_id),
      dispatch int not null,
      transaction_id text not null unique,
      alfred_status text not null,
      failure_reason text,
      sent_amount_minor numeric(38,0),
      replaced_at timestamptz not null default now(),
      primary key (withdrawal_id, dispatch)
    )`);
  }
}
