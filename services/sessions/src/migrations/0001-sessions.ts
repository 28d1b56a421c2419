import { Migration } from '@offramp/kit';
import { SessionsExceptions } from './0002-exceptions.ts';
import { WithdrawalReconcile } from './0003-reconcile.ts';
import { TimelineHashChain } from './0004-audit-chain.ts';
import { TimelineChainLockOrder } from './0005-audit-chain-lock-order.ts';
import { Approvals } from './0006-approvals.ts';
import { PayoutFailures } from './0007-payout-failures.ts';
import { PayoutRedispatch } from './0008-payout-redispatch.ts';
import { PayoutSla } from './0009-payout-sla.ts';
import { Partners } from './0010-partners.ts';
import { PartnerWebhooks } from './0011-partner-webhooks.ts';
import { PartnerAuditChain } from './0012-partner-audit-chain.ts';
import { ChainsAtCommit } from './0013-chains-at-commit.ts';

export class SessionsInitial extends Migration {
  override up(): void {
    // A session is the trader's intent with the quote they saw. It is consumed exactly once: its
    // withdrawal id is assigned here, so the hold placed at initiate has a known idempotency key
    // before any money moves. `initiating` records the intent before the ledger call, so that a
    // crash between the hold and the commit is finished (or given up) by the sweeper.
    this.addSql(`create table sessions (
      id uuid primary key,
      trader_id text not null,
      status text not null check (status in ('open', 'initiating', 'consumed', 'abandoned')),
      withdrawal_id uuid not null unique,
      payment_route_id text not null,
      country text not null,
      wallet_id text not null,
      fiat_account_id text not null,
      fiat_amount text not null,
      fiat_currency text not null,
      crypto_amount_minor numeric(38,0) not null check (crypto_amount_minor > 0),
      quote jsonb not null,
      destination jsonb not null,
      expires_at timestamptz not null,
      created_at timestamptz not null default now(),
      initiating_at timestamptz,
      consumed_at timestamptz
    )`);
    this.addSql(`create index sessions_initiating on sessions (initiating_at) where status = 'initiating'`);
    this.addSql(`create table withdrawals (
      id uuid primary key,
      session_id uuid not null unique references sessions (id),
      trader_id text not null,
      status text not null check (status in ('pending', 'in_review', 'approved', 'processing', 'completed', 'rejected')),
      payment_route_id text not null,
      country text not null,
      fiat_account_id text not null,
      fiat_amount text not null,
      fiat_currency text not null,
      debited_minor numeric(38,0) not null check (debited_minor > 0),
      quote jsonb not null,
      destination jsonb not null,
      risk_decision jsonb,
      psp_transaction_id text,
      failure_reason text,
      settlement_reference text,
      offramp_requested_at timestamptz,
      offramp_requests int not null default 0,
      debited_published_at timestamptz not null default now(),
      status_changed_at timestamptz not null default now(),
      stuck_since timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`);
    this.addSql('create index withdrawals_by_trader on withdrawals (trader_id, created_at desc)');
    this.addSql(`create index withdrawals_open on withdrawals (status, status_changed_at) where status not in ('completed', 'rejected')`);
    this.addSql('create index withdrawals_stuck on withdrawals (stuck_since) where stuck_since is not null');
    // The audit trail: every transition, refused transition and note, append-only.
    this.addSql(`create table withdrawal_timeline (
      seq bigserial primary key,
      withdrawal_id uuid not null references withdrawals (id),
      kind text not null check (kind in ('transition', 'refused', 'note')),
      from_status text,
      to_status text not null,
      actor text not null,
      reason text,
      refused_code text,
      at timestamptz not null default now(),
      check ((kind = 'refused') = (refused_code is not null))
    )`);
    this.addSql('create index withdrawal_timeline_by_withdrawal on withdrawal_timeline (withdrawal_id, seq)');
    this.addSql(`create function withdrawal_timeline_immutable() returns trigger language plpgsql as $$
      begin raise exception 'the withdrawal timeline is append-only'; end $$`);
    this.addSql(`create trigger withdrawal_timeline_immutable before update or delete on withdrawal_timeline
      for each row execute function withdrawal_timeline_immutable()`);
  }
}

export const migrations = [
  { name: '0001_sessions', class: SessionsInitial },
  { name: '0002_exceptions', class: SessionsExceptions },
  { name: '0003_withdrawal_reconcile', class: WithdrawalReconcile },
  { name: '0004_timeline_hash_chain', class: TimelineHashChain },
  { name: '0005_timeline_chain_lock_order', class: TimelineChainLockOrder },
  { name: '0006_approvals', class: Approvals },
  { name: '0007_payout_failures', class: PayoutFailures },
  { name: '0008_payout_redispatch', class: PayoutRedispatch },
  { name: '0009_payout_sla', class: PayoutSla },
  { name: '0010_partners', class: Partners },
  { name: '0011_partner_webhooks', class: PartnerWebhooks },
  { name: '0012_partner_audit_chain', class: PartnerAuditChain },
  { name: '0013_chains_at_commit', class: ChainsAtCommit },
];
