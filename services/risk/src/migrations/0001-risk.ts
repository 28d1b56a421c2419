import { Migration } from '@offramp/kit';
import { AuditHashChain } from './0002-audit-chain.ts';
import { currencyDecimals, decimalToMinor, paymentRoutes } from '@offramp/contracts';

/** Default trader velocity limits (USDT minor units, 6 decimals) and the Travel Rule threshold (1,000 USDT). */
const defaultLimits: Record<string, bigint> = {
  trader_daily_amount_minor: 20_000_000_000n,
  trader_monthly_amount_minor: 100_000_000_000n,
  trader_daily_count: 20n,
  trader_monthly_count: 200n,
  travel_rule_threshold_minor: 1_000_000_000n,
};

const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;

function minorOf(value: string, currency: string): string {
  const minor = decimalToMinor(value, currencyDecimals[currency] ?? 2);
  if (minor === null) throw new Error(`route bound ${value} ${currency} is not a valid amount`);
  return minor.toString();
}

export class RiskInitial extends Migration {
  override up(): void {
    // One row per scope ('global' or an ISO country code); a change updates the row and appends an audit row.
    this.addSql(`create table freeze_switches (
      scope text primary key check (scope = 'global' or scope ~ '^[A-Z]{2}$'),
      frozen boolean not null,
      reason text not null,
      operator_id text not null,
      changed_at timestamptz not null default now()
    )`);
    // Route bounds in minor units of the route's fiat currency, so comparisons are exact.
    this.addSql(`create table route_limits (
      payment_route_id text primary key,
      currency text not null,
      min_minor numeric(38,0) not null check (min_minor >= 0),
      max_minor numeric(38,0) not null,
      updated_at timestamptz not null default now(),
      updated_by text not null,
      check (max_minor >= min_minor)
    )`);
    this.addSql(`create table limits (
      name text primary key,
      value numeric(38,0) not null check (value > 0),
      updated_at timestamptz not null default now(),
      updated_by text not null
    )`);
    this.addSql(`create table screening_entries (
      kind text not null check (kind in ('trader', 'destination')),
      value text not null,
      verdict text not null check (verdict in ('blocked', 'suspicious')),
      note text not null default '',
      updated_by text not null,
      updated_at timestamptz not null default now(),
      primary key (kind, value)
    )`);
    this.addSql(`create table decisions (
      withdrawal_id uuid primary key,
      trader_id text not null,
      country text not null,
      payment_route_id text not null,
      debited_minor numeric(38,0) not null check (debited_minor > 0),
      decision text not null check (decision in ('approve', 'review', 'reject')),
      reasons jsonb not null,
      message_id uuid not null,
      decided_at timestamptz not null default now()
    )`);
    // What counts against a trader's velocity limits: withdrawals decided approve or review.
    this.addSql(`create table velocity_usage (
      withdrawal_id uuid primary key references decisions (withdrawal_id),
      trader_id text not null,
      amount_minor numeric(38,0) not null check (amount_minor > 0),
      counted_at timestamptz not null default now()
    )`);
    this.addSql('create index velocity_usage_trader_time on velocity_usage (trader_id, counted_at)');
    // Every operator change (freeze, thresholds, screening list), append-only.
    this.addSql(`create table audit_log (
      id bigserial primary key,
      subject text not null check (subject in ('freeze', 'thresholds', 'screening')),
      scope text not null,
      operator_id text not null,
      reason text,
      before jsonb,
      after jsonb,
      at timestamptz not null default now()
    )`);
    this.addSql(`create function audit_log_append_only() returns trigger language plpgsql as $$
      begin raise exception 'audit_log is append-only'; end $$`);
    this.addSql(
      'create trigger audit_log_append_only before update or delete on audit_log for each row execute function audit_log_append_only()',
    );
    this.seedThresholds();
  }

  /**
   * The thresholds are data: seeded here from the route catalogue and the defaults, changed by
   * operators later. A route added to the catalogue afterwards needs a migration of its own.
   */
  private seedThresholds(): void {
    for (const route of paymentRoutes) {
      this.addSql(
        `insert into route_limits (payment_route_id, currency, min_minor, max_minor, updated_by) values (${literal(route.id)}, ${literal(route.currency)}, ${minorOf(route.min, route.currency)}, ${minorOf(route.max, route.currency)}, 'migration')`,
      );
    }
    for (const [name, value] of Object.entries(defaultLimits)) {
      this.addSql(`insert into limits (name, value, updated_by) values (${literal(name)}, ${value.toString()}, 'migration')`);
    }
  }
}

export const migrations = [
  { name: '0001_risk', class: RiskInitial },
  { name: '0002_audit_hash_chain', class: AuditHashChain },
];
