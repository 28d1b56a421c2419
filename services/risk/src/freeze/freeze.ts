import { queryRowsBound, type EntityManager } from '@offramp/kit';
import { z } from 'zod';
import type { freezeState } from '@offramp/contracts';
import { appendAudit } from '../audit/audit.ts';
import { lockUntilCommit } from '../locks.ts';
import { FreezeSwitch } from './freeze-entity.ts';
import type { FreezeFlags } from './frozen-scope.ts';

export type FreezeState = z.output<typeof freezeState>;

type SwitchRow = Pick<FreezeSwitch, 'scope' | 'frozen' | 'reason' | 'operatorId' | 'changedAt'>;

const switchView = (s: SwitchRow) => ({ frozen: s.frozen, reason: s.reason, by: s.operatorId, at: s.changedAt.toISOString() });

const switchRow = z.object({
  scope: z.string(),
  frozen: z.boolean(),
  reason: z.string(),
  operator_id: z.string(),
  changed_at: z.coerce.date(),
});

/**
 * The global switch (off when never set) and every country switch ever set. Raw SQL rather than
 * the entity: the session's initiation asks this on every withdrawal, and an ORM find costs several
 * times the CPU of the query. Sent as a bound statement (with no parameters): prepared once per
 * connection instead of parsed and planned on every call.
 */
export async function readFreeze(em: EntityManager): Promise<FreezeState> {
  const rows = await queryRowsBound(
    em,
    switchRow,
    'select scope, frozen, reason, operator_id, changed_at from freeze_switches order by scope',
    [],
  );
  return freezeStateOf(
    rows.map((r) => ({ scope: r.scope, frozen: r.frozen, reason: r.reason, operatorId: r.operator_id, changedAt: r.changed_at })),
  );
}

/** The state of the switches given in scope order. */
export function freezeStateOf(switches: SwitchRow[]): FreezeState {
  const global = switches.find((s) => s.scope === 'global');
  const countries = Object.fromEntries(switches.filter((s) => s.scope !== 'global').map((s) => [s.scope, switchView(s)]));
  return { global: global ? switchView(global) : { frozen: false, reason: null, by: null, at: null }, countries };
}

export function freezeFlags(state: FreezeState): FreezeFlags {
  const countries = Object.entries(state.countries)
    .filter(([, s]) => s.frozen)
    .map(([c]) => c);
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
  await lockUntilCommit(em, 'risk:freeze');
  const existing = await em.findOne(FreezeSwitch, { scope });
  const before = existing ? switchView(existing) : null;
  const values = { frozen: change.frozen, reason: change.reason, operatorId: change.operatorId, changedAt: new Date() };
  const after = existing ? em.assign(existing, values) : em.create(FreezeSwitch, { scope, ...values });
  await em.flush();
  await appendAudit(em, {
    subject: 'freeze',
    scope,
    operatorId: change.operatorId,
    reason: change.reason,
    before,
    after: switchView(after),
  });
  return readFreeze(em);
}
