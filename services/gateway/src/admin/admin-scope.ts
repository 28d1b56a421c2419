import type { FastifyInstance } from 'fastify';
import { exactJsonParser } from '@offramp/kit';
import { beforeBody } from '../edge/hooks.ts';
import type { Services } from '../edge/services.ts';
import type { GatewayConfig } from '../config.ts';
import { adminActionRoutes } from './admin-action-routes.ts';
import { adminApprovalRoutes } from './admin-approval-routes.ts';
import { adminControlRoutes } from './admin-control-routes.ts';
import { adminExceptionRoutes } from './admin-exception-routes.ts';
import { adminPartnerRoutes } from './admin-partner-routes.ts';
import { adminPartnerWebhookRoutes } from './admin-partner-webhook-routes.ts';
import { adminQueryRoutes } from './admin-query-routes.ts';
import { adminReportRoutes } from './admin-report-routes.ts';
import { adminRiskRoutes } from './admin-risk-routes.ts';
import { requireAdmin } from './require-admin.ts';
import { fourEyesOf } from './four-eyes.ts';

/**
 * Everything under /api/admin (API.md "Operator"), inside the protected scope (which identifies
 * the caller and rate-limits): `requireAdmin` refuses before the body is read.
 */
export function adminScope(services: Services, config: Pick<GatewayConfig, 'FOUR_EYES' | 'FOUR_EYES_ABOVE_USDT'>) {
  const fourEyes = fourEyesOf(config);
  return async (app: FastifyInstance) => {
    // Operator consoles post actions such as approve with `Content-Type: application/json` and no
    // body at all: here an empty JSON body is no body (the routes that need one refuse it by their schema).
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, exactJsonParser({ allowEmpty: true }));
    app.addHook('preParsing', beforeBody(requireAdmin));
    await app.register(adminQueryRoutes({ services }));
    await app.register(adminActionRoutes({ services, fourEyes }));
    await app.register(adminControlRoutes({ services, fourEyes }));
    await app.register(adminApprovalRoutes({ services }));
    await app.register(adminRiskRoutes({ services, fourEyes }));
    await app.register(adminExceptionRoutes({ services }));
    await app.register(adminReportRoutes({ services }));
    await app.register(adminPartnerRoutes({ services }));
    await app.register(adminPartnerWebhookRoutes({ services }));
  };
}
