import type { EntityManager } from '@offramp/kit';
import type { ScreeningEntry } from '@offramp/contracts';
import { appendAudit } from '../audit/audit.ts';

type Kind = ScreeningEntry['kind'];

interface EntryRow {
  kind: Kind;
  value: string;
  verdict: ScreeningEntry['verdict'];
  note: string;
  updated_by: string;
  updated_at: Date | string;
}

const columns = 'kind, value, verdict, note, updated_by, updated_at';

function toEntry(row: EntryRow): ScreeningEntry {
  return { kind: row.kind, value: row.value, verdict: row.verdict, note: row.note, updatedBy: row.updated_by, updatedAt: new Date(row.updated_at).toISOString() };
}

/** Adds an entry or replaces the verdict and note of the same kind and value; audited. */
export async function upsertEntry(
  em: EntityManager,
  req: { kind: Kind; value: string; verdict: ScreeningEntry['verdict']; note?: string | undefined; operatorId: string },
): Promise<ScreeningEntry> {
  const [before] = await em.execute<EntryRow[]>(`select ${columns} from screening_entries where kind = ? and value = ? for update`, [req.kind, req.value]);
  const [row] = await em.execute<EntryRow[]>(
    `insert into screening_entries (kind, value, verdict, note, updated_by, updated_at) values (?, ?, ?, ?, ?, clock_timestamp())
     on conflict (kind, value) do update set verdict = excluded.verdict, note = excluded.note, updated_by = excluded.updated_by, updated_at = excluded.updated_at
     returning ${columns}`,
    [req.kind, req.value, req.verdict, req.note ?? '', req.operatorId],
  );
  const entry = toEntry(row!);
  await appendAudit(em, { subject: 'screening', scope: `${req.kind}:${req.value}`, operatorId: req.operatorId, reason: null, before: before ? toEntry(before) : null, after: entry });
  return entry;
}

/** Removes an entry; false when there was none (nothing audited then). */
export async function removeEntry(em: EntityManager, req: { kind: Kind; value: string; operatorId: string }): Promise<boolean> {
  const [removed] = await em.execute<EntryRow[]>(`delete from screening_entries where kind = ? and value = ? returning ${columns}`, [req.kind, req.value]);
  if (!removed) return false;
  await appendAudit(em, { subject: 'screening', scope: `${req.kind}:${req.value}`, operatorId: req.operatorId, reason: null, before: toEntry(removed), after: null });
  return true;
}

export async function listEntries(em: EntityManager, kind?: Kind): Promise<ScreeningEntry[]> {
  const rows = kind
    ? await em.execute<EntryRow[]>(`select ${columns} from screening_entries where kind = ? order by kind, value`, [kind])
    : await em.execute<EntryRow[]>(`select ${columns} from screening_entries order by kind, value`);
  return rows.map(toEntry);
}

/** The entries that name this trader or this destination. */
export async function entriesFor(em: EntityManager, traderId: string, destination: string): Promise<ScreeningEntry[]> {
  const rows = await em.execute<EntryRow[]>(
    `select ${columns} from screening_entries where (kind = 'trader' and value = ?) or (kind = 'destination' and value = ?)`,
    [traderId, destination],
  );
  return rows.map(toEntry);
}
