import { defineEntity, p } from '@offramp/kit';

/** A freeze switch, table `freeze_switches` (migration 0001): one row per scope, 'global' or an ISO country code. */
export const FreezeSwitch = defineEntity({
  name: 'FreezeSwitch',
  tableName: 'freeze_switches',
  properties: {
    scope: p.text().primary(),
    frozen: p.boolean(),
    reason: p.text(),
    operatorId: p.text(),
    changedAt: p.datetime().columnType('timestamptz'),
  },
});
export type FreezeSwitch = (typeof FreezeSwitch)['~entity'];
