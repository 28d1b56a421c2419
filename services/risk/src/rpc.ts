import { inTransaction, rpcRoute, type Database, type RpcRoute } from '@offramp/kit';
import { ok, refuse, riskRpc } from '@offramp/contracts';
import { checkInitiate, checkSession } from './checks/checks.ts';
import { findDecision } from './decisions/decisions-store.ts';
import { readFreeze, setFreeze } from './freeze/freeze.ts';
import { listEntries, removeEntry, upsertEntry } from './screening/screening.ts';
import { updateThresholds } from './thresholds/threshold-update.ts';
import { loadThresholds, thresholdsView } from './thresholds/thresholds.ts';

/** The risk rpcs: pre-checks for sessions, and the operator switches, lists and thresholds. */
export function riskRoutes(deps: { db: Database }): RpcRoute[] {
  const { db } = deps;
  const read = () => db.em.fork();
  return [
    rpcRoute(riskRpc.checkSession, (req) => checkSession(read(), req)),
    rpcRoute(riskRpc.checkInitiate, (req) => checkInitiate(read(), req)),
    rpcRoute(riskRpc.getFreeze, () => readFreeze(read())),
    rpcRoute(riskRpc.setFreeze, (req) => inTransaction(db, (em) => setFreeze(em, req))),
    rpcRoute(riskRpc.addScreeningEntry, async (req) => ({ entry: await inTransaction(db, (em) => upsertEntry(em, req)) })),
    rpcRoute(riskRpc.removeScreeningEntry, async (req) => ({ removed: await inTransaction(db, (em) => removeEntry(em, req)) })),
    rpcRoute(riskRpc.listScreeningEntries, async (req) => ({ entries: await listEntries(read(), req.kind) })),
    rpcRoute(riskRpc.getDecision, async (req) => ({ decision: await findDecision(read(), req.withdrawalId) })),
    rpcRoute(riskRpc.getThresholds, async () => thresholdsView(await loadThresholds(read()))),
    rpcRoute(riskRpc.setThresholds, async (req) => {
      const result = await inTransaction(db, (em) => updateThresholds(em, req));
      if (result.outcome === 'invalid') {
        const fields = Object.entries(result.details).map(([field, message]) => ({ field, message }));
        return refuse('VALIDATION_ERROR', result.message, { details: { fields } });
      }
      return ok(thresholdsView(result.thresholds));
    }),
  ];
}
