import { AuditEntry } from './audit/audit-entry.entity.ts';
import { DecisionRecord } from './decisions/decision.entity.ts';
import { FreezeSwitch } from './freeze/freeze-switch.entity.ts';
import { ScreeningEntryRow } from './screening/screening-entry.entity.ts';
import { LimitRow, RouteLimit } from './thresholds/threshold.entities.ts';

/**
 * Risk's CRUD data as MikroORM entities, mapping the tables of the migrations as they are. What is
 * not here stays raw SQL through the kit's queryRows: `velocity_usage` (counted once per withdrawal
 * by one conditional insert; read as sums over rolling windows) and the advisory locks.
 */
export const riskEntities = [AuditEntry, DecisionRecord, FreezeSwitch, ScreeningEntryRow, RouteLimit, LimitRow];
