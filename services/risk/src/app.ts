import { openDatabase, startService, type Service, type ServiceDeps } from '@offramp/kit';
import type { RiskConfig } from './config.ts';
import { riskConsumers } from './consumers.ts';
import { AuditEntry } from './audit/audit-entity.ts';
import { DecisionRecord } from './decisions/decisions-entity.ts';
import { FreezeSwitch } from './freeze/freeze-entity.ts';
import { migrations } from './migrations/0001-risk.ts';
import { riskRoutes } from './rpc.ts';
import { ScreeningEntryRow } from './screening/screening-entity.ts';
import { LimitRow, RouteLimit } from './thresholds/thresholds-entity.ts';

export { migrations };
export { readRiskConfig, riskConfig, type RiskConfig } from './config.ts';
export { withdrawalsConsumerName } from './consumers.ts';
export { decide, type Decision, type DecisionInput } from './decisions/decide.ts';
export { namesMatch } from './decisions/name-match.ts';

/**
 * Risk's CRUD data as MikroORM entities, mapping the tables of the migrations as they are. What is
 * not here stays raw SQL through the kit's queryRows: `velocity_usage` (counted once per withdrawal
 * by one conditional insert; read as sums over rolling windows) and the advisory locks.
 */
const riskEntities = [AuditEntry, DecisionRecord, FreezeSwitch, ScreeningEntryRow, RouteLimit, LimitRow];

export const openRiskDatabase = (config: RiskConfig) =>
  openDatabase({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations, entities: riskEntities, poolMax: config.DB_POOL_MAX });

/** Risk: the pre-check and operator rpcs, and the decision of every debited withdrawal. */
export function buildRisk(deps: ServiceDeps<RiskConfig>): Promise<Service> {
  return startService('risk', deps, () => ({ rpcs: riskRoutes({ db: deps.db }), consumers: riskConsumers }));
}
