import { Migration } from '@offramp/kit';

/**
 * `ledger_apply` (migration 0004) keeps one generic plan per statement per session instead of
 * planning its statements again on every call. With the default `plan_cache_mode = auto` Postgres
 * compares a statement's generic plan with the custom plans of its first calls; here the custom
 * plans see the arrays' real lengths (one or two operations) while the generic plan assumes ten
 * rows per array, so the generic plan always looks dearer and every call was planned again
 * (measured: about 3 ms of planning per withdrawal, 0.7 ms for the statement that locks the slots).
 * Since 0004 every lookup is an index lookup by key that no plan can turn into a scan (and
 * `enable_seqscan = off` still holds), so the generic plans are the same index lookups, whatever
 * the arrays hold or the account (checked with auto_explain; the function's outcomes and writes do
 * not change).
 */
export class LedgerApplyGenericPlans extends Migration {
  override up(): void {
    this.addSql('alter function ledger_apply(jsonb, jsonb) set plan_cache_mode = force_generic_plan');
  }
}
