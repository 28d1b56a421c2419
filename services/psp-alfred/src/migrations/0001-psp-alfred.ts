import { Migration } from '@offramp/kit';

export class PspAlfredInitial extends Migration {
  override up(): void {
    // One row per trader: the platform KYC (the identity the exchange verified) and the mirror of
    // the trader's customer and KYC at Alfred, fed by KYC webhooks and the dev actions.
    this.addSql(`create table traders (
      trader_id text primary key,
      country text,
      identity jsonb,
      platform_kyc_at timestamptz,
      email text unique,
      customer_id text unique,
      kyc_submission_id text unique,
      kyc_status text check (kyc_status in ('CREATED', 'IN_REVIEW', 'COMPLETED', 'FAILED', 'UPDATE_REQUIRED')),
      kyc_metadata jsonb,
      kyc_updated_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`);
    // Account numbers, documents and pix keys are not kept: Alfred holds them. What stays is what
    // we show (masked) and a fingerprint for screening.
    this.addSql(`create table fiat_accounts (
      fiat_account_id text primary key,
      trader_id text not null references traders (trader_id),
      customer_id text not null,
      rail text not null,
      masked_number text not null,
      holder_name text not null,
      bank_name text,
      fingerprint text not null,
      created_at timestamptz not null default now(),
      deleted_at timestamptz
    )`);
    this.addSql('create index fiat_accounts_trader on fiat_accounts (trader_id) where deleted_at is null');
    // One row per withdrawal: written (and committed) before Alfred is called, so that an unknown
    // outcome is known to be unknown when the command comes back.
    this.addSql(`create table offramps (
      withdrawal_id uuid primary key,
      trader_id text not null,
      fiat_account_id text not null,
      crypto_amount_minor numeric(38,0) not null,
      fiat_currency text not null,
      fiat_amount text not null,
      state text not null check (state in ('requested', 'created', 'refused')),
      attempts int not null default 0,
      last_attempt_at timestamptz,
      transaction_id text unique,
      alfred_status text,
      failure_reason text,
      deposit_address text,
      chain text,
      sent_amount_minor numeric(38,0),
      deposit_tx_hash text,
      last_request jsonb,
      refusal jsonb,
      status_at timestamptz,
      checked_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`);
    this.addSql(`create index offramps_open on offramps (status_at) where state = 'created'
      and alfred_status not in ('FIAT_TRANSFER_COMPLETED', 'FAILED')`);
    // Alfred's webhooks carry no event id: (eventType, referenceId, status) is the identity.
    this.addSql(`create table partner_events (
      id bigserial primary key,
      event_type text not null,
      reference_id text not null,
      status text not null,
      source text not null check (source in ('webhook', 'reconciliation')),
      outcome text not null,
      payload jsonb not null,
      raw_body text,
      received_at timestamptz not null default now(),
      duplicates int not null default 0,
      unique (event_type, reference_id, status)
    )`);
  }
}
