import { rpcRoute, type Database, type RpcRoute } from '@offramp/kit';
import {
  approvalsRpc,
  exceptionsRpc,
  partnersRpc,
  partnerWebhooksRpc,
  reportsRpc,
  sessionsRpc,
  withdrawalOperatorRpc,
} from '@offramp/contracts';
import type { Approvals } from './approvals/approvals.ts';
import type { Call } from './call.ts';
import { getException, listExceptions } from './exceptions/queries.ts';
import { resolveException, type ResolveDeps } from './exceptions/resolve.ts';
import { createSession, type CreateSessionDeps } from './sessions/sessions.ts';
import { initiateWithdrawal, type InitiateDeps } from './sessions/initiate.ts';
import { checkSessionOwner } from './sessions/session-owner.ts';
import type { OperatorActions } from './withdrawals/operator.ts';
import { getWithdrawal, listWithdrawals } from './withdrawals/queries.ts';
import { ledgerWithdrawals } from './reports/ledger-withdrawals.ts';
import { createPartnerRequest, getPartnerRequest, type PartnerRequestDeps } from './partners/partner-requests.ts';
import type { PartnerRegistry } from './partners/partners.ts';
import { authenticatePartner } from './partners/signature.ts';
import { listDeliveries, replayDelivery, type PartnerWebhookDeps } from './partner-webhooks/partner-webhooks.ts';

export interface SessionsRpcDeps {
  db: Database;
  create: CreateSessionDeps;
  initiate: InitiateDeps;
  operator: OperatorActions;
  resolve: ResolveDeps;
  approvals: Approvals;
  /** The reconciliation report's reads of the ledger. */
  reports: { db: Database; call: Call };
  /** The partner API: the registry (operators) and the partners' signed requests. */
  partners: PartnerRegistry;
  partnerRequests: PartnerRequestDeps;
  /** The partner webhooks' delivery log and replay. */
  partnerWebhooks: PartnerWebhookDeps;
}

/** The sessions service's rpcs: the widget's (through the gateway), the operators' and the exception queue's. */
export function sessionsRoutes(deps: SessionsRpcDeps): RpcRoute[] {
  const { db, operator } = deps;
  return [
    rpcRoute(sessionsRpc.createSession, (req, ctx) => createSession(deps.create, req, ctx)),
    rpcRoute(sessionsRpc.initiateWithdrawal, (req, ctx) => initiateWithdrawal(deps.initiate, req, ctx.traceId)),
    rpcRoute(sessionsRpc.checkSessionOwner, (req) => checkSessionOwner(db, req)),
    rpcRoute(sessionsRpc.listWithdrawals, (req) => listWithdrawals(db, req)),
    rpcRoute(sessionsRpc.getWithdrawal, (req) => getWithdrawal(db, req)),
    rpcRoute(withdrawalOperatorRpc.approve, (req, ctx) => operator.approve(req, ctx.traceId)),
    rpcRoute(withdrawalOperatorRpc.reject, (req, ctx) => operator.reject(req, ctx.traceId)),
    rpcRoute(withdrawalOperatorRpc.complete, (req, ctx) => operator.complete(req, ctx.traceId)),
    rpcRoute(withdrawalOperatorRpc.process, (req, ctx) => operator.process(req, ctx.traceId)),
    rpcRoute(withdrawalOperatorRpc.overrideStatus, (req, ctx) => operator.overrideStatus(req, ctx.traceId)),
    rpcRoute(exceptionsRpc.list, (req) => listExceptions(db, req)),
    rpcRoute(exceptionsRpc.get, (req) => getException(db, req)),
    rpcRoute(exceptionsRpc.resolve, (req, ctx) => resolveException(deps.resolve, req, ctx.traceId)),
    rpcRoute(approvalsRpc.request, (req) => deps.approvals.request(req)),
    rpcRoute(approvalsRpc.list, (req) => deps.approvals.list(req)),
    rpcRoute(approvalsRpc.confirm, (req, ctx) => deps.approvals.confirm(req, ctx.traceId)),
    rpcRoute(approvalsRpc.decline, (req) => deps.approvals.decline(req)),
    rpcRoute(reportsRpc.ledgerWithdrawals, (req, ctx) => ledgerWithdrawals(deps.reports, req, ctx.traceId)),
    rpcRoute(partnersRpc.create, (req) => deps.partners.create(req)),
    rpcRoute(partnersRpc.list, (req) => deps.partners.list(req)),
    rpcRoute(partnersRpc.get, (req) => deps.partners.get(req)),
    rpcRoute(partnersRpc.setStatus, (req) => deps.partners.setStatus(req)),
    rpcRoute(partnersRpc.rotateSecret, (req) => deps.partners.rotateSecret(req)),
    rpcRoute(partnersRpc.setWebhook, (req) => deps.partners.setWebhook(req)),
    rpcRoute(partnersRpc.linkTrader, (req) => deps.partners.linkTrader(req)),
    rpcRoute(partnersRpc.unlinkTrader, (req) => deps.partners.unlinkTrader(req)),
    rpcRoute(partnersRpc.authenticate, (req) => authenticatePartner(db, req)),
    rpcRoute(partnersRpc.createRequest, (req, ctx) => createPartnerRequest(deps.partnerRequests, req, ctx)),
    rpcRoute(partnersRpc.getRequest, (req) => getPartnerRequest(db, req)),
    rpcRoute(partnerWebhooksRpc.listDeliveries, (req) => listDeliveries(db, req)),
    rpcRoute(partnerWebhooksRpc.replayDelivery, (req) => replayDelivery(deps.partnerWebhooks, req)),
  ];
}
