import { defineEntity, p } from '@offramp/kit';

/**
 * A recorded decision, table `decisions` (migration 0001): one per withdrawal. `reasons` is jsonb
 * and typed unknown here on purpose: whoever reads it parses it (`decisions-store.ts`).
 */
export const DecisionRecord = defineEntity({
  name: 'DecisionRecord',
  tableName: 'decisions',
  properties: {
    withdrawalId: p.uuid().primary(),
    traderId: p.text(),
    country: p.text(),
    paymentRouteId: p.text(),
    debitedMinor: p.bigint().columnType('numeric(38,0)'),
    decision: p.enum(['approve', 'review', 'reject'] as const).columnType('text'),
    reasons: p.json<unknown>().columnType('jsonb'),
    messageId: p.uuid(),
    /** Set by the database (`now()`: the transaction's time). */
    decidedAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
  },
});
export type DecisionRecord = (typeof DecisionRecord)['~entity'];
