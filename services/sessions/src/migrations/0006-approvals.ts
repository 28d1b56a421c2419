import { Migration } from '@offramp/kit';

export class Approvals extends Migration {
  override up(): void {
    // Four-eyes: an operator action waiting for a second operator. `action` is the exact request the
    // action runs with (without the operator); `executing` is the claim a confirmation takes before
    // running it, so that two confirmations never run it twice.
    this.addSql(`create table approvals (
      id uuid primary key,
      action_kind text not null,
      action jsonb not null,
      target text not null,
      status text not null check (status in ('pending', 'executing', 'confirmed', 'declined', 'expired', 'failed')),
      requested_by text not null,
      requested_at timestamptz not null default now(),
      expires_at timestamptz not null,
      decided_by text,
      decided_at timestamptz,
      note text,
      result jsonb,
      check (decided_by is null or decided_by <> requested_by)
    )`);
    this.addSql('create index approvals_by_status on approvals (status, requested_at desc)');
  }
}
