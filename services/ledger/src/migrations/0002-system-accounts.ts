import { Migration } from '@offramp/kit';
import { systemAccountSlots } from '../accounts/accounts.ts';

/**
 * The system accounts the other services book against, so none of them has to open one first:
 * - `external:deposits`: money coming from outside (deposits, QA funding);
 * - `psp:alfred:clearing`: what is on its way to Alfred (sessions' withdrawal holds);
 * - `loss:partner-divergence`: what the company absorbs when it writes off an exception (sessions).
 * All USDT, allowed to go negative, spread over the slots `openAccount` gives system accounts.
 * Idempotent: a database where they were already opened through `openAccount` keeps its rows.
 */
export class LedgerSystemAccounts extends Migration {
  override up(): void {
    const owners = ['external:deposits', 'psp:alfred:clearing', 'loss:partner-divergence'];
    const values = owners.map((o) => `('${o}', 'USDT', true, ${systemAccountSlots})`).join(', ');
    const list = owners.map((o) => `'${o}'`).join(', ');
    this.addSql(`insert into accounts (owner, currency, allow_negative, slots) values ${values} on conflict (owner, currency) do nothing`);
    this.addSql(`insert into balances (account_id, slot, allow_negative)
      select a.id, s, a.allow_negative from accounts a cross join generate_series(0, a.slots - 1) as s
      where a.currency = 'USDT' and a.owner in (${list})
      on conflict (account_id, slot) do nothing`);
  }
}
