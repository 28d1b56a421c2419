import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { adminFreezeAnswer, adminFreezeBody, adminSyncAnswer, adminSyncBody, pspAlfredRpc, riskRpc } from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import { exampleIds, freezeExample } from '../edge/examples.ts';
import { operation } from '../edge/openapi.ts';
import type { Services } from '../edge/services.ts';
import { syncDetailToWire } from './admin-wire.ts';
import { operatorOf } from './require-admin.ts';
import { adminPendingApprovalAnswer } from './admin-approval-wire.ts';
import { requestApproval, type FourEyes } from './four-eyes.ts';

const tag = 'admin';

/** System-wide operator controls: reconciliation with Alfred now, and the withdrawal freeze switch. */
export function adminControlRoutes(deps: { services: Services; fourEyes: FourEyes }) {
  const { services, fourEyes } = deps;
  return async (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.post(
      '/withdrawals/sync-statuses',
      {
        schema: operation({
          operationId: 'adminSyncStatuses',
          summary: 'Reconcile every open (processing) order with Alfred now',
          description:
            'Reads each open order at Alfred and applies what changed. No body is needed. `synced: false` rows could not be read.',
          tag,
          access: 'admin',
          body: adminSyncBody,
          answer: adminSyncAnswer,
          examples: {
            answer: {
              syncedCount: 1,
              failedCount: 0,
              synced_count: 1,
              failed_count: 0,
              details: [
                {
                  withdrawal_id: exampleIds.withdrawal,
                  transaction_id: 'tx_01HZX3QF',
                  previous_status: 'CREATED',
                  status: 'FIAT_TRANSFER_COMPLETED',
                  outcome: 'updated',
                  synced: true,
                  error: null,
                },
              ],
            },
          },
        }),
      },
      async (request, reply) => {
        request.log.info({ operatorId: operatorOf(request).id }, 'operator asked for a status sync');
        // 0 seconds: every open order, not only those the background poller would pick.
        const report = await services.call(request, pspAlfredRpc.syncStatuses, { olderThanSeconds: 0 });
        const { syncedCount, failedCount } = report;
        return sendData(request, reply, {
          syncedCount,
          failedCount,
          synced_count: syncedCount,
          failed_count: failedCount,
          details: report.details.map(syncDetailToWire),
        });
      },
    );

    app.get(
      '/withdrawals/freeze',
      {
        schema: operation({
          operationId: 'adminGetFreeze',
          summary: 'The withdrawal freeze switches, global and per country',
          tag,
          access: 'admin',
          answer: adminFreezeAnswer,
          examples: { answer: freezeExample },
        }),
      },
      async (request, reply) => sendData(request, reply, await services.call(request, riskRpc.getFreeze, {})),
    );

    app.put(
      '/withdrawals/freeze',
      {
        schema: operation({
          operationId: 'adminSetFreeze',
          summary: 'Turn the global or a country withdrawal freeze on or off',
          description:
            'Without `country`, the global switch. While frozen, sessions and initiations are refused with 423 ALFRED_WITHDRAWALS_FROZEN.',
          tag,
          access: 'admin',
          body: adminFreezeBody,
          answer: adminFreezeAnswer,
          examples: { body: { frozen: true, country: 'CO', reason: 'bank holiday incident' }, answer: freezeExample },
          pending: {
            answer: adminPendingApprovalAnswer,
            description:
              'Four-eyes (FOUR_EYES=true, the default): lifting a freeze (`frozen: false`) is stored as a pending approval; the switch stays on until a second operator confirms it (POST /api/admin/approvals/{id}/confirm). Turning a freeze on is never delayed',
          },
        }),
      },
      async (request, reply) => {
        const { frozen, country, reason } = request.body;
        if (fourEyes.enabled && !frozen)
          return requestApproval(services, request, reply, { action: 'freeze_set', frozen, reason, ...(country && { country }) });
        // Risk keeps the operator as given; the prefix matches the actor of the withdrawal timelines.
        const operatorId = `operator:${operatorOf(request).id}`;
        const state = await services.call(request, riskRpc.setFreeze, { frozen, reason, operatorId, ...(country && { country }) });
        return sendData(request, reply, state);
      },
    );
  };
}
