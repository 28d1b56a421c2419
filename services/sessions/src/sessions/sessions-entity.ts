import { defineEntity, p } from '@offramp/kit';

/**
 * The `sessions` table (migration 0001) as a MikroORM entity: CRUD data, read and written through
 * the entity manager. The mapping follows the existing columns exactly; migrations own the schema.
 * jsonb columns are typed `unknown` here and parsed with zod where a `Session` is built.
 */
export const SessionEntity = defineEntity({
  name: 'Session',
  tableName: 'sessions',
  properties: {
    id: p.uuid().primary(),
    traderId: p.text(),
    status: p.enum(['open', 'initiating', 'consumed', 'abandoned'] as const),
    withdrawalId: p.uuid(),
    paymentRouteId: p.text(),
    country: p.text(),
    walletId: p.text(),
    fiatAccountId: p.text(),
    fiatAmount: p.text(),
    fiatCurrency: p.text(),
    cryptoAmountMinor: p.bigint().columnType('numeric(38,0)'),
    quote: p.json<unknown>(),
    destination: p.json<unknown>(),
    expiresAt: p.datetime().columnType('timestamptz'),
    createdAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
    initiatingAt: p.datetime().columnType('timestamptz').nullable(),
    consumedAt: p.datetime().columnType('timestamptz').nullable(),
  },
});
export type SessionEntity = (typeof SessionEntity)['~entity'];
