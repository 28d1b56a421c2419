import { Migration } from '@offramp/kit';

export class SessionsExceptions extends Migration {
  override up(): void {
    // The exception queue: one row per disagreement between money and the partner (or the ledger),
    // deduplicated by `key` so that a redelivered event or a second sweep never opens it twice.
    // `outstanding_minor` is what is still at stake after the operators' actions so far.
    this.addSql(`create table exceptions (
      id uuid primary key,
      key text not null unique,
      kind text not null,
      status text not null check (status in ('open', 'resolved')),
      withdrawal_id uuid,
      trader_id text,
      partner_reference text,
      facts jsonb not null,
      exposure text not null check (exposure in ('trader_received_twice', 'trader_received_nothing', 'none')),
      amount_minor numeric(38,0) not null check (amount_minor >= 0),
      outstanding_minor numeric(38,0) not null check (outstanding_minor >= 0 and outstanding_minor <= amount_minor),
      opened_at timestamptz not null default now(),
      resolved_at timestamptz,
      resolution text check (resolution in ('recover_from_trader', 'refund_trader', 'write_off', 'dismiss')),
      check ((status = 'resolved') = (resolved_at is not null)),
      check ((status = 'resolved') = (resolution is not null))
    )`);
    this.addSql('create index exceptions_by_status on exceptions (status, opened_at desc)');
    this.addSql('create index exceptions_by_withdrawal on exceptions (withdrawal_id) where withdrawal_id is not null');
    // The audit trail of operator actions, append-only; `transfer_id` is the ledger transfer when money moved.
    this.addSql(`create table exception_actions (
      exception_id uuid not null references exceptions (id),
      seq int not null check (seq >= 1),
      resolution text not null check (resolution in ('recover_from_trader', 'refund_trader', 'write_off', 'dismiss')),
      note text not null,
      operator_id text not null,
      moved_minor numeric(38,0) not null check (moved_minor >= 0),
      transfer_id uuid unique,
      at timestamptz not null default now(),
      primary key (exception_id, seq)
    )`);
    this.addSql(`create function exception_actions_immutable() returns trigger language plpgsql as $$
      begin raise exception 'exception actions are append-only'; end $$`);
    this.addSql(`create trigger exception_actions_immutable before update or delete on exception_actions
      for each row execute function exception_actions_immutable()`);
  }
}
