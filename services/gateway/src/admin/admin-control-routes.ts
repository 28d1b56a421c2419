import type { FastifyInstance } from 'fastify';
import { adminFreezeAnswer, adminFreezeBody, adminSyncAnswer, adminSyncBody, pspAlfredRpc, riskRpc } from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import { routeSchema } from '../edge/openapi.ts';
import { parseInput } from '../edge/parse-input.ts';
import type { Services } from '../edge/services.ts';
import { syncDetailToWire } from './admin-wire.ts';
import { operatorOf } from './require-admin.ts';

const tag = 'admin';

/** System-wide operator controls: reconciliation with Alfred now, and the withdrawal freeze switch. */
export function adminControlRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (app: FastifyInstance) => {
    app.post(
      '/withdrawals/sync-statuses',
      { schema: routeSchema({ tag, summary: 'Reconcile every open (processing) order with Alfred now', body: adminSyncBody, answer: adminSyncAnswer }) },
      async (request, reply) => {
        parseInput(adminSyncBody, request.body);
        request.log.info({ operatorId: operatorOf(request).id }, 'operator asked for a status sync');
        // 0 seconds: every open order, not only those the background poller would pick.
        const report = await services.call(request, pspAlfredRpc.syncStatuses, { olderThanSeconds: 0 });
        const { syncedCount, failedCount } = report;
        return sendData(request, reply, { syncedCount, failedCount, synced_count: syncedCount, failed_count: failedCount, details: report.details.map(syncDetailToWire) });
      },
    );

    app.get('/withdrawals/freeze', { schema: routeSchema({ tag, summary: 'The withdrawal freeze switches, global and per country', answer: adminFreezeAnswer }) }, async (request, reply) =>
      sendData(request, reply, await services.call(request, riskRpc.getFreeze, {})),
    );

    app.put(
      '/withdrawals/freeze',
      { schema: routeSchema({ tag, summary: 'Turn the global or a country withdrawal freeze on or off', body: adminFreezeBody, answer: adminFreezeAnswer }) },
      async (request, reply) => {
        const { frozen, country, reason } = parseInput(adminFreezeBody, request.body);
        // Risk keeps the operator as given; the prefix matches the actor of the withdrawal timelines.
        const operatorId = `operator:${operatorOf(request).id}`;
        const state = await services.call(request, riskRpc.setFreeze, { frozen, reason, operatorId, ...(country && { country }) });
        return sendData(request, reply, state);
      },
    );
  };
}
