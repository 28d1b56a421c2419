import { defineEntity, p } from '@offramp/kit';

/** A payment route's bounds in minor units of its fiat currency, table `route_limits` (migration 0001). */
export const RouteLimit = defineEntity({
  name: 'RouteLimit',
  tableName: 'route_limits',
  properties: {
    paymentRouteId: p.text().primary(),
    currency: p.text(),
    minMinor: p.bigint().columnType('numeric(38,0)'),
    maxMinor: p.bigint().columnType('numeric(38,0)'),
    updatedAt: p.datetime().columnType('timestamptz'),
    updatedBy: p.text(),
  },
});
export type RouteLimit = (typeof RouteLimit)['~entity'];

/** A named trader limit or the Travel Rule threshold, table `limits` (migration 0001; names in `limitNames`). */
export const LimitRow = defineEntity({
  name: 'LimitRow',
  tableName: 'limits',
  properties: {
    name: p.text().primary(),
    value: p.bigint().columnType('numeric(38,0)'),
    updatedAt: p.datetime().columnType('timestamptz'),
    updatedBy: p.text(),
  },
});
export type LimitRow = (typeof LimitRow)['~entity'];
