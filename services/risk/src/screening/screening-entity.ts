import { defineEntity, p } from '@offramp/kit';

/** A KYT screening list entry, table `screening_entries` (migration 0001), keyed by kind and value. */
export const ScreeningEntryRow = defineEntity({
  name: 'ScreeningEntryRow',
  tableName: 'screening_entries',
  properties: {
    kind: p
      .enum(['trader', 'destination'] as const)
      .columnType('text')
      .primary(),
    value: p.text().primary(),
    verdict: p.enum(['blocked', 'suspicious'] as const).columnType('text'),
    note: p.text(),
    updatedBy: p.text(),
    updatedAt: p.datetime().columnType('timestamptz'),
  },
});
export type ScreeningEntryRow = (typeof ScreeningEntryRow)['~entity'];
