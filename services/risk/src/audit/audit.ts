import type { EntityManager } from '@offramp/kit';
import { AuditEntry as AuditRow } from './audit-entry.entity.ts';

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
  em.create(AuditRow, {
    subject: entry.subject,
    scope: entry.scope,
    operatorId: entry.operatorId,
    reason: entry.reason,
    before: entry.before ?? null,
    after: entry.after ?? null,
  });
  await em.flush();
}
