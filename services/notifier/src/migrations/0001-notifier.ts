import { Migration } from '@offramp/kit';
import { NotifierDelayed } from './0002-delayed.ts';

export class NotifierInitial extends Migration {
  override up(): void {
    // One row per withdrawal status change worth telling the trader about. `notification` is the
    // in-app envelope as it goes on the wire, built once, so that every re-publish is identical.
    this.addSql(`create table notifications (
      id uuid primary key,
      event_id uuid not null unique,
      withdrawal_id uuid not null,
      trader_id text not null,
      kind text not null check (kind in ('withdrawal.processing', 'withdrawal.completed', 'withdrawal.rejected')),
      notification jsonb not null,
      created_at timestamptz not null default now(),
      unique (withdrawal_id, kind)
    )`);
    // The delivery log and the work queue of the senders: one row per notification and channel,
    // written in the transaction that records the event, sent after that commit.
    this.addSql(`create table deliveries (
      id bigserial primary key,
      notification_id uuid not null references notifications (id),
      event_id uuid not null,
      channel text not null check (channel in ('in_app', 'email')),
      recipient text not null,
      status text not null check (status in ('pending', 'sending', 'sent', 'failed', 'skipped')),
      attempts int not null default 0 check (attempts >= 0),
      last_error text,
      message_id text,
      response text,
      next_attempt_at timestamptz not null default now(),
      claimed_until timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      sent_at timestamptz,
      unique (event_id, channel)
    )`);
    this.addSql(`create index deliveries_due on deliveries (channel, id) where status in ('pending', 'sending')`);
    this.addSql('create index deliveries_notification on deliveries (notification_id)');
  }
}

export const migrations = [
  { name: '0001_notifier', class: NotifierInitial },
  { name: '0002_delayed', class: NotifierDelayed },
];
