import { Migration } from '@offramp/kit';

export class PspAlfredEarlyEvents extends Migration {
  override up(): void {
    // `fenced`: an operator's decision came first (orderState with fence), so no order is ever sent.
    this.addSql('alter table offramps drop constraint offramps_state_check');
    this.addSql(`alter table offramps add constraint offramps_state_check check (state in ('requested', 'created', 'refused', 'fenced'))`);
    // A fence may come before the create-offramp command has written the intent: it waits here and
    // the intent is born fenced.
    this.addSql(`create table offramp_fences (
      withdrawal_id uuid primary key,
      fenced_at timestamptz not null default now()
    )`);
    // Events kept because their reference was not known yet, found again when it becomes known
    // and by the reconciler's age check.
    this.addSql(`create index partner_events_kept on partner_events (reference_id, received_at) where outcome = 'unknown_reference'`);
    // Each discrepancy with the partner is announced once per key (sessions opens an exception for it).
    this.addSql(`create table discrepancies (
      key text primary key,
      kind text not null,
      withdrawal_id uuid,
      transaction_id text,
      facts jsonb not null,
      found_at timestamptz not null default now()
    )`);
  }
}
