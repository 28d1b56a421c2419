import { defineEntity, p } from '@offramp/kit';

/** One operator change, table `audit_log` (migration 0001); append-only, a trigger refuses updates and deletes. */
export const AuditEntry = defineEntity({
  name: 'AuditEntry',
  tableName: 'audit_log',
  properties: {
    id: p.bigint().primary().autoincrement().columnType('bigserial'),
    subject: p.enum(['freeze', 'thresholds', 'screening'] as const).columnType('text'),
    scope: p.text(),
    operatorId: p.text(),
    reason: p.text().nullable(),
    before: p.json<unknown>().columnType('jsonb').nullable(),
    after: p.json<unknown>().columnType('jsonb').nullable(),
    /** Set by the database (`now()`: the transaction's time). */
    at: p.datetime().columnType('timestamptz').defaultRaw('now()'),
  },
});
export type AuditEntry = (typeof AuditEntry)['~entity'];
