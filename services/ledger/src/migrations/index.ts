import { LedgerInitial } from './0001-ledger.ts';
import { LedgerSystemAccounts } from './0002-system-accounts.ts';
import { LedgerApplyBatch } from './0003-apply-batch.ts';
import { LedgerApplyBatchPlans } from './0004-apply-batch-plans.ts';
import { LedgerApplyGenericPlans } from './0005-apply-generic-plans.ts';

/** The ledger's migrations, in order. */
export const migrations = [
  { name: '0001_ledger', class: LedgerInitial },
  { name: '0002_system_accounts', class: LedgerSystemAccounts },
  { name: '0003_apply_batch', class: LedgerApplyBatch },
  { name: '0004_apply_batch_plans', class: LedgerApplyBatchPlans },
  { name: '0005_apply_generic_plans', class: LedgerApplyGenericPlans },
];
