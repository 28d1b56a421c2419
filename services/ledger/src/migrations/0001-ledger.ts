import { Migration } from '@offramp/kit';

export class LedgerInitial extends Migration {
  override up(): void {
    this.addSql(`create table accounts (
      id bigserial primary key,
      owner text not null,
      currency text not null,
      allow_negative boolean not null default false,
      slots smallint not null check (slots between 1 and 64),
      created_at timestamptz not null default now(),
      unique (owner, currency)
    )`);
    // An account's balance is the sum of its slots. Accounts that may not go negative have one slot,
    // so the overdraft check is one conditional update of one row. System accounts (clearing,
    // deposits) are on every withdrawal; spreading them over several slots keeps them from
    // serializing all transfers behind one row lock.
    this.addSql(`create table balances (
      account_id bigint not null references accounts (id),
      slot smallint not null,
      allow_negative boolean not null,
      debits_posted numeric(38,0) not null default 0,
      credits_posted numeric(38,0) not null default 0,
      debits_pending numeric(38,0) not null default 0,
      credits_pending numeric(38,0) not null default 0,
      primary key (account_id, slot),
      constraint balances_totals_non_negative check (debits_posted >= 0 and credits_posted >= 0 and debits_pending >= 0 and credits_pending >= 0),
      constraint balances_no_overdraft check (allow_negative or credits_posted - debits_posted - debits_pending >= 0)
    )`);
    this.addSql(`create table transfers (
      id uuid primary key,
      seq bigserial not null unique,
      kind text not null check (kind in ('transfer', 'hold', 'post', 'void')),
      debit_account_id bigint not null references accounts (id),
      credit_account_id bigint not null references accounts (id),
      amount numeric(38,0) not null check (amount > 0),
      hold_id uuid references transfers (id),
      metadata jsonb not null default '{}',
      created_at timestamptz not null default now(),
      constraint transfers_hold_link check ((kind in ('post', 'void')) = (hold_id is not null)),
      constraint transfers_distinct_accounts check (debit_account_id <> credit_account_id)
    )`);
    // A hold is resolved at most once: posted or voided, never both, never twice.
    this.addSql('create unique index transfers_one_resolution_per_hold on transfers (hold_id) where hold_id is not null');
    this.addSql('create index transfers_debit_account on transfers (debit_account_id)');
    this.addSql('create index transfers_credit_account on transfers (credit_account_id)');
    // Transfers are immutable: a correction is a new transfer.
    this.addSql(`create function transfers_immutable() returns trigger language plpgsql as $$
      begin raise exception 'transfers are immutable'; end $$`);
    this.addSql(`create trigger transfers_immutable before update or delete on transfers
      for each row execute function transfers_immutable()`);
  }
}
