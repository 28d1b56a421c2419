import { LockMode, type EntityManager } from '@offramp/kit';
import type { ScreeningEntry } from '@offramp/contracts';
import { z } from 'zod';
import type { ScreeningMatch } from '../decisions/decide.ts';
import type { RulesExtra } from '../thresholds/thresholds.ts';
import { appendAudit } from '../audit/audit.ts';
import { ScreeningEntryRow } from './screening-entity.ts';

type Kind = ScreeningEntry['kind'];

function toEntry(row: ScreeningEntryRow): ScreeningEntry {
  return {
    kind: row.kind,
    value: row.value,
    verdict: row.verdict,
    note: row.note,
    updatedBy: row.updatedBy,
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Adds an entry or replaces the verdict and note of the same kind and value; audited. */
export async function upsertEntry(
  em: EntityManager,
  req: { kind: Kind; value: string; verdict: ScreeningEntry['verdict']; note?: string | undefined; operatorId: string },
): Promise<ScreeningEntry> {
  const existing = await em.findOne(ScreeningEntryRow, { kind: req.kind, value: req.value }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  const before = existing ? toEntry(existing) : null;
  // An upsert, so two operators adding the same new entry at once both succeed (the later one wins).
  const row = await em.upsert(ScreeningEntryRow, {
    kind: req.kind,
    value: req.value,
    verdict: req.verdict,
    note: req.note ?? '',
    updatedBy: req.operatorId,
    updatedAt: new Date(),
  });
  await em.flush();
  const entry = toEntry(row);
  await appendAudit(em, {
    subject: 'screening',
    scope: `${req.kind}:${req.value}`,
    operatorId: req.operatorId,
    reason: null,
    before,
    after: entry,
  });
  return entry;
}

/** Removes an entry; false when there was none (nothing audited then). */
export async function removeEntry(em: EntityManager, req: { kind: Kind; value: string; operatorId: string }): Promise<boolean> {
  // Locked, so of two concurrent removals only one finds the entry.
  const existing = await em.findOne(ScreeningEntryRow, { kind: req.kind, value: req.value }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (!existing) return false;
  const before = toEntry(existing);
  em.remove(existing);
  await em.flush();
  await appendAudit(em, {
    subject: 'screening',
    scope: `${req.kind}:${req.value}`,
    operatorId: req.operatorId,
    reason: null,
    before,
    after: null,
  });
  return true;
}

export async function listEntries(em: EntityManager, kind?: Kind): Promise<ScreeningEntry[]> {
  const rows = await em.find(ScreeningEntryRow, kind ? { kind } : {}, { orderBy: { kind: 'asc', value: 'asc' } });
  return rows.map(toEntry);
}

const matchesJson = z.array(
  z.object({ kind: z.enum(['trader', 'destination']), value: z.string(), verdict: z.enum(['blocked', 'suspicious']), note: z.string() }),
);

/** The entries that name this trader or this destination, read with the rules (loadRules). */
export const screeningExtra = (traderId: string, destination: string): RulesExtra => ({
  name: 'screening',
  sql: `select coalesce(json_agg(json_build_object('kind', kind, 'value', value, 'verdict', verdict, 'note', note)), '[]')
        from screening_entries where (kind = 'trader' and value = $1) or (kind = 'destination' and value = $2)`,
  params: [traderId, destination],
});

/** The entries `screeningExtra` read. */
export const screeningFrom = (value: unknown): ScreeningMatch[] => matchesJson.parse(value);
