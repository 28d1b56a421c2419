import type { EntityManager } from '@offramp/kit';
import { AuditEntry } from './audit-entity.ts';

/** An operator change as the features describe it; one `audit_log` row. */
export interface AuditedChange {
  subject: 'freeze' | 'thresholds' | 'screening';
  /** What was changed: 'global' or a country, 'thresholds', `trader:<id>` or `destination:<fingerprint>`. */
  scope: string;
  operatorId: string;
  reason: string | null;
  before: unknown;
  after: unknown;
}

/** Appends one row to the operator audit log, in the caller's transaction. */
export async function appendAudit(em: EntityManager, entry: AuditedChange): Promise<void> {
  em.create(AuditEntry, {
    subject: entry.subject,
    scope: entry.scope,
    operatorId: entry.operatorId,
    reason: entry.reason,
    before: entry.before ?? null,
    after: entry.after ?? null,
  });
  await em.flush();
}
