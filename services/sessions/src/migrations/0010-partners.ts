import { Migration } from '@offramp/kit';

export class Partners extends Migration {
  override up(): void {
    // The partner API's registry. `api_secret` is the key of the HMAC the partner sends in
    // `x-payload-hash` and `webhook_secret` the Standard Webhooks secret our webhooks to it are
    // signed with: both are needed as they are to compute a MAC, so they are stored as they are
    // (the schema is sessions' own; never logged, never in a list or get answer).
    this.addSql(`create table partners (
      partner_id uuid primary key,
      name text not null,
      api_key_id text unique not null,
      api_secret text not null,
      webhook_secret text not null,
      webhook_url text null,
      status text not null check (status in ('active', 'disabled')),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`);
    // The traders a partner may act for (the request's userId is our trader id); operators link them.
    this.addSql(`create table partner_traders (
      partner_id uuid not null references partners (partner_id),
      trader_id text not null,
      user_name text not null,
      linked_at timestamptz not null default now(),
      primary key (partner_id, trader_id)
    )`);
    // One row per accepted request, written in the transaction that creates its session, before
    // its withdrawal exists: withdrawals.session_id always joins to it. The request id is unique
    // across all partners. `body_hash` tells the same request from another under the same id.
    this.addSql(`create table partner_requests (
      withdraw_request_id text primary key,
      partner_id uuid not null references partners (partner_id),
      session_id uuid not null unique references sessions (id),
      withdrawal_id uuid not null unique,
      body_hash text not null,
      withdraw_request_date bigint not null,
      user_id text not null,
      user_name text not null,
      fiat_account_id text not null,
      payment_route_id text not null,
      fiat_amount text not null,
      fiat_currency text not null,
      crypto_amount_minor numeric(38,0) not null check (crypto_amount_minor > 0),
      rate text not null,
      quoted_at timestamptz not null,
      created_at timestamptz not null default now()
    )`);
    this.addSql('create index partner_requests_by_partner on partner_requests (partner_id, created_at desc)');
    // Every operator action on a partner, append-only: who, what, when (never a secret).
    this.addSql(`create table partner_audit (
      seq bigserial primary key,
      partner_id uuid not null references partners (partner_id),
      action text not null,
      actor text not null,
      detail jsonb not null default '{}'::jsonb,
      at timestamptz not null default now()
    )`);
    this.addSql('create index partner_audit_by_partner on partner_audit (partner_id, seq)');
    this.addSql(`create function partner_audit_immutable() returns trigger language plpgsql as $$
      begin raise exception 'the partner audit is append-only'; end $$`);
    this.addSql(`create trigger partner_audit_immutable before update or delete on partner_audit
      for each row execute function partner_audit_immutable()`);
  }
}
