import { Migration } from '@offramp/kit';

export class PartnerWebhooks extends Migration {
  override up(): void {
    // Webhooks to the partner: one delivery per status change of a partner's withdrawal, recorded
    // in the inbox transaction of the status-changed event and sent by the dispatcher after the
    // commit. `webhook_id` derives from the event's envelope id, so a redelivered event records no
    // second delivery. `payload` is json (not jsonb) so that its text, the body the signature
    // covers, stays byte for byte what was recorded on every attempt. A claimed delivery stays
    // `pending` with `next_attempt_at` moved past the attempt's timeout (its lease): a sender that
    // died mid-attempt leaves it due again then.
    this.addSql(`create table partner_webhook_deliveries (
      delivery_id uuid primary key,
      partner_id uuid not null references partners (partner_id),
      withdraw_request_id text not null references partner_requests (withdraw_request_id),
      withdrawal_id uuid not null references withdrawals (id),
      webhook_id text not null unique,
      event_type text not null check (event_type in ('withdrawal.state_changed')),
      payload json not null,
      status text not null check (status in ('pending', 'delivered', 'failed')),
      attempts int not null default 0 check (attempts >= 0),
      next_attempt_at timestamptz not null default now(),
      last_status_code int,
      last_error text,
      delivered_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check ((status = 'delivered') = (delivered_at is not null))
    )`);
    this.addSql(`create index partner_webhook_deliveries_due on partner_webhook_deliveries (next_attempt_at) where status = 'pending'`);
    this.addSql('create index partner_webhook_deliveries_by_partner on partner_webhook_deliveries (partner_id, created_at desc)');
    // A withdrawal's deliveries go out in order: the claim looks for an earlier pending one.
    this.addSql(`create index partner_webhook_deliveries_pending_by_withdrawal on partner_webhook_deliveries (withdrawal_id, created_at)
      where status = 'pending'`);
    // The operators' replays, append-only: who re-sent which delivery, when, and what the partner answered.
    this.addSql(`create table partner_webhook_replays (
      id bigserial primary key,
      delivery_id uuid not null references partner_webhook_deliveries (delivery_id),
      operator_id text not null,
      outcome text not null check (outcome in ('delivered', 'failed')),
      status_code int,
      error text,
      at timestamptz not null default now()
    )`);
    this.addSql('create index partner_webhook_replays_by_delivery on partner_webhook_replays (delivery_id, id)');
    this.addSql(`create function partner_webhook_replays_immutable() returns trigger language plpgsql as $$
      begin raise exception 'partner webhook replays are append-only'; end $$`);
    this.addSql(`create trigger partner_webhook_replays_immutable before update or delete on partner_webhook_replays
      for each row execute function partner_webhook_replays_immutable()`);
  }
}
