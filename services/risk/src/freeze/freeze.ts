import type { EntityManager } from '@offramp/kit';
import type { z } from 'zod';
import type { freezeState } from '@offramp/contracts';
import { appendAudit } from '../audit/audit.ts';
import type { FreezeFlags } from './frozen-scope.ts';

export type FreezeState = z.output<typeof freezeState>;

interface SwitchRow {
  scope: string;
  frozen: boolean;
  reason: string;
  operator_id: string;
  changed_at: Date | string;
}

const switchView = (row: SwitchRow) => ({ frozen: row.frozen, reason: row.reason, by: row.operator_id, at: new Date(row.changed_at).toISOString() });

/** The global switch (off when never set) and every country switch ever set. */
export async function readFreeze(em: EntityManager): Promise<FreezeState> {
  const rows = await em.execute<SwitchRow[]>('select scope, frozen, reason, operator_id, changed_at from freeze_switches order by scope');
  const global = rows.find((r) => r.scope === 'global');
  const countries = Object.fromEntries(rows.filter((r) => r.scope !== 'global').map((r) => [r.scope, switchView(r)]));
  return { global: global ? switchView(global) : { frozen: false, reason: null, by: null, at: null }, countries };
}

export function freezeFlags(state: FreezeState): FreezeFlags {
  const countries = Object.entries(state.countries).filter(([, s]) => s.frozen).map(([c]) => c);
  return { global: state.global.frozen, countries: new Set(countries) };
}

export interface FreezeChange {
  frozen: boolean;
  country?: string | undefined;
  reason: string;
  operatorId: string;
}

/** Turns the global or a country switch on or off and audits the change; returns the whole state. */
export async function setFreeze(em: EntityManager, change: FreezeChange): Promise<FreezeState> {
  const scope = change.country ? change.country.toUpperCase() : 'global';
  // One operator change at a time, so the audit row's "before" is the state it replaced.
  await em.execute('select pg_advisory_xact_lock(hashtext(?))', ['risk:freeze']);
  const [before] = await em.execute<SwitchRow[]>('select scope, frozen, reason, operator_id, changed_at from freeze_switches where scope = ?', [scope]);
  const [after] = await em.execute<SwitchRow[]>(
    `insert into freeze_switches (scope, frozen, reason, operator_id, changed_at) values (?, ?, ?, ?, clock_timestamp())
     on conflict (scope) do update set frozen = excluded.frozen, reason = excluded.reason, operator_id = excluded.operator_id, changed_at = excluded.changed_at
     returning scope, frozen, reason, operator_id, changed_at`,
    [scope, change.frozen, change.reason, change.operatorId],
  );
  await appendAudit(em, {
    subject: 'freeze',
    scope,
    operatorId: change.operatorId,
    reason: change.reason,
    before: before ? switchView(before) : null,
    after: after ? switchView(after) : null,
  });
  return readFreeze(em);
}
