import type { EntityManager } from '@offramp/kit';

export interface AuditEntry {
  subject: 'freeze' | 'thresholds' | 'screening';
  /** What was changed: 'global' or a country, 'thresholds', `trader:<id>` or `destination:<fingerprint>`. */
  scope: string;
  operatorId: string;
  reason: string | null;
  before: unknown;
  after: unknown;
}

/** Appends one row to the operator audit log, in the caller's transaction. */
export async function appendAudit(em: EntityManager, entry: AuditEntry): Promise<void> {
  await em.execute(
    'insert into audit_log (subject, scope, operator_id, reason, before, after) values (?, ?, ?, ?, ?::jsonb, ?::jsonb)',
    [entry.subject, entry.scope, entry.operatorId, entry.reason, JSON.stringify(entry.before ?? null), JSON.stringify(entry.after ?? null)],
    'run',
  );
}
