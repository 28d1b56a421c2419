import { LedgerInitial } from './0001-ledger.ts';
import { LedgerSystemAccounts } from './0002-system-accounts.ts';

/** The ledger's migrations, in order. */
export const migrations = [
  { name: '0001_ledger', class: LedgerInitial },
  { name: '0002_system_accounts', class: LedgerSystemAccounts },
];
